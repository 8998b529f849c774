// Every option of the plugin, written once: its schema, what a correct value
// looks like, its default, the environment variable it falls back to and the
// README's description. The register-time schema, the defaults, the error
// messages and the README's option table are all derived from this table;
// the public interface (AppFirewallOptions in types.ts, typebox-free on
// purpose) is pinned to it by a type-level check in options.ts, and
// test/options-table.test.ts checks the README against it.
import { Type, type TSchema } from 'typebox'
import type { FastifyRequest } from 'fastify'
import type { Dispatcher } from 'undici'
import type { LimitedInfo, LimitStore, RedisLike } from './types'

export interface OptionSpec {
  readonly schema: TSchema
  /** What a correct value looks like, completing "must be ...". */
  readonly allowed: string
  /** The default (absent: none). */
  readonly default?: unknown
  /** How the README writes the default, where the value alone would not read well. */
  readonly defaultText?: string
  /** Environment variable read when the option is not given (an empty value counts as unset). */
  readonly env?: string
  /** Kept out of `app.appfirewall.options`: a secret, a function or a client. */
  readonly hidden?: true
  /** The README's "meaning" column (Markdown, one line). */
  readonly doc: string
}

/** Node's timers hold at most 2^31-1 ms (about 24.8 days); a longer delay fires after 1 ms. */
export const MAX_TIMER_MS = 2_147_483_647
/** Most events held in memory: each slot is preallocated, and 10^8 took 73 s and 7.8 GB at register. */
export const MAX_QUEUE_SIZE = 1_000_000
const Ms = Type.Integer({ minimum: 1, maximum: MAX_TIMER_MS })
const MsOrZero = Type.Integer({ minimum: 0, maximum: MAX_TIMER_MS })
const MS = 'an integer of milliseconds from 1 to 2147483647 (Node\'s timer limit, about 24.8 days)'
const MS_OR_ZERO = 'an integer of milliseconds from 0 to 2147483647 (Node\'s timer limit, about 24.8 days)'
/** One rate-limit rule (exported for the error that names which rule is bad). */
export const Rule = Type.Object({
  max: Type.Integer({ minimum: 0 }),
  windowMs: Type.Integer({ minimum: 1 })
}, { additionalProperties: false })

/** The classes the plugin counts itself (types.ts, BuiltInLimitClass); any other rateLimit key is a recorded event's name. */
export const BUILT_IN_CLASSES: readonly string[] = ['scanner', 'scanner-certain', 'script-probe', 'probing', 'validation', 'parse', 'auth', 'benign-miss', 'unknown']

/** Names a rate-limit class may take: they end up in Redis keys and log lines. */
export const LIMIT_CLASS_PATTERN = '^[A-Za-z0-9._:-]{1,64}$'

const minute = 60_000
/**
 * The default limits. `scanner-certain` marks at the first certain probe, since
 * real scanners send one to four probes per address; the behaviour classes
 * sit well above what a user following stale links, mistyping a password or
 * failing a form does in a minute (README, "Verdicts per IP").
 */
export const DEFAULT_RATE_LIMIT = {
  scanner: { max: 10, windowMs: minute },
  'scanner-certain': { max: 0, windowMs: minute },
  'script-probe': { max: 10, windowMs: minute },
  probing: { max: 20, windowMs: minute },
  validation: { max: 30, windowMs: minute },
  parse: { max: 10, windowMs: minute },
  auth: { max: 10, windowMs: minute }
} as Record<string, { max: number, windowMs: number }>

export const DEFAULT_ENDPOINT = 'https://ingest.appfirewall.io/v1/events'
export const DEFAULT_CLOUDFLARE_RANGES_URL = 'https://api.cloudflare.com/client/v4/ips'

