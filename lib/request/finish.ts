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
import { DistinctPaths, pathKind, SCRIPT_FILE, STATIC_FILE } from '../limit/behaviour'
import type { Sink } from '../ship'
import type { BuiltInLimitClass, Classification, ResolvedOptions } from '../types'
import type { RequestContext } from './context'

export interface FinishParts {
  options: Pick<ResolvedOptions, 'enforceRateLimit' | 'enforceScope' | 'classify404' | 'rateLimit' | 'certainFromNonBrowsers'>
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
   * A request a wildcard route answered (an SPA's 200): classified, and
   * counted like a 404 only if its path is a probe. Returns the milliseconds
   * its client is blocked for: for a page that is no probe, only with
   * `enforceScope: "all"`, else 0.
   */
  countWildcard: (ctx: RequestContext, now: number) => number
  /**
   * Counts a `record()`ed event of `name` against its client's limit, when
   * `rateLimit` has a rule of that name; an event over the limit marks the
   * request's own event `would_block` (if not built yet).
   */
  countRecorded: (ctx: RequestContext, name: string, now: number) => void
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
  const limits = parts.options.rateLimit
  // Behaviour per IP: each class counts a client's distinct paths only.
  const scripts = limiter?.counts('script-probe') === true ? new DistinctPaths(limits['script-probe']?.windowMs ?? 1) : undefined
  const probing = limiter?.counts('probing') === true ? new DistinctPaths(limits.probing?.windowMs ?? 1) : undefined
  const certainCounted = limiter?.counts('scanner-certain') === true
  const fromNonBrowsers = parts.options.certainFromNonBrowsers

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

  function classify (ctx: RequestContext, target = ctx.url): void {
    guard.fault('classify')
    const verdict = classifyPathVerdict(target)
    ctx.classification = verdict.classification
    ctx.rule = verdict.rule
    ctx.certain = verdict.certain
  }

  function count (ctx: RequestContext, now: number): number {
    ctx.counted = true
    if (ctx.classification === undefined) classify(ctx)
    if (limiter === undefined) return 0
    const cls = ctx.classification as Classification
    const key = limitKey(ctx)
    if (key === undefined) return 0
    // Every class the 404 counts in is counted (the counts of a window stay
    // the same whatever blocks); the longest block among them is the answer.
    let ms = limiter.counts(cls) ? limiter.hit(key, ctx.ip, cls, now) : -1
    if (cls === 'scanner') {
      if (certainCounted && (ctx.certain || (fromNonBrowsers && notBrowser(ctx)))) ms = longer(ms, limiter.hit(key, ctx.ip, 'scanner-certain', now))
    } else if (cls === 'unknown' && (scripts !== undefined || probing !== undefined) && noRoute(ctx) && !claimsCrawler(ctx)) {
      const url = ctx.url
      const q = url.indexOf('?')
      const end = q === -1 ? url.length : q
      const kind = pathKind(url, end)
      if (kind === SCRIPT_FILE && scripts?.firstSeen(key, url, end, now) === true) ms = longer(ms, limiter.hit(key, ctx.ip, 'script-probe', now))
      if (kind !== STATIC_FILE && probing?.firstSeen(key, url, end, now) === true) ms = longer(ms, limiter.hit(key, ctx.ip, 'probing', now))
    }
    // Nothing counted: a client blocked by another class is still refused on every 404.
    return ms === -1 ? blockedFor(ctx, now) : ms
  }

  function countWildcard (ctx: RequestContext, now: number): number {
    // The path alone: the query of a page the app serves is the app's
    // (`/search?q=<script>` on a developers' site is a search, not a payload).
    const q = ctx.url.indexOf('?')
    classify(ctx, q === -1 ? ctx.url : ctx.url.slice(0, q))
    if (ctx.classification === 'scanner') return count(ctx, now)
    // A page of the app, not a 404: its event carries no classification, and
    // it is refused only where every request is.
    ctx.counted = true
    ctx.classification = ctx.rule = undefined
    ctx.certain = false
    return scopeAll ? blockedFor(ctx, now) : 0
  }

  /** An app-layer signal (validation, parse, auth) counted in its own class. */
  function countSignal (ctx: RequestContext, signal: string, status: number, now: number): number {
    if (limiter === undefined || !limiter.counts(signal) || (signal === 'auth' && !triedCredentials(ctx, status))) return 0
    const key = limitKey(ctx)
    return key === undefined ? 0 : limiter.hit(key, ctx.ip, signal, now)
  }

  function countRecorded (ctx: RequestContext, name: string, now: number): void {
    // Built-in classes are counted by the plugin itself: a record() named `scanner` must not add to them.
    if (limiter === undefined || ctx.skipped || BUILT_IN.has(name) || !limiter.counts(name)) return
    const key = limitKey(ctx)
    if (key === undefined) return
    if (limiter.hit(key, ctx.ip, name, now) > 0 && !ctx.finished && !ctx.blocked) ctx.wouldBlock = true
  }

  function finish (ctx: RequestContext, status: number, now: number, as404: boolean): void {
    if (ctx.finished) return
    ctx.finished = true
    if (ctx.skipped) return
    let ms = 0
    if (as404 && classify404 && !ctx.counted) ms = count(ctx, now)
    else if (ctx.wildcard && classify404 && !ctx.counted && !as404) ms = countWildcard(ctx, now)
    else if (!ctx.blocked && (as404 || scopeAll || ctx.classification === 'scanner')) ms = blockedFor(ctx, now)
    if (ctx.signal !== undefined) ms = longer(ms, countSignal(ctx, ctx.signal, status, now))
    // Over the limit and not refused: shadow mode, or a request the plugin
    // could not refuse (aborted, refused by Node's parser or the router).
    if (ms > 0 && !ctx.blocked) ctx.wouldBlock = true
    guard.fault('event')
    const line = httpRequestLine(ctx, status, now, envSuffix)
    guard.fault('sink')
    sink.push(line)
  }

  return { blockedFor, count, countWildcard, countRecorded, finish }
}

/** Classes the plugin counts itself; a recorded event of one of these names is not counted again. */
const BUILT_IN: ReadonlySet<string> = new Set<BuiltInLimitClass>(['scanner', 'scanner-certain', 'script-probe', 'probing',
  'validation', 'parse', 'auth', 'benign-miss', 'unknown'])

function longer (a: number, b: number): number {
  return b > a ? b : a
}

/**
 * An auth failure counts toward `auth` (credential guessing) only when the
 * request tried credentials: a method that carries them in its body (a login
 * form's POST), or an `Authorization` header answered 401. A logged-out page
 * polling `/api/me` (401 without credentials), or a signed-in user's GET of
 * something forbidden (403), is marked on its event but not counted: a user
 * who merely browses must never add up to a block.
 */
function triedCredentials (ctx: RequestContext, status: number): boolean {
  const m = ctx.method
  if (m !== 'GET' && m !== 'HEAD' && m !== 'OPTIONS') return true
  return status !== 403 && ctx.request?.headers.authorization !== undefined
}

/**
 * An attack tool by its user agent, or a client that is not a browser: no
 * `Accept-Language` (every browser sends one; HTTP libraries and most
 * scanners do not) and no crawler's name. Read for likely probes only.
 */
function notBrowser (ctx: RequestContext): boolean {
  if (ctx.uaClass !== undefined) return true
  const headers = ctx.request?.headers
  if (headers === undefined) return true
  return headers['accept-language'] === undefined && !claimsCrawler(ctx)
}

/**
 * The user agent calls itself a crawler (read once per user agent, with its
 * attack-tool verdict). A search engine recrawling a migrated site walks its
 * stale links fast: it is left out of the behaviour classes (script-probe,
 * probing), never out of the probe families.
 */
function claimsCrawler (ctx: RequestContext): boolean {
  return ctx.crawler
}

/**
 * No route matched the 404 (the not-found handler answered, or no hook saw
 * it): not an app's own "no such item"; and it was answered 404: an SPA whose
 * not-found handler serves its index.html with 200 sees every page a user
 * opens in a new tab come through here, and those are pages, not misses.
 */
function noRoute (ctx: RequestContext): boolean {
  return (ctx.request === undefined || ctx.request.is404) && (ctx.response === undefined || ctx.response.statusCode === 404)
}
