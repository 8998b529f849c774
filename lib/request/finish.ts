// How a request ends, whoever ended it: its response finished, its client
// went away first (request/hooks.ts watches both), Node's parser or Fastify's
// router refusing it before any hook (request/refused.ts). Each ends here exactly once: a 404 (or
// what was headed for one) is classified and counted, the event line is
// built and pushed. No I/O, no JSON, no timers.
import { classifyPathVerdict } from '../classify/classify'
import { families } from '../classify/patterns'
import { httpRequestLine } from '../events/line'
import type { Guard } from '../guard'
import type { CidrSet } from '../ip/cidr'
import { limiterKey, type RateLimiter } from '../limit'
import { DistinctPaths, pathKind, SCRIPT_FILE, STATIC_FILE } from '../limit/behaviour'
import type { Sink } from '../ship'
import type { Classification, ResolvedOptions } from '../types'
import { BUILT_IN_CLASSES } from '../option-table'
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
  const scripts = limiter?.counts('script-probe') === true ? new DistinctPaths(limits['script-probe']?.windowMs ?? 1, true) : undefined
  const probing = limiter?.counts('probing') === true ? new DistinctPaths(limits.probing?.windowMs ?? 1, true) : undefined
  const certainCounted = limiter?.counts('scanner-certain') === true
  const fromNonBrowsers = parts.options.certainFromNonBrowsers
  // Auth failures count once per credential tried (the same expired token polled is one).
  const credentials = limiter?.counts('auth') === true ? new DistinctPaths(limits.auth?.windowMs ?? 1) : undefined

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
    // A route's own 404 ("no such file" for `/files?path=../notes.txt`): its
    // query is the app's business; only its path is looked at.
    const routeOwn = ctx.request !== undefined && !ctx.request.is404 && !ctx.wildcard
    if (ctx.classification === undefined) classify(ctx, routeOwn ? pathPart(ctx.url) : ctx.url)
    if (limiter === undefined) return 0
    const cls = ctx.classification as Classification
    const key = limitKey(ctx)
    if (key === undefined) return 0
    // Every class the 404 counts in is counted (the counts of a window stay
    // the same whatever blocks); the longest block among them is the answer.
    let ms = limiter.counts(cls) ? limiter.hit(key, ctx.ip, cls, now) : -1
    if (cls === 'scanner') {
      if (certainCounted && marksAtOnce(ctx, routeOwn)) ms = longer(ms, limiter.hit(key, ctx.ip, 'scanner-certain', now))
    } else if (cls === 'unknown' && (scripts !== undefined || probing !== undefined) && noRoute(ctx) && !ctx.crawler && !fromAPage(ctx)) {
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

  /**
   * Whether this scanner 404 counts as a certain probe (`scanner-certain`,
   * which marks at the first): a certain family, or a likely one of a family
   * no client software polls, from a client that is not a browser. Never for
   * a route's own 404 (its path names the app's data), nor for a request a
   * page made (`Sec-Fetch-Site` `cross-site`, `same-site` or `same-origin`:
   * an `<img>` or a link on any page, the app's own included, would mark
   * every visitor).
   */
  function marksAtOnce (ctx: RequestContext, routeOwn: boolean): boolean {
    if (routeOwn || fromAPage(ctx)) return false
    if (ctx.certain) return true
    return fromNonBrowsers && !(ctx.rule !== undefined && POLLED.has(ctx.rule)) && notBrowser(ctx)
  }

  function countWildcard (ctx: RequestContext, now: number): number {
    // The path alone: the query of a page the app serves is the app's
    // (`/search?q=<script>` on a developers' site is a search, not a payload).
    classify(ctx, pathPart(ctx.url))
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
    if (limiter === undefined || !limiter.counts(signal)) return 0
    const key = limitKey(ctx)
    if (key === undefined) return 0
    if (signal === 'auth') {
      const tried = credentialTried(ctx, status)
      if (tried === undefined) return 0
      // The same credential again (a page polling with an expired token) is one attempt.
      if (tried !== true && credentials?.firstSeen(key, tried, tried.length, now) === false) return 0
    }
    return limiter.hit(key, ctx.ip, signal, now)
  }

  function countRecorded (ctx: RequestContext, name: string, now: number): void {
    // Built-in classes are counted by the plugin itself: a record() named `scanner` must not add to them.
    if (limiter === undefined || ctx.skipped || BUILT_IN.has(name) || !limiter.counts(name)) return
    const key = limitKey(ctx)
    if (key === undefined) return
    // Marked only where enforcement would refuse the request (enforceScope).
    if (limiter.hit(key, ctx.ip, name, now) > 0 && !ctx.finished && !ctx.blocked && (scopeAll || ctx.request?.is404 === true)) ctx.wouldBlock = true
  }

  function finish (ctx: RequestContext, status: number, now: number, as404: boolean): void {
    if (ctx.finished) return
    ctx.finished = true
    if (ctx.skipped) return
    let ms = 0
    if (as404 && classify404 && !ctx.counted) ms = count(ctx, now)
    else if (ctx.wildcard && classify404 && !ctx.counted && !as404) ms = countWildcard(ctx, now)
    else if (!ctx.blocked && inScope(ctx, as404)) ms = blockedFor(ctx, now)
    if (ctx.signal !== undefined) {
      // Counted whatever the scope; the request is marked only where
      // enforcement would refuse it (a login route's 401 is not a 404).
      const signalMs = countSignal(ctx, ctx.signal, status, now)
      if (inScope(ctx, as404)) ms = longer(ms, signalMs)
    }
    // Over the limit and not refused: shadow mode, or a request the plugin
    // could not refuse (aborted, refused by Node's parser or the router).
    if (ms > 0 && !ctx.blocked) ctx.wouldBlock = true
    guard.fault('event')
    const line = httpRequestLine(ctx, status, now, envSuffix)
    guard.fault('sink')
    sink.push(line)
  }

  /** Where enforcement would refuse this request: a 404, a probe a catch-all answered, or anything with scope "all". */
  function inScope (ctx: RequestContext, as404: boolean): boolean {
    return as404 || scopeAll || ctx.classification === 'scanner'
  }

  return { blockedFor, count, countWildcard, countRecorded, finish }
}