export const optionTable = {
  apiKey: {
    schema: Type.String(),
    allowed: 'a string',
    env: 'APPFIREWALL_API_KEY',
    hidden: true,
    doc: 'Bearer token for the ingest. In `ship` mode with no key the plugin switches itself `off` and logs one warning.'
  },
  endpoint: {
    schema: Type.String({ minLength: 1 }),
    allowed: 'an http(s) URL',
    default: DEFAULT_ENDPOINT,
    env: 'APPFIREWALL_ENDPOINT',
    doc: 'Ingest URL (http or https); override for a self-hosted ingest.'
  },
  environment: {
    schema: Type.String(),
    allowed: 'a string',
    doc: 'Tag added to every event as `environment`.'
  },
  mode: {
    schema: Type.Union([Type.Literal('ship'), Type.Literal('local'), Type.Literal('off')]),
    allowed: '"ship", "local" or "off"',
    default: 'ship',
    doc: '`"ship"` (POST batches), `"local"` (append NDJSON to `localLogPath`), `"off"` (no hooks at all).'
  },
  localLogPath: {
    schema: Type.String({ minLength: 1 }),
    allowed: 'a non-empty file path',
    doc: 'File for `local` mode (required there). Its folder is created.'
  },
  trustedProxies: {
    schema: Type.Array(Type.String()),
    allowed: 'an array of "cloudflare", CIDRs or IPs',
    default: ['cloudflare'],
    doc: 'Peers whose forwarding headers are believed: `"cloudflare"` and/or CIDRs or bare IPs, v4 and v6. Ranges that hold every client (`0.0.0.0/0`, `::/0`, `::/1`, `2000::/3`, IPv4-mapped CIDRs below /96 such as `::ffff:10.0.0.0/8`) are refused: any client could choose its IP.'
  },
  classify404: {
    schema: Type.Boolean(),
    allowed: 'a boolean',
    default: true,
    doc: 'Classify 404s.'
  },
  certainFromNonBrowsers: {
    schema: Type.Boolean(),
    allowed: 'a boolean',
    default: true,
    doc: 'A likely probe (`/wp-login.php`, `/phpmyadmin/`) counts as certain (class `scanner-certain`) when it comes from an attack tool\'s user agent, or from a client that is not a browser (no `Accept-Language` header) and does not call itself a crawler (`bot`, `crawl`, `spider` ... in its user agent). Browsers always send `Accept-Language`, so a user following a stale link is never marked by this; most scanners send neither. Turn it off if the app\'s own non-browser clients (a mobile app without `Accept-Language`) ask for paths the classifier finds likely.'
  },
  rateLimit: {
    schema: Type.Record(Type.String({ pattern: LIMIT_CLASS_PATTERN }), Rule),
    allowed: 'an object whose keys are classes or recorded event names (at most 64 of letters, digits, ".", "_", "-", ":") and whose values are { max, windowMs } (max an integer >= 0, windowMs an integer >= 1)',
    default: DEFAULT_RATE_LIMIT,
    defaultText: '`scanner` 10, `scanner-certain` 0, `script-probe` 10, `probing` 20, `validation` 30, `parse` 10, `auth` 10, each `{ max, windowMs: 60000 }`',
    doc: 'Per-class limits, counted per client IP (IPv6 per /64 and per /48, see `ipv6SiteFactor`): a client is over a limit past `max` hits in the window (`max: 0`: at its first hit, for a whole window). Classes: `scanner` (scanner 404s), `scanner-certain` (404s of a certain probe family), `script-probe` (distinct unknown 404s of `.php`, `.asp`, `.jsp`, `.cgi` ... scripts no route matched), `probing` (distinct unknown 404s no route matched, static assets aside), `validation`, `parse`, `auth` (requests that failed schema validation, body parsing or authentication), `benign-miss`, `unknown`; any other key is the name of a `record()`ed event, counted per call. The object replaces the defaults: to change one class, spread `defaults.rateLimit` first. `{}` counts nothing. See "Verdicts per IP".'
  },
  enforceRateLimit: {
    schema: Type.Boolean(),
    allowed: 'a boolean',
    default: false,
    doc: 'Answer 429 (with `Retry-After`) to an IP over its limit, for the rest of its window, where `enforceScope` says. Off by default (shadow mode: events carry `would_block`).'
  },
  enforceScope: {
    schema: Type.Union([Type.Literal('not-found'), Type.Literal('all')]),
    allowed: '"not-found" or "all"',
    default: 'not-found',
    doc: 'Where enforcement refuses a blocked IP: `"not-found"`, requests headed for the not-found handler (also when it answers 200, as an SPA fallback does) and answers that are 404; `"all"`, every request.'
  },
  allowList: {
    schema: Type.Array(Type.String()),
    allowed: 'an array of CIDRs or IPs',
    default: [],
    doc: 'CIDRs or IPs never counted nor blocked (monitors, your office).'
  },
  skip: {
    schema: Type.Unsafe<(request: FastifyRequest) => boolean>(Type.Function([Type.Any()], Type.Any())),
    allowed: 'a function (request) => boolean',
    hidden: true,
    doc: '`(request) => boolean`; true leaves the request alone: no event, never counted, never blocked (health checks). A throwing `skip` counts as false.'
  },
  onLimited: {
    schema: Type.Unsafe<(ip: string, info: LimitedInfo) => void>(Type.Function([Type.Any(), Type.Any()], Type.Any())),
    allowed: 'a function (ip, info) => void',
    hidden: true,
    doc: '`(ip, info) => void`, called once per block (escalate to a ban list, an alert). May throw without harm.'
  },
  ipv6SiteFactor: {
    schema: Type.Integer({ minimum: 0, maximum: 1000 }),
    allowed: 'an integer from 0 to 1000 (0 turns /48 counting off)',
    default: 5,
    doc: 'IPv6 clients are also counted per /48 (one site: whoever holds it can rotate through 65 536 /64s), against each class\'s `max` × this factor (a class of `max: 0` allows a /48 this factor minus one hits, so that one /64\'s first hit blocks that /64, not its site); a /48 over its limit is blocked whole, every /64 in it. `0` counts per /64 only.'
  },
  maxTrackedIps: {
    schema: Type.Integer({ minimum: 100, maximum: 10_000_000 }),
    allowed: 'an integer from 100 to 10000000',
    default: 100_000,
    doc: 'Most client keys the in-process limiter keeps.'
  },
  redis: {
    schema: Type.Unsafe<RedisLike>(Type.Object({})),
    allowed: 'an ioredis client',
    hidden: true,
    doc: 'An ioredis client: limit counters and blocks shared by every instance.'
  },
  redisKeyPrefix: {
    schema: Type.String(),
    allowed: 'a string',
    default: 'afw:',
    doc: 'Prefix of the keys and channel in Redis.'
  },
  store: {
    schema: Type.Unsafe<LimitStore>(Type.Object({})),
    allowed: 'a rate limit store: an object with incr() and close() (see LimitStore)',
    hidden: true,
    doc: 'A shared rate limit store of your own instead of `redis` (see [your own store](#your-own-store)).'
  },
  onError: {
    schema: Type.Union([Type.Literal('ignore'), Type.Literal('warn'), Type.Literal('raise')]),
    allowed: '"ignore", "warn" or "raise"',
    default: 'ignore',
    doc: 'The plugin\'s own internal errors: `"ignore"`, `"warn"` (through the Fastify logger: the first 10 per stage, then one in 1000), `"raise"` (for tests: re-thrown outside the request, on the next tick, as an uncaught exception: the request is served unchanged but the process sees the error, also a throwing `skip` or `onLimited`; never use in production).'
  },
  asyncContext: {
    schema: Type.Boolean(),
    allowed: 'a boolean',
    default: true,
    doc: 'Bind each request with `AsyncLocalStorage` so the module-level `record()` finds it. `false` saves its cost (on Node 20 its promise hooks tax every promise of the app, about 13k instructions per request here); `request.appfirewall.record()` still works, the module-level `record()` then does nothing.'
  },
  cloudflareRefreshMs: {
    schema: MsOrZero,
    allowed: MS_OR_ZERO + ' (0 turns refresh off)',
    default: 86_400_000,
    defaultText: '`86400000` (24 h)',
    doc: 'Refresh Cloudflare\'s ranges this often; `0` turns refresh off. The first refresh happens after one interval: the shipped list works offline from the first request.'
  },
  cloudflareRangesUrl: {
    schema: Type.String({ minLength: 1 }),
    allowed: 'an http(s) URL',
    default: DEFAULT_CLOUDFLARE_RANGES_URL,
    doc: 'Where the ranges are fetched from.'
  },
  queueSize: {
    schema: Type.Integer({ minimum: 1, maximum: MAX_QUEUE_SIZE }),
    allowed: 'an integer from 1 to 1000000',
    default: 10_000,
    doc: 'Events held in memory; when full, the oldest are dropped (counted).'
  },
  batchSize: {
    schema: Type.Integer({ minimum: 1, maximum: MAX_QUEUE_SIZE }),
    allowed: 'an integer from 1 to 1000000, at most queueSize',
    default: 500,
    doc: 'Most events per batch; when only `queueSize` is given and is smaller, a batch is the whole queue.'
  },
  flushIntervalMs: {
    schema: Ms,
    allowed: MS,
    default: 2000,
    doc: 'A partial batch is sent after this long.'
  },
  requestTimeoutMs: {
    schema: Ms,
    allowed: MS,
    default: 5000,
    doc: 'Timeout of one POST.'
  },
  retryDeadlineMs: {
    schema: MsOrZero,
    allowed: MS_OR_ZERO,
    default: 30_000,
    doc: 'How long a batch is retried before its events are dropped.'
  },
  maxRetryAfterMs: {
    schema: MsOrZero,
    allowed: MS_OR_ZERO,
    default: 300_000,
    doc: 'Upper bound applied to an ingest\'s `Retry-After`.'
  },
  breakerThreshold: {
    schema: Type.Integer({ minimum: 1 }),
    allowed: 'an integer >= 1',
    default: 5,
    doc: 'Retryable failures in a row that open the circuit breaker.'
  },
  breakerCooldownMs: {
    schema: Ms,
    allowed: MS,
    default: 30_000,
    doc: 'How long the breaker stays open before one probe batch.'
  },
  closeGraceMs: {
    schema: MsOrZero,
    allowed: MS_OR_ZERO,
    default: 5000,
    doc: 'How long `app.close()` keeps flushing before it gives up.'
  },
  dispatcher: {
    schema: Type.Unsafe<Dispatcher>(Type.Object({})),
    allowed: 'an undici Dispatcher (an Agent, a ProxyAgent, an EnvHttpProxyAgent...)',
    hidden: true,
    doc: '`ship` mode: the undici `Dispatcher` the ingest is reached through (a `ProxyAgent`, an `Agent` with a private CA or a client certificate); never closed by the plugin. Without it: a global dispatcher the app installed with `setGlobalDispatcher` (other than a plain `Agent`), else `HTTP_PROXY`/`HTTPS_PROXY`/`NO_PROXY` through undici\'s `EnvHttpProxyAgent`, else a direct connection (see [proxies and private CAs](#proxies-and-private-cas)).'
  },
  maxEventBytes: {
    schema: Type.Integer({ minimum: 1024, maximum: 1_048_576 }),
    allowed: 'an integer from 1024 to 1048576',
    default: 16_384,
    doc: 'Most UTF-8 bytes of one `custom` event line; the fields of a larger one are clipped to fit (counted in `stats().clipped`). `http_request` lines are bounded by their own field limits. At most a quarter of `maxQueueBytes`.'
  },
  maxCustomEventsPerRequest: {
    schema: Type.Integer({ minimum: 1, maximum: 100_000 }),
    allowed: 'an integer from 1 to 100000',
    default: 100,
    doc: 'Most `custom` events one request may record; further `record()` calls on it make no event and are counted in `stats().ignored.overRequestCap`.'
  },
  maxQueueBytes: {
    schema: Type.Integer({ minimum: 65_536, maximum: 1_073_741_824 }),
    allowed: 'an integer from 65536 to 1073741824',
    default: 16_777_216,
    defaultText: '`16777216` (16 MiB)',
    doc: 'Most bytes of event lines held in memory, each line counted as V8 holds it (its length, twice that for a `custom` line with a character past U+00FF) + 512 bytes; past it the oldest are dropped as with `queueSize`, `custom` events first. `http_request` events are never pushed out by `custom` ones.'
  },
  edge: {
    schema: Type.Object({
      cloudflare: Type.Object({
        accountId: Type.String({ pattern: '^[0-9a-fA-F]{32}$' }),
        listId: Type.String({ pattern: '^[0-9a-fA-F]{32}$' }),
        apiToken: Type.Optional(Type.String({ minLength: 1 })),
        includeShadow: Type.Optional(Type.Boolean()),
        classes: Type.Optional(Type.Array(Type.String({ pattern: LIMIT_CLASS_PATTERN }), { minItems: 1 })),
        maxItems: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })),
        syncIntervalMs: Type.Optional(Type.Integer({ minimum: 1000, maximum: MAX_TIMER_MS })),
        minListedMs: Type.Optional(MsOrZero),
        baseUrl: Type.Optional(Type.String({ minLength: 1 }))
      }, { additionalProperties: false })
    }, { additionalProperties: false }),
    allowed: '{ cloudflare: { accountId, listId, apiToken?, includeShadow?, classes?, maxItems?, syncIntervalMs?, minListedMs?, baseUrl? } } with accountId and listId the 32 hex characters of Cloudflare\'s ids (a list\'s id, not its name), classes a non-empty array of rateLimit keys, maxItems an integer from 1 to 1000000, syncIntervalMs an integer of ms from 1000, minListedMs an integer of ms >= 0 and baseUrl an http(s) URL',
    hidden: true,
    doc: '`{ cloudflare: { accountId, listId, apiToken?, includeShadow?, classes?, maxItems?, syncIntervalMs?, minListedMs?, baseUrl? } }`. Edge sync: every IP the limiter blocks (with `includeShadow: true`, also every IP marked `would_block` in shadow mode) is added to a Cloudflare account IP list, and removed when its block ends; IPv6 clients as their /64 or /48. `apiToken` falls back to `CLOUDFLARE_API_TOKEN`. Needs the `cloudflare` package (an optional peer). Off the request path; counted in `stats().edge`. See [edge sync](#edge-sync-blocked-ips-into-a-cloudflare-list).'
  },
  gzipLevel: {
    schema: Type.Integer({ minimum: 0, maximum: 9 }),
    allowed: 'an integer from 0 to 9',
    default: 1,
    doc: 'gzip level of a batch (0-9).'
  }
} as const satisfies Record<string, OptionSpec>

export type OptionName = keyof typeof optionTable

/** The README's option table, rendered from this table (test/options-table.test.ts compares the two). */
export function optionsTableMarkdown (): string {
  const rows = ['| option | env | default | meaning |', '|---|---|---|---|']
  for (const [name, spec] of Object.entries(optionTable) as Array<[string, OptionSpec]>) {
    const env = spec.env === undefined ? '—' : '`' + spec.env + '`'
    rows.push(`| \`${name}\` | ${env} | ${defaultText(spec)} | ${spec.doc} |`)
  }
  return rows.join('\n')
}

function defaultText (spec: OptionSpec): string {
  if (spec.defaultText !== undefined) return spec.defaultText
  if (spec.default === undefined) return 'none'
  return '`' + JSON.stringify(spec.default) + '`'
}
