// How a request ends, whoever ended it: its response finished, its client
// went away first (request/hooks.ts watches both), Node's parser or Fastify's
// router refusing it before any hook (request/refused.ts). Each ends here exactly once: a 404 (or
// what was headed for one) is classified and counted, the event line is
// built and pushed. No I/O, no JSON, no timers.
import { classifyPathVerdict } from '../classify/classify'
import { httpRequestLine } from '../events/line'
import type { Guard } from '../guard'
import type { CidrSet } from '../ip/cidr'
import { limiterKey, type RateLimiter } from '../limit'
import type { Sink } from '../ship'
import type { ResolvedOptions } from '../types'
import type { RequestContext } from './context'

export interface FinishParts {
  options: Pick<ResolvedOptions, 'enforceRateLimit' | 'enforceScope' | 'classify404'>
  sink: Sink
  limiter: RateLimiter | undefined
  guard: Guard
  allowList: CidrSet | undefined
  envSuffix: string
}

export interface Finisher {
  /** Milliseconds the request's client stays blocked; 0 (after one boolean check) while nobody is. */
  blockedFor: (ctx: RequestContext, now: number) => number
  /**
   * Classifies the request's path and counts it as a 404 against its client's
   * limit, once. Returns the milliseconds its client is blocked for from now
   * on (this hit included), 0 while under the limit.
   */
  count: (ctx: RequestContext, now: number) => number
  /**
   * Builds and pushes the request's event, once (later calls do nothing).
   * `as404`: classify and count it like a 404 (it was one, was headed for the
   * not-found handler, or was refused before routing).
   */
  finish: (ctx: RequestContext, status: number, now: number, as404: boolean) => void
}

export function createFinisher (parts: FinishParts): Finisher {
  const { sink, limiter, guard, allowList, envSuffix } = parts
  const classify404 = parts.options.classify404
  const scopeAll = parts.options.enforceScope === 'all'

  /** The key an IP is counted under, or undefined when it is never counted (allowList, unknown peer, a Worker's claim). */
  function limitKey (ctx: RequestContext): string | undefined {
    if (ctx.key === undefined && !ctx.uncounted) {
      // A Worker subrequest's cf-connecting-ip is whatever any Cloudflare
      // account wrote there: counting it would let anyone get a victim blocked.
      if (ctx.via === 'cf-worker' || allowList?.has(ctx.ip) === true) ctx.uncounted = true
      else ctx.key = limiterKey(ctx.ip)
    }
    return ctx.key
  }

  function blockedFor (ctx: RequestContext, now: number): number {
    if (limiter === undefined || !limiter.anyBlocked(now)) return 0
    const key = limitKey(ctx)
    return key === undefined ? 0 : limiter.blockedFor(key, now)
  }

  function count (ctx: RequestContext, now: number): number {
    ctx.counted = true
    if (ctx.classification === undefined) {
      guard.fault('classify')
      const verdict = classifyPathVerdict(ctx.url)
      ctx.classification = verdict.classification
      ctx.rule = verdict.rule
    }
    // A class without a limit is not counted, but a blocked client is refused on every 404.
    if (limiter === undefined || !limiter.counts(ctx.classification)) return blockedFor(ctx, now)
    const key = limitKey(ctx)
    return key === undefined ? 0 : limiter.hit(key, ctx.ip, ctx.classification, now)
  }

  function finish (ctx: RequestContext, status: number, now: number, as404: boolean): void {
    if (ctx.finished) return
    ctx.finished = true
    if (ctx.skipped) return
    let ms = 0
    if (as404 && classify404 && !ctx.counted) ms = count(ctx, now)
    else if (!ctx.blocked && (as404 || scopeAll)) ms = blockedFor(ctx, now)
    // Over the limit and not refused: shadow mode, or a request the plugin
    // could not refuse (aborted, refused by Node's parser or the router).
    if (ms > 0 && !ctx.blocked) ctx.wouldBlock = true
    guard.fault('event')
    const line = httpRequestLine(ctx, status, now, envSuffix)
    guard.fault('sink')
    sink.push(line)
  }

  return { blockedFor, count, finish }
}
