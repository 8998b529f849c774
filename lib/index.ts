// The plugin entry: resolves options, builds the parts, adds hooks and
// decorators, and exports. The parts do the work; this file only wires them.
import type { FastifyPluginAsync, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify'
import type { IncomingMessage, ServerResponse } from 'node:http'
import fp from 'fastify-plugin'
import { resolveOptions } from './options'
import { Counters } from './counters'
import { RequestContext, storage, record as recordEvent, type CustomRecorder } from './request/context'
import { httpRequestLine, customLine, environmentSuffix } from './events/line'
import { compileTrustedProxies, resolveClientIp, setCloudflareRanges, type ClientIpResult } from './ip/client-ip'
import { CidrSet, checkCidrs } from './ip/cidr'
import { startCloudflareRefresh } from './ip/cloudflare-refresh'
import { classifyPath as classify, classifyPathVerdict } from './classify/classify'
import { userAgentInfo } from './classify/user-agent'
import { createSink, type Sink, type SinkLogger } from './ship'
import { createLimiter, limiterKey, type RateLimiter } from './limit'
import { Guard } from './guard'
import { kFaults, type FaultInjection } from './faults'
import { errorCodes } from './errors'
import type {
  AppFirewallInstance, AppFirewallOptions, AppFirewallRequest, AppFirewallStats, Classification, EventFields
} from './types'

declare module 'fastify' {
  interface FastifyRequest {
    /** Per-request AppFirewall object: resolved client IP, record(), 404 classification. Never null. */
    appfirewall: AppFirewallRequest
  }
  interface FastifyInstance {
    /** AppFirewall stats, flush and resolved options. */
    appfirewall: AppFirewallInstance
  }
}

const kCtx = Symbol('appfirewall.context')
const kSeen = Symbol('appfirewall.seen')

type RequestWithCtx = FastifyRequest & { [kCtx]: RequestContext | null }

/** Header value as one string: Node joins most duplicates, but set-cookie-like arrays are possible. */
function header (value: string | string[] | undefined): string | undefined {
  return typeof value === 'string' ? value : Array.isArray(value) ? value[0] : undefined
}

const plugin: FastifyPluginAsync<AppFirewallOptions> = async function appFirewallPlugin (fastify, rawOpts) {
  const log = fastify.log.child({ plugin: 'appfirewall-fastify' })
  const resolved = resolveOptions(rawOpts, process.env, checkCidrs)
  const faults = (rawOpts as { [kFaults]?: FaultInjection } | undefined)?.[kFaults]
  const guard = new Guard(resolved.options.onError, log, faults)
  const slog: SinkLogger = {
    warn: (obj, msg) => guard.log('warn', obj, msg),
    info: (obj, msg) => guard.log('info', obj, msg)
  }

  let options = resolved.options
  if (options.mode === 'ship' && !options.hasApiKey) {
    // Fail open: a missing key must not break boot; one warning, then off.
    slog.warn({}, 'appfirewall: mode "ship" needs apiKey (or APPFIREWALL_API_KEY); the plugin is off')
    options = Object.freeze({ ...options, mode: 'off' })
  }
  const mode = options.mode
  const counters = new Counters()
  const trusted = compileTrustedProxies(options.trustedProxies)
  const allowList = options.allowList.length > 0 ? CidrSet.parse(options.allowList) : undefined
  const skip = resolved.skip
  const envSuffix = environmentSuffix(options.environment)

  const sink = createSink(options, resolved.apiKey, counters, slog)
  const limiter = sink === undefined ? undefined : createLimiter(options, { onLimited: resolved.onLimited, redis: resolved.redis, store: resolved.store, log: slog })
  const enforce = limiter !== undefined && options.enforceRateLimit
  const enforceAll = options.enforceScope === 'all'
  const classify404 = options.classify404
  const asyncContext = options.asyncContext
  // The matchers are built on first use (~60 ms): pay that at boot, not on the first 404.
  if (classify404) classify('/')

  // One scratch result reused by every request: resolution is synchronous,
  // and the fields are copied out before anything else can run.
  const scratch: ClientIpResult = { ip: '0.0.0.0', cloudflare: false, via: undefined, forwardedIgnored: false, privateClient: false }
  let forwardedWarned = false
  let privateLeft = 200 // "one global client" check: look at the first requests only

  function fillContext (ctx: RequestContext, raw: IncomingMessage): void {
    const headers = raw.headers
    const r = resolveClientIp(raw.socket?.remoteAddress, headers, trusted, scratch)
    ctx.ip = r.ip
    if (r.cloudflare) {
      // cf-* headers are believed only from a real Cloudflare hop: anyone else could forge them.
      ctx.cfCountry = header(headers['cf-ipcountry'])
      ctx.cfRay = header(headers['cf-ray'])
      ctx.cfAsn = header(headers['cf-asn'])
      ctx.via = r.via
    }
    if (r.forwardedIgnored && !forwardedWarned) {
      forwardedWarned = true
      slog.warn({ peer: raw.socket?.remoteAddress },
        'appfirewall: forwarding headers arrived from a peer that is not trusted (not in trustedProxies, or a Cloudflare address while "cloudflare" is not listed) and were ignored; if a proxy sits in front of this app, add it to trustedProxies')
    }
    if (privateLeft > 0) {
      if (!r.privateClient) privateLeft = 0
      else if (--privateLeft === 0) {
        slog.warn({ ip: r.ip },
          'appfirewall: every client so far resolved to a private or proxy address; a proxy in front of this app is probably missing from trustedProxies, so all users look like one client')
      }
    }
    const ua = header(headers['user-agent'])
    if (ua !== undefined) {
      const info = userAgentInfo(ua)
      ctx.uaClass = info.uaClass
      ctx.uaJson = info.json
    }
    ctx.referer = header(headers.referer)
  }

  /** The key an IP is counted under, or undefined when it is never counted (allowList, unknown peer). */
  function limitKey (ctx: RequestContext): string | undefined {
    if (ctx.key === undefined && !ctx.uncounted) {
      if (allowList?.has(ctx.ip) === true) ctx.uncounted = true
      else ctx.key = limiterKey(ctx.ip)
    }
    return ctx.key
  }

  const recorder: CustomRecorder | undefined = sink === undefined
    ? undefined
    : {
        recordCustom (ctx, name, fields) {
          let line: string
          try {
            line = customLine(ctx, name, fields, Date.now(), envSuffix)
          } catch (err) {
            counters.emitted++
            counters.dropped.serialization++
            guard.error(err, 'record')
            return
          }
          try {
            (sink as Sink).push(line)
          } catch (err) {
            guard.error(err, 'sink')
          }
        }
      }

  // request.appfirewall is a getter: in `off` mode (no hooks at all) the
  // context is made only if user code asks for it, so `off` costs nothing.
  fastify.decorateRequest(kCtx as unknown as string, null)
  fastify.decorateRequest('appfirewall', {
    getter (this: FastifyRequest): AppFirewallRequest {
      const self = this as RequestWithCtx
      let ctx = self[kCtx]
      if (ctx === null || ctx === undefined) {
        ctx = new RequestContext(recorder, this.raw.method ?? 'GET', this.raw.url ?? '/')
        try {
          fillContext(ctx, this.raw)
        } catch (err) {
          guard.error(err, 'ip')
        }
        self[kCtx] = ctx
      }
      return ctx
    }
  })

  const instance: AppFirewallInstance = {
    stats: (): AppFirewallStats => counters.snapshot(mode, sink?.queued() ?? 0, sink?.inFlight() ?? 0),
    flush: async (timeoutMs?: number): Promise<boolean> => {
      if (sink === undefined) return true
      try {
        return await sink.flush(timeoutMs ?? options.closeGraceMs)
      } catch (err) {
        guard.error(err, 'sink')
        return false
      }
    },
    options
  }
  fastify.decorate('appfirewall', instance)

  if (sink === undefined) return // off: no hooks, no timers

  const activeSink: Sink = sink

  function onRequest (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void {
    let ctx: RequestContext | undefined
    try {
      const raw = request.raw
      // Only while a bad-URL request is open: ordinary traffic adds no property to the raw request.
      if (badUrlOpen > 0) (raw as IncomingMessage & { [kSeen]?: boolean })[kSeen] = true
      ctx = new RequestContext(recorder, request.method, request.url)
      ;(request as RequestWithCtx)[kCtx] = ctx
      guard.fault('ip')
      fillContext(ctx, raw)
      if (skip !== undefined && guard.call(skip, request)) ctx.skipped = true
      // Enforcement costs nothing while no IP is blocked anywhere: the key is
      // built only when there is a block it could match.
      else if (enforce && (enforceAll || request.is404)) {
        const now = Date.now()
        if ((limiter as RateLimiter).anyBlocked(now)) {
          const key = limitKey(ctx)
          const ms = key === undefined ? 0 : (limiter as RateLimiter).blockedFor(key, now)
          if (ms > 0) {
            ctx.blocked = true
            const secs = Math.max(1, Math.ceil(ms / 1000))
            reply.code(429).header('retry-after', String(secs)).send({
              statusCode: 429,
              error: 'Too Many Requests',
              message: `Rate limit exceeded, retry in ${secs} seconds`
            })
            return
          }
        }
      }
    } catch (err) {
      guard.error(err, 'onRequest')
    }
    if (ctx !== undefined && asyncContext) storage.run(ctx, done)
    else done()
  }

  // The handler of a request with a body runs from the body parser's stream
  // callbacks, outside the context bound in onRequest: bind it again.
  function preHandler (request: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction): void {
    const ctx = (request as RequestWithCtx)[kCtx]
    if (ctx !== null && ctx !== undefined && storage.getStore() !== ctx) storage.run(ctx, done)
    else done()
  }

  function onResponse (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void {
    try {
      const ctx = (request as RequestWithCtx)[kCtx]
      if (ctx !== null && ctx !== undefined && !ctx.skipped) {
        const status = reply.statusCode
        const now = Date.now()
        if (status === 404 && classify404) {
          guard.fault('classify')
          const verdict = classifyPathVerdict(ctx.url)
          ctx.classification = verdict.classification
          ctx.rule = verdict.rule
          if (limiter !== undefined && limiter.counts(verdict.classification)) {
            const key = limitKey(ctx)
            if (key !== undefined && limiter.hit(key, ctx.ip, verdict.classification, now) > 0 && !enforce) {
              ctx.wouldBlock = true
            }
          }
        }
        guard.fault('event')
        const line = httpRequestLine(ctx, status, now, envSuffix)
        guard.fault('sink')
        activeSink.push(line)
      }
    } catch (err) {
      guard.error(err, 'onResponse')
    }
    done()
  }

  fastify.addHook('onRequest', onRequest)
  if (asyncContext) fastify.addHook('preHandler', preHandler)
  fastify.addHook('onResponse', onResponse)

  // Fastify answers a malformed percent-encoding (`/%c0%ae%c0%ae/etc/passwd`)
  // with 400 before any hook runs. Such URLs are probes more often than not, so
  // they are caught from the server's own 'request' event. Ordinary requests
  // pay one indexOf: only URLs whose path fails to decode get any work.
  const server = fastify.server as (typeof fastify.server | undefined)
  let badUrlOpen = 0 // requests that failed to decode and whose response is not closed yet
  function onRawRequest (req: IncomingMessage, res: ServerResponse): void {
    try {
      const url = req.url
      if (url === undefined || url.indexOf('%') === -1) return
      const q = url.indexOf('?')
      try {
        decodeURIComponent(q === -1 ? url : url.slice(0, q))
        return
      } catch {}
      badUrlOpen++
      // 'close' fires in every case (finished or aborted), so the count cannot leak.
      res.once('close', () => {
        badUrlOpen--
        try {
          if ((req as IncomingMessage & { [kSeen]?: boolean })[kSeen] === true) return // our hooks saw it after all
          const ctx = new RequestContext(recorder, req.method ?? 'GET', url)
          fillContext(ctx, req)
          const verdict = classifyPathVerdict(url)
          ctx.classification = verdict.classification
          ctx.rule = verdict.rule
          activeSink.push(httpRequestLine(ctx, res.statusCode, Date.now(), envSuffix))
        } catch (err) {
          guard.error(err, 'bad-url')
        }
      })
    } catch (err) {
      guard.error(err, 'bad-url')
    }
  }
  if (server !== undefined && typeof server.prependListener === 'function') {
    server.prependListener('request', onRawRequest)
  }

  const refresh = trusted.cloudflare && options.cloudflareRefreshMs > 0
    ? startCloudflareRefresh({
      url: options.cloudflareRangesUrl,
      intervalMs: options.cloudflareRefreshMs,
      onRanges: (ranges) => { setCloudflareRanges(trusted, ranges) },
      log: slog
    })
    : undefined

  fastify.addHook('onClose', async () => {
    // Errors here would make app.close() reject: every step is guarded.
    try {
      server?.removeListener('request', onRawRequest)
      refresh?.stop()
    } catch (err) {
      guard.error(err, 'close')
    }
    try {
      await limiter?.close()
    } catch (err) {
      guard.error(err, 'close')
    }
    try {
      await activeSink.close(options.closeGraceMs)
    } catch (err) {
      guard.error(err, 'close')
    }
  })
}

type AppFirewallPlugin = FastifyPluginAsync<AppFirewallOptions> & {
  default: AppFirewallPlugin
  appFirewall: AppFirewallPlugin
  record: (event: string, fields?: EventFields) => void
  classifyPath: (path: string) => Classification
  errorCodes: typeof errorCodes
}

// Plain local bindings: tsc would emit imported names as `module_1.name`,
// which the ESM named-export detection below cannot see through.
const record = recordEvent
const classifyPath = classify

const appFirewall = fp(plugin, { fastify: '5.x', name: 'appfirewall-fastify' }) as AppFirewallPlugin
appFirewall.default = appFirewall
appFirewall.appFirewall = appFirewall
appFirewall.record = record
appFirewall.classifyPath = classifyPath
appFirewall.errorCodes = errorCodes

// eslint-disable-next-line @typescript-eslint/no-redeclare
namespace appFirewall {
  export type AppFirewallOptions = import('./types').AppFirewallOptions
  export type AppFirewallRequest = import('./types').AppFirewallRequest
  export type AppFirewallInstance = import('./types').AppFirewallInstance
  export type AppFirewallStats = import('./types').AppFirewallStats
  export type ResolvedOptions = import('./types').ResolvedOptions
  export type Classification = import('./types').Classification
  export type EventFields = import('./types').EventFields
  export type LimitedInfo = import('./types').LimitedInfo
  export type RateLimitRule = import('./types').RateLimitRule
  export type Mode = import('./types').Mode
  export type RedisLike = import('./types').RedisLike
}

export = appFirewall

// Never runs: lets Node's ESM loader (cjs-module-lexer) see the named exports.
0 && (module.exports = { default: appFirewall, appFirewall, record, classifyPath, errorCodes })
