// The plugin entry: resolves options, builds the parts, registers hooks and decorators,
// exports. The parts do the work, in folders named for the stages of a request:
// request/ (hooks, context), ip/, classify/, limit/, events/, ship/ (batcher, exporters).
import type { FastifyPluginAsync, FastifyRequest, HTTPMethods } from 'fastify'
import fp from 'fastify-plugin'
import { resolveOptions, defaults as optionDefaults } from './options'
import { Counters } from './counters'
import { errorCodes as codes } from './errors'
import { Guard } from './guard'
import { kContext, kFaults } from './symbols'
import { CidrSet } from './ip/cidr'
import { startCloudflareRefresh } from './ip/cloudflare-refresh'
import { classifyPath as classify, classifyPathVerdict as verdictOf, type PathVerdict } from './classify/classify'
import { environmentSuffix } from './events/line'
import { closeStore, createLimiter } from './limit'
import { createSink } from './ship'
import { createEdgeSync } from './edge'
import { ClientReader } from './request/client'
import { ContextFactory, record as recordEvent } from './request/context'
import { createRecorder } from './request/recorder'
import { createHooks, type RequestWithContext } from './request/hooks'
import { createFinisher } from './request/finish'
import { RefusedRequests, routerMaxParamLength } from './request/refused'
import { checkRegistration, markWildcardRoutes, type WildcardRoutes } from './request/registration'
import { effectiveOptions, reportStart } from './boot'
import type { AppFirewallInstance, AppFirewallOptions, AppFirewallRequest, Classification, EventFields } from './types'

const plugin: FastifyPluginAsync<AppFirewallOptions> = async function appFirewallPlugin (fastify, rawOpts) {
  const resolved = resolveOptions(rawOpts, process.env)
  const guard = new Guard(resolved.options.onError, fastify.log.child({ plugin: 'appfirewall-fastify' }), (rawOpts as Record<symbol, never> | undefined)?.[kFaults])
  const log = guard.pluginLog
  checkRegistration(fastify, log)
  const options = effectiveOptions(resolved.options, resolved.warnings, log, fastify.log)
  reportStart(options, log)
  const counters = new Counters()
  const sink = createSink(options, resolved.apiKey, counters, log, resolved.dispatcher)
  // Built before the limiter, whose blocks it lists; it makes no call before the app is ready.
  const edge = resolved.edge === undefined ? undefined : createEdgeSync(resolved.edge, options, resolved.redis, resolved.store !== undefined, log)
  const onBlock = edge === undefined ? undefined : (key: string, cls: string, ms: number, now: number): void => { edge.offer(key, cls, ms, now) }
  const limiter = sink === undefined ? undefined : createLimiter(options, { onLimited: resolved.onLimited, onBlock, redis: resolved.redis, store: resolved.store, onHookError: (err) => { guard.error(err, 'hook') }, log })
  const client = new ClientReader(options.trustedProxies, log)
  const envSuffix = environmentSuffix(options.environment)
  const allowList = options.allowList.length > 0 ? CidrSet.parse(options.allowList) : undefined
  const finisher = sink === undefined ? undefined : createFinisher({ options, sink, limiter, guard, allowList, envSuffix })
  const recorder = finisher === undefined || sink === undefined ? undefined : createRecorder(sink, counters, guard, envSuffix, options, finisher.countRecorded)
  const contexts = new ContextFactory(recorder, client, guard)

  // A getter: in `off` mode (no hooks) the context is made only if user code asks for it.
  fastify.decorateRequest(kContext as unknown as string, null)
  fastify.decorateRequest('appfirewall', {
    getter (this: FastifyRequest): AppFirewallRequest {
      const self = this as RequestWithContext
      return (self[kContext] ??= contexts.make(this.raw.method ?? 'GET', this.raw.url ?? '/', this.raw))
    }
  })
  fastify.decorate('appfirewall', {
    stats: () => counters.snapshot(options.mode, sink?.queued() ?? 0, sink?.inFlight() ?? 0, limiter?.stats() ?? null, edge?.stats() ?? null),
    flush: async (timeoutMs?: number) => {
      try {
        return sink === undefined || await sink.flush(timeoutMs ?? options.closeGraceMs)
      } catch (err) {
        guard.error(err, 'sink')
        return false
      }
    },
    options
  } satisfies AppFirewallInstance)

  // A store the plugin does not use (off mode, nothing limited) is still closed once, by app.close().
  const unused = limiter === undefined ? resolved.store : undefined
  if (unused !== undefined) fastify.addHook('onClose', async () => { await closeStore(unused, options.closeGraceMs, log) })
  if (sink === undefined || finisher === undefined) return // off: no hooks, no timers

  if (options.classify404) classify('/') // builds the matchers (0.15-0.3 s and ~6 MB here) at boot, not on the first 404
  const wildcards: WildcardRoutes = { unmarked: false }
  const hooks = createHooks({
    options,
    contexts,
    finisher,
    guard,
    skip: resolved.skip,
    limited: limiter !== undefined,
    routeMissing: (method, path) => fastify.findRoute({ method: method as HTTPMethods, url: path }) === null,
    badUrlsOpen: () => refused.open,
    wildcards
  })
  const refused = new RefusedRequests(fastify.server, { contexts, finisher, guard, maxParamLength: routerMaxParamLength(fastify), watchRaw: hooks.watchRaw })
  fastify.addHook('onRequest', hooks.onRequest)
  if (options.asyncContext) fastify.addHook('preHandler', hooks.preHandler)
  fastify.addHook('onSend', hooks.onSend)
  // Both cost nothing on an ordinary request: onError runs for errors only, and
  // only wildcard routes get a hook of their own (a probe answered 200 by an SPA).
  fastify.addHook('onError', hooks.onError)
  if (options.classify404) markWildcardRoutes(fastify, hooks.onWildcardRoute, wildcards, guard)

  const refresh = client.trusted.cloudflare && options.cloudflareRefreshMs > 0
    ? startCloudflareRefresh({
      url: options.cloudflareRangesUrl,
      intervalMs: options.cloudflareRefreshMs,
      onRanges: (ranges) => { client.setCloudflareRanges(ranges) },
      log
    })
    : undefined

  if (edge !== undefined) fastify.addHook('onReady', async () => { edge.start() })

  fastify.addHook('onClose', async () => {
    // Every step guarded (an error would make app.close() reject); the limiter and the
    // sink close side by side, so their grace periods do not add up.
    const step = async (fn: () => unknown): Promise<void> => {
      try {
        await fn()
      } catch (err) {
        guard.error(err, 'close')
      }
    }
    await step(() => { refused.stop(); refresh?.stop() })
    await Promise.all([step(() => limiter?.close()), step(() => sink.close(options.closeGraceMs)), step(() => edge?.close(options.closeGraceMs))])
  })
}