/** Classes the plugin counts itself; a recorded event of one of these names is not counted again. */
const BUILT_IN: ReadonlySet<string> = new Set(BUILT_IN_CLASSES)

function longer (a: number, b: number): number {
  return b > a ? b : a
}

// Headers that carry a credential.
const CREDENTIAL_HEADERS = ['authorization', 'x-api-key', 'api-key', 'x-auth-token', 'x-access-token'] as const
// Last path segments of a login: a body sent there is a credential tried.
const LOGIN = /(?:^|[-_.])(?:log-?in|log-?on|sign-?in|sign_in|sessions?|auth|authenticate|token|password|passwd|otp|2fa|mfa)(?:$|[-_.])/i

/**
 * What an auth failure tried, to count credential guessing (`auth`): the
 * value of a credential header (a token, an API key: counted once per
 * distinct value, so the same expired token polled is one attempt), or
 * `true` for a request with a body to a login-like path (`/login`,
 * `/api/sessions`, `/oauth/token`: each counts; the body is never read).
 * Undefined when no credential was tried (a logged-out page polling
 * `/api/me` or `/graphql`, a signed-in user's 403 "forbidden"): marked on its
 * event, never counted, so that a user who merely browses never adds up to a
 * block.
 */
function credentialTried (ctx: RequestContext, status: number): string | true | undefined {
  const headers = ctx.request?.headers
  if (headers === undefined) return undefined
  const m = ctx.method
  // A body sent to a login: each one counts, whatever fixed header (an app's
  // public API key, a Basic header of a gateway) rides along.
  if (m !== 'GET' && m !== 'HEAD' && m !== 'OPTIONS' && LOGIN.test(lastSegment(ctx.url))) return true
  if (status === 403) return undefined
  let tried: string | undefined
  for (const name of CREDENTIAL_HEADERS) {
    const value = headers[name]
    if (typeof value === 'string' && value !== '') tried = (tried === undefined ? '' : tried + '\n') + name + ' ' + value
  }
  return tried
}

/** The last segment of a URL's path, its `;` parameters and a trailing slash left out, at most 64 characters. */
function lastSegment (url: string): string {
  let path = pathPart(url)
  const semi = path.indexOf(';')
  if (semi !== -1) path = path.slice(0, semi)
  if (path.length > 1 && path.endsWith('/')) path = path.slice(0, -1)
  const last = path.slice(path.lastIndexOf('/') + 1)
  return last.length > 64 ? last.slice(0, 64) : last
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
  return headers['accept-language'] === undefined && !ctx.crawler
}

/** A request a page made (an image, a script, a link clicked): `Sec-Fetch-Site` says so; a typed URL, a bookmark or a tool says `none` or nothing. */
function fromAPage (ctx: RequestContext): boolean {
  const site = ctx.request?.headers['sec-fetch-site']
  // Only the values browsers send (Fetch Metadata): anything else is no page's.
  return site === 'cross-site' || site === 'same-origin' || site === 'same-site'
}

/** The URL without its query. */
function pathPart (url: string): string {
  const q = url.indexOf('?')
  return q === -1 ? url : url.slice(0, q)
}

/** Rules of the families client software polls on its own (lib/classify/patterns.ts, `polled`). */
const POLLED: ReadonlySet<string> = new Set(families.filter((f) => f.polled === true).map((f) => f.rule))

/**
 * No route matched the 404 (the not-found handler answered, or no hook saw
 * it): not an app's own "no such item"; and it was answered 404: an SPA whose
 * not-found handler serves its index.html with 200 sees every page a user
 * opens in a new tab come through here, and those are pages, not misses.
 */
function noRoute (ctx: RequestContext): boolean {
  return (ctx.request === undefined || ctx.request.is404) && (ctx.response === undefined || ctx.response.statusCode === 404)
}
