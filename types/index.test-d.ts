import Fastify, { type FastifyRequest } from 'fastify'
import { expectAssignable, expectError, expectType } from 'tsd'
import appFirewall, {
  appFirewall as named,
  record,
  classifyPath,
  errorCodes,
  defaults,
  type AppFirewallDefaults,
  type LimitStore,
  type LimitRule,
  type LimitCount,
  type AppFirewallOptions,
  type AppFirewallStats,
  type Classification,
  type LimitClass,
  type ResolvedOptions,
  type EdgeSyncStats
} from '..'

const app = Fastify()

// register accepts good options...
app.register(appFirewall, { apiKey: 'afw_live_x' })
app.register(appFirewall, {
  mode: 'local',
  localLogPath: '/tmp/events.ndjson',
  trustedProxies: ['cloudflare', '10.0.0.0/8', '2001:db8::/32'],
  rateLimit: { scanner: { max: 5, windowMs: 60_000 } },
  enforceRateLimit: true,
  enforceScope: 'all',
  allowList: ['192.0.2.1'],
  skip: (request) => request.url === '/health',
  onLimited: (ip, info) => { expectType<string>(ip); expectType<number>(info.retryAfterMs) },
  onError: 'warn',
  environment: 'prod'
})
app.register(named, { mode: 'off' })
app.register(appFirewall.default, { mode: 'off' })
app.register(appFirewall)
app.register(appFirewall, { mode: 'off', maxEventBytes: 16_384, maxCustomEventsPerRequest: 100, maxQueueBytes: 16_777_216 })
expectError(app.register(appFirewall, { maxQueueBytes: '16MB' }))
// edge sync: the Cloudflare list's ids are required, the token may come from the environment
app.register(appFirewall, { enforceRateLimit: true, edge: { cloudflare: { accountId: '0123456789abcdef0123456789abcdef', listId: 'fedcba9876543210fedcba9876543210' } } })
app.register(appFirewall, { edge: { cloudflare: { accountId: 'a', listId: 'b', apiToken: 't', includeShadow: true, classes: ['scanner-certain'], maxItems: 500, syncIntervalMs: 5000, minListedMs: 3_600_000, baseUrl: 'https://gw.example/client/v4' } } })
expectError(app.register(appFirewall, { edge: { cloudflare: { accountId: 'a' } } }))
expectError(app.register(appFirewall, { edge: { accountId: 'a', listId: 'b' } }))
expectError(app.register(appFirewall, { edge: { cloudflare: { accountId: 'a', listId: 'b', maxItems: '1000' } } }))

// ...and rejects bad ones.
expectError(app.register(appFirewall, { mode: 'loud' }))
expectError(app.register(appFirewall, { endpoint: 42 }))
expectError(app.register(appFirewall, { trustedProxy: ['x'] }))
expectError(app.register(appFirewall, { rateLimit: { scanner: { max: '10', windowMs: 1 } } }))
expectError(app.register(appFirewall, { onError: 'explode' }))
expectError(app.register(appFirewall, { certainFromNonBrowsers: 'yes' }))

// Limits per class: the built-in ones and recorded events' names; onLimited says which.
app.register(appFirewall, {
  rateLimit: { ...defaults.rateLimit, 'upload.parse_failed': { max: 50, windowMs: 60_000 }, 'scanner-certain': { max: 0, windowMs: 600_000 } },
  certainFromNonBrowsers: false,
  onLimited: (_ip, info) => { expectType<LimitClass>(info.classification) }
})
expectAssignable<LimitClass>('scanner-certain')
expectAssignable<LimitClass>('auth.login_failed')

// request.appfirewall is typed and never null.
app.get('/', async (request: FastifyRequest) => {
  expectType<string>(request.appfirewall.ip)
  expectType<Classification | undefined>(request.appfirewall.classification)
  expectType<void>(request.appfirewall.record('auth.login_failed', { user: 'x' }))
  expectType<void>(request.appfirewall.record('no.fields'))
  expectError(request.appfirewall.record())
  return 'ok'
})

// app.appfirewall is typed.
expectType<AppFirewallStats>(app.appfirewall.stats())
expectType<Promise<boolean>>(app.appfirewall.flush())
expectType<Promise<boolean>>(app.appfirewall.flush(1000))
expectType<ResolvedOptions>(app.appfirewall.options)
expectType<number>(app.appfirewall.stats().dropped.overflow)
expectType<number>(app.appfirewall.stats().ignored.overRequestCap)
expectType<number>(app.appfirewall.stats().clipped)
expectType<EdgeSyncStats | null>(app.appfirewall.stats().edge)
expectType<number | undefined>(app.appfirewall.stats().edge?.skippedFull)
expectError(app.appfirewall.options.apiKey)

// named helpers
expectType<void>(record('x'))
expectType<void>(record('x', { a: 1 }))
expectType<Classification>(classifyPath('/.env'))
expectAssignable<AppFirewallOptions>({ mode: 'ship', apiKey: 'k' })

// coded errors, like fastify.errorCodes
const optionsError = new errorCodes.FST_APPFIREWALL_INVALID_OPTIONS('x')
expectType<'FST_APPFIREWALL_INVALID_OPTIONS'>(optionsError.code)
expectAssignable<Error>(optionsError)
expectType<typeof errorCodes>(appFirewall.errorCodes)

// defaults, frozen
expectType<AppFirewallDefaults>(defaults)
expectType<number>(defaults.queueSize)
expectType<'ship' | 'local' | 'off'>(defaults.mode)
expectError(defaults.queueSize = 1)
expectError(defaults.environment)
expectType<number>(app.appfirewall.options.queueSize)
expectType<string | undefined>(app.appfirewall.options.environment)
expectType<readonly string[]>(app.appfirewall.options.trustedProxies)

// a store of one's own
const store: LimitStore = {
  incr: async (_key: string, rule: LimitRule, _now: number): Promise<LimitCount> => ({ count: rule.max }),
  close () {}
}
app.register(appFirewall, { store })
app.register(appFirewall, { store: { incr: () => 3, close: async () => {} } })
expectError(app.register(appFirewall, { store: { incr: () => 'three', close () {} } }))
expectError(app.register(appFirewall, { store: { close () {} } }))
