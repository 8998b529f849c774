// The per-request work, as three Fastify hooks (DESIGN.md, "What happens to
// one request"):
//   onRequest   make the context (client IP, headers), bind it for record(),
//               refuse a blocked IP with 429 before routing work;
//   preHandler  re-bind it where a body parser's callbacks lost it;
//   onResponse  classify a 404, count it, build the event line, push it.
// No I/O, no JSON, no timers here: the sink takes the line out of band.
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify'
import type { IncomingMessage } from 'node:http'
import { classifyPathVerdict } from '../classify/classify'
import { httpRequestLine } from '../events/line'
import type { Guard } from '../guard'
import type { CidrSet } from '../ip/cidr'
import { limiterKey, type RateLimiter } from '../limit'
import type { Sink } from '../ship'
import { kContext, kHooksSaw } from '../symbols'
import type { ResolvedOptions } from '../types'
import { storage, type ContextFactory, type RequestContext } from './context'

export type RequestWithContext = FastifyRequest & { [kContext]: RequestContext | null }

export interface HookParts {
  options: Pick<ResolvedOptions, 'enforceRateLimit' | 'enforceScope' | 'classify404' | 'asyncContext'>
  contexts: ContextFactory
  sink: Sink
  limiter: RateLimiter | undefined
  guard: Guard
  skip: ((request: FastifyRequest) => boolean) | undefined
  allowList: CidrSet | undefined
  envSuffix: string
  /** Router-rejected requests open right now: while there are any, onRequest marks what it sees. */
  badUrlsOpen: () => number
}

export interface RequestHooks {
  onRequest: (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => void
  preHandler: (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => void
  onResponse: (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => void
}

export function createHooks (parts: HookParts): RequestHooks {
  const { contexts, sink, limiter, guard, skip, allowList, envSuffix, badUrlsOpen } = parts
  const enforce = limiter !== undefined && parts.options.enforceRateLimit
  const enforceAll = parts.options.enforceScope === 'all'
  const classify404 = parts.options.classify404
  const asyncContext = parts.options.asyncContext

  /** The key an IP is counted under, or undefined when it is never counted (allowList, unknown peer). */
  function limitKey (ctx: RequestContext): string | undefined {
    if (ctx.key === undefined && !ctx.uncounted) {
      if (allowList?.has(ctx.ip) === true) ctx.uncounted = true
      else ctx.key = limiterKey(ctx.ip)
    }
    return ctx.key
  }

  /** Milliseconds the request's client stays blocked; 0 (after one boolean check) while nobody is. */
  function blockedFor (ctx: RequestContext, now: number): number {
    const l = limiter as RateLimiter
    if (!l.anyBlocked(now)) return 0
    const key = limitKey(ctx)
    return key === undefined ? 0 : l.blockedFor(key, now)
  }

  function onRequest (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void {
    let ctx: RequestContext | undefined
    try {
      const raw = request.raw
      // Only while a router-rejected request is open: ordinary traffic adds no property to the raw request.
      if (badUrlsOpen() > 0) (raw as IncomingMessage & { [kHooksSaw]?: boolean })[kHooksSaw] = true
      ctx = contexts.make(request.method, request.url, raw)
      ;(request as RequestWithContext)[kContext] = ctx
      if (skip !== undefined && guard.call(skip, request)) {
        ctx.skipped = true
      } else if (enforce && (enforceAll || request.is404)) {
        const ms = blockedFor(ctx, Date.now())
        if (ms > 0) {
          ctx.blocked = true
          refuse(reply, ms)
          return
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
    const ctx = (request as RequestWithContext)[kContext]
    if (ctx !== null && ctx !== undefined && storage.getStore() !== ctx) storage.run(ctx, done)
    else done()
  }

  function onResponse (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void {
    try {
      const ctx = (request as RequestWithContext)[kContext]
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
        sink.push(line)
      }
    } catch (err) {
      guard.error(err, 'onResponse')
    }
    done()
  }

  return { onRequest, preHandler, onResponse }
}

/** 429 with Retry-After in whole seconds (at least 1), and a body shaped like @fastify/rate-limit's. */
function refuse (reply: FastifyReply, ms: number): void {
  const secs = Math.max(1, Math.ceil(ms / 1000))
  reply.code(429).header('retry-after', String(secs)).send({
    statusCode: 429,
    error: 'Too Many Requests',
    message: `Rate limit exceeded, retry in ${secs} seconds`
  })
}