type AppFirewallPlugin = FastifyPluginAsync<AppFirewallOptions> & {
  default: AppFirewallPlugin
  appFirewall: AppFirewallPlugin
  record: (event: string, fields?: EventFields) => void
  classifyPath: (path: string) => Classification
  classifyPathVerdict: (path: string) => PathVerdict
  errorCodes: typeof errorCodes
  defaults: typeof defaults
}

// Plain local bindings: tsc would emit imported names as `module_1.name`,
// which the ESM named-export detection below cannot see through.
const record = recordEvent
const classifyPath = classify
const classifyPathVerdict = verdictOf
const errorCodes = codes
const defaults = optionDefaults

const appFirewall = fp(plugin, { fastify: '5.x', name: 'appfirewall-fastify' }) as AppFirewallPlugin
Object.assign(appFirewall, { default: appFirewall, appFirewall, record, classifyPath, classifyPathVerdict, errorCodes, defaults })

// eslint-disable-next-line @typescript-eslint/no-redeclare
namespace appFirewall {
  export type AppFirewallOptions = import('./types').AppFirewallOptions
  export type AppFirewallRequest = import('./types').AppFirewallRequest
  export type AppFirewallInstance = import('./types').AppFirewallInstance
  export type AppFirewallStats = import('./types').AppFirewallStats
  export type AppFirewallDefaults = import('./types').AppFirewallDefaults
  export type ResolvedOptions = import('./types').ResolvedOptions
  export type Classification = import('./types').Classification
  export type EventFields = import('./types').EventFields
  export type LimitedInfo = import('./types').LimitedInfo
  export type RateLimitRule = import('./types').RateLimitRule
  export type RateLimits = import('./types').RateLimits
  export type LimitClass = import('./types').LimitClass
  export type PathVerdict = import('./classify/classify').PathVerdict
  export type BuiltInLimitClass = import('./types').BuiltInLimitClass
  export type Mode = import('./types').Mode
  export type RedisLike = import('./types').RedisLike
  export type LimitStore = import('./types').LimitStore
  export type LimitRule = import('./types').LimitRule
  export type LimitCount = import('./types').LimitCount
  export type LimitBlockListener = import('./types').LimitBlockListener
  export type RateLimiterStats = import('./types').RateLimiterStats
  export type EdgeOptions = import('./types').EdgeOptions
  export type CloudflareEdgeOptions = import('./types').CloudflareEdgeOptions
  export type EdgeSyncStats = import('./edge/sync').EdgeSyncStats
}

export = appFirewall

// Never runs: lets Node's ESM loader (cjs-module-lexer) see the named exports.
0 && (module.exports = { default: appFirewall, appFirewall, record, classifyPath, classifyPathVerdict, errorCodes, defaults })
