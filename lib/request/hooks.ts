// The per-request work, as Fastify hooks and two listeners shared by every
// request (DESIGN.md, "What happens to one request"):
//   onRequest       make the context (client IP, headers), bind it for
//                   record(), refuse a blocked client with 429 before routing,
//                   and watch the request's end;
//   preHandler      re-bind it where a body parser's callbacks lost it;
//   onError         (runs only for an error) what the error says: a
//                   validation, parse or auth signal (request/signals.ts);
//   onRequest of a wildcard route only (request/registration.ts): the
//                   request was answered by a catch-all, so its path is
//                   classified even when the answer is not a 404;
//   onSend          a request whose onRequest never ran (a hook before ours
//                   answered) gets its context and its watch here; with
//                   enforcement, a 404 that passes the limit, or comes from a
//                   blocked client, becomes the 429;
//   the response's 'finish'  the request ends (request/finish.ts), with
//                   an auth signal for a 401 or 403;
//   the socket's 'close' (HTTP/1), the stream's 'close' (HTTP/2)  the client
//                   went away first: it ends too, as 499.
// Why listeners and not Fastify's onResponse and onRequestAbort hooks: those
// cost about 6k instructions a request on Node 24 (Fastify then builds a
// closure and two listeners per response, and a 'close' closure per request;
// callgrind, RESULTS.md), where one shared function added to the response
// costs about 1k and an HTTP/1 socket is watched once per connection.
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Guard } from '../guard'
import { kContext, kHooksSaw, kInFlight, kRawContext, kRefusedStatus } from '../symbols'
import type { ResolvedOptions } from '../types'
import { pathOf } from '../events/line'
import { storage, type ContextFactory, type RawResponse, type RequestContext } from './context'
import type { Finisher } from './finish'
import type { WildcardRoutes } from './registration'
import { signalAtEnd, signalFromError } from './signals'

export type RequestWithContext = FastifyRequest & { [kContext]: RequestContext | null }

type Hook = (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => void
type SendHook = (request: FastifyRequest, reply: FastifyReply, payload: unknown, done: (err: null, payload: unknown) => void) => void
type ErrorHook = (request: FastifyRequest, reply: FastifyReply, error: unknown, done: () => void) => void

export interface HookParts {
  options: Pick<ResolvedOptions, 'enforceRateLimit' | 'enforceScope' | 'classify404' | 'asyncContext'>
  contexts: ContextFactory
  finisher: Finisher
  guard: Guard
  skip: ((request: FastifyRequest) => boolean) | undefined
  /** A limiter exists (some class has a limit): without one nothing is ever refused. */
  limited: boolean
  /** Whether no route matches `method` and `path` (Fastify's findRoute): for a request no hook of ours saw. */
  routeMissing: (method: string, path: string) => boolean
  /** Router-rejected requests open right now: while there are any, onRequest marks what it sees. */
  badUrlsOpen: () => number
  /** Whether a catch-all registered before the plugin (no hook of ours) needs its requests recognised where they end. */
  wildcards: WildcardRoutes
}

export interface RequestHooks {
  onRequest: Hook
  preHandler: Hook
  onSend: SendHook
  /** Runs only for an error: marks the request with the signal its error names. */
  onError: ErrorHook
  /**
   * A route-level onRequest hook, given only to wildcard routes (url with a
   * `*`) as they are registered: other routes pay nothing for it.
   */
  onWildcardRoute: Hook
  /**
   * The server's 'request' listener (request/refused.ts) hands every request
   * over here before Fastify has it (app.inject() has no such event): its
   * response's 'finish' is watched from the start, so a request that no hook
   * of ours ever sees (a middleware or a hook before ours ended the response
   * itself, as @fastify/middie does) still ends with its event.
   */
  watchRaw: (req: IncomingMessage, res: ServerResponse) => void
}

// On a raw response: its context; null while only the server's 'request' listener has seen it.
type Watched = { [kRawContext]?: RequestContext | null }
type Socket = { [kInFlight]?: RequestContext | null, destroyed?: boolean, on: (event: 'close', fn: (this: Socket) => void) => unknown }

/** Nginx's status for a client that closed the connection before the response. */
export const CLIENT_CLOSED = 499

export function createHooks (parts: HookParts): RequestHooks {
  const { contexts, finisher, guard, skip, badUrlsOpen, routeMissing, wildcards } = parts
  const enforce = parts.options.enforceRateLimit && parts.limited
  const enforceAll = parts.options.enforceScope === 'all'
  const classify404 = parts.options.classify404
  const asyncContext = parts.options.asyncContext

  function make (request: FastifyRequest): RequestContext {
    const ctx = contexts.make(request.method, request.url, request.raw)
    ;(request as RequestWithContext)[kContext] = ctx
    if (skip !== undefined && guard.call(skip, request)) ctx.skipped = true
    return ctx
  }

  /**
   * Ends the request's context when its response finishes, or when its
   * client goes away first. Shared functions, no closure: the context hangs
   * off the raw response (and the HTTP/2 stream), and an HTTP/1 socket keeps
   * its requests in flight in a list, watched by one listener for the life
   * of the connection.
   */
  function watch (ctx: RequestContext, request: FastifyRequest, reply: FastifyReply): void {
    const res = reply.raw as typeof reply.raw & Watched
    ctx.response = res
    // undefined: nobody watches it yet; null: the server's 'request' listener does.
    const seen = res[kRawContext]
    res[kRawContext] = ctx
    if (ctx.skipped) return
    ctx.request = request
    // First: before Fastify's own listener runs the app's onResponse hooks,
    // which may read request.appfirewall.classification.
    if (seen === undefined) res.prependListener('finish', onFinish)
    const socket = request.raw.socket as unknown as Socket | null
    if (request.raw.httpVersionMajor === 2 || socket === null) {
      // An HTTP/2 stream ends alone, its session lives on: a stream that
      // closes before its response finished (reset, error) was aborted.
      res.on('close', onResponseClose)
      // Already closed (the client left while an async hook before ours ran): no 'close' will come.
      if (request.raw.aborted === true) abort(ctx)
      return
    }
    if (socket.destroyed === true) {
      // The connection closed while an async hook before ours ran: no 'close' will come.
      abort(ctx)
      return
    }
    const newest = socket[kInFlight]
    if (newest === undefined) socket.on('close', onSocketClose)
    else if (newest !== null) {
      newest.newerOnSocket = ctx
      ctx.olderOnSocket = newest
    }
    ctx.socket = socket
    socket[kInFlight] = ctx
  }

  /**
   * The context of a request whose onRequest never ran (a hook before ours
   * answered), made and watched now; one made by the `request.appfirewall`
   * getter in such a hook is watched now too.
   */
  function contextOf (request: FastifyRequest, reply: FastifyReply): RequestContext {
    const made = (request as RequestWithContext)[kContext]
    if (made !== null && made !== undefined) {
      if (made.request === undefined && !made.skipped) watch(made, request, reply)
      return made
    }
    const ctx = make(request)
    watch(ctx, request, reply)
    return ctx
  }

  function watchRaw (_req: IncomingMessage, res: ServerResponse): void {
    const watched = res as ServerResponse & Watched
    // Our hooks may have run first (something moved Fastify's listener ahead
    // of ours): the response is watched already.
    if (watched[kRawContext] !== undefined) return
    watched[kRawContext] = null
    res.prependListener('finish', onFinish)
  }

  // The response went out whole ('finish'; this = the raw response).
  function onFinish (this: Watched): void {
    const ctx = this[kRawContext]
    if (ctx === null) {
      finishUnseen(this as unknown as ServerResponse)
      return
    }
    if (ctx === undefined) return
    try {
      leaveSocket(ctx)
      if (ctx.finished || ctx.skipped) return
      const request = ctx.request as FastifyRequest
      // A client gone before the answer (an HTTP/2 stream reset mid-upload) still lets
      // Fastify finish its response into the void: say so.
      const aborted = (request.raw as { aborted?: boolean }).aborted === true
      const status = aborted ? endedStatus(request, ctx.response) : refusedStatus(request) ?? (this as unknown as RawResponse).statusCode
      ctx.aborted = aborted
      if ((status >= 400 && status < 500) || ctx.errorCode !== undefined) signalAtEnd(ctx, request, status)
      if (wildcards.unmarked && !ctx.wildcard && rootCatchAll(request)) ctx.wildcard = true
      finisher.finish(ctx, status, Date.now(), status === 404 || request.is404)
    } catch (err) {
      guard.error(err, 'onResponse')
    }
  }

  /**
   * A response that ended before any hook of ours saw its request: its
   * context made from the raw request now, a 404 if no route matches it
   * (skip cannot be asked: it takes the Fastify request).
   */
  function finishUnseen (res: ServerResponse): void {
    try {
      const req = res.req as IncomingMessage | undefined
      if (req === undefined) return
      const method = req.method ?? 'GET'
      const url = req.url ?? ''
      const ctx = contexts.make(method, url, req)
      ctx.response = res
      const status = res.statusCode
      const as404 = status === 404 || routeMissing(method, pathOf(url))
      // Answered by something before Fastify (a middleware's 401): on a route, still an auth signal.
      if (!as404 && (status === 401 || status === 403)) ctx.signal = 'auth'
      finisher.finish(ctx, status, Date.now(), as404)
    } catch (err) {
      guard.error(err, 'onResponse')
    }
  }

  /** The client went away before the response finished: the request ends as what it was told, or 499. */
  function abort (ctx: RequestContext): void {
    if (ctx.finished) return
    try {
      const request = ctx.request as FastifyRequest
      const status = endedStatus(request, ctx.response)
      ctx.aborted = refusedStatus(request) === undefined
      if ((status >= 400 && status < 500) || ctx.errorCode !== undefined) signalAtEnd(ctx, request, status)
      finisher.finish(ctx, status, Date.now(), request.is404 || status === 404)
    } catch (err) {
      guard.error(err, 'onRequestAbort')
    }
  }

  // An HTTP/2 stream closed (this = the raw response): unfinished, its client went away.
  function onResponseClose (this: Watched): void {
    const ctx = this[kRawContext]
    if (ctx !== undefined && ctx !== null) abort(ctx)
  }

  // An HTTP/1 connection closed (this = the socket): whatever was still in flight on it was aborted, oldest first.
  function onSocketClose (this: Socket): void {
    let ctx = this[kInFlight]
    this[kInFlight] = null
    if (ctx === null || ctx === undefined) return
    while (ctx.olderOnSocket !== undefined) ctx = ctx.olderOnSocket
    for (let next: RequestContext | undefined = ctx; next !== undefined;) {
      const current: RequestContext = next
      next = current.newerOnSocket
      current.socket = current.newerOnSocket = current.olderOnSocket = undefined
      abort(current)
    }
  }

  function onRequest (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void {
    let ctx: RequestContext | undefined
    try {
      // Only while a router-rejected request is open: ordinary traffic adds no property to the raw request.
      if (badUrlsOpen() > 0) (request.raw as IncomingMessage & { [kHooksSaw]?: boolean })[kHooksSaw] = true
      ctx = make(request)
      watch(ctx, request, reply)
      if (enforce && !ctx.skipped && (enforceAll || request.is404)) {
        const now = Date.now()
        const ms = finisher.blockedFor(ctx, now)
        if (ms > 0) {
          // Counted too, so that the window's count (and its carry) is the same as in shadow mode.
          if (request.is404 && classify404) finisher.count(ctx, now)
          ctx.blocked = true
          reply.code(429).header('retry-after', retryAfter(ms)).header('cache-control', 'no-store').send(refusal(ms))
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

  // A 404 from anywhere (the router's not-found handler, reply.callNotFound(),
  // a handler answering 404 itself), whatever a request headed for the
  // not-found handler is answered (an SPA's 200, a 400 for its bad body), and
  // a probe a wildcard route answered, is counted before it is sent: the hit that passes `max` is refused, as with
  // @fastify/rate-limit (N answered, the next refused), and so is every such
  // answer to a blocked client.
  function onSend (request: FastifyRequest, reply: FastifyReply, payload: unknown, done: (err: null, payload: unknown) => void): void {
    try {
      const ctx = contextOf(request, reply)
      // A probe answered by a wildcard route (an SPA's index.html) is refused like the 404 it stands for.
      const notFound = enforce && (reply.statusCode === 404 || request.is404)
      if (notFound || (enforce && ctx.wildcard)) {
        if (!ctx.skipped && !ctx.counted && !ctx.blocked) {
          const now = Date.now()
          const ms = !classify404 ? finisher.blockedFor(ctx, now) : notFound ? finisher.count(ctx, now) : finisher.countWildcard(ctx, now)
          if (ms > 0) {
            ctx.blocked = true
            // The 404 body is replaced: a stream must not be left open.
            if (typeof (payload as { destroy?: unknown } | null)?.destroy === 'function') (payload as { destroy: () => void }).destroy()
            // What described the 404's body (set by the app or an earlier onSend hook,
            // such as compression) does not describe the 429's.
            for (const name of REPRESENTATION) reply.removeHeader(name)
            reply.code(429).header('retry-after', retryAfter(ms)).header('cache-control', 'no-store').type('application/json; charset=utf-8')
            done(null, JSON.stringify(refusal(ms)))
            return
          }
        }
      }
    } catch (err) {
      guard.error(err, 'onSend')
    }
    done(null, payload)
  }

  // Fastify runs it for an error only, before the error handler, with the error as raised.
  function onError (request: FastifyRequest, reply: FastifyReply, error: unknown, done: () => void): void {
    try {
      const ctx = contextOf(request, reply)
      if (!ctx.skipped) signalFromError(ctx, request, error)
    } catch (err) {
      guard.error(err, 'onError')
    }
    done()
  }

  // Route-level hooks run after every instance-level one, ours included: the context is made.
  function onWildcardRoute (request: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction): void {
    const ctx = (request as RequestWithContext)[kContext]
    if (ctx !== null && ctx !== undefined) ctx.wildcard = true
    done()
  }

  return { onRequest, preHandler, onSend, onError, onWildcardRoute, watchRaw }
}

/** A GET or HEAD whose `*` param is its whole path: answered by a root catch-all the plugin never saw registered. */
function rootCatchAll (request: FastifyRequest): boolean {
  const rest = (request.params as Record<string, unknown> | undefined)?.['*']
  if (typeof rest !== 'string' || (request.method !== 'GET' && request.method !== 'HEAD')) return false
  const url = request.url
  const q = url.indexOf('?')
  return (q === -1 ? url.length : q) === rest.length + 1
}

/** Takes an ended request off its socket's list of requests in flight. */
function leaveSocket (ctx: RequestContext): void {
  const socket = ctx.socket as Socket | undefined
  if (socket === undefined) return
  const older = ctx.olderOnSocket
  const newer = ctx.newerOnSocket
  if (older !== undefined) older.newerOnSocket = newer
  if (newer !== undefined) newer.olderOnSocket = older
  else socket[kInFlight] = older ?? null
  ctx.socket = ctx.newerOnSocket = ctx.olderOnSocket = undefined
}

/** Headers that describe a response's body, removed when a 404 becomes the 429. */
const REPRESENTATION = ['content-length', 'content-encoding', 'content-range', 'content-disposition', 'content-language',
  'content-location', 'etag', 'last-modified', 'expires', 'vary', 'cache-control', 'transfer-encoding']

/** The status Node's parser gave a request it refused after Fastify had it (a malformed body, a timeout). */
function refusedStatus (request: FastifyRequest): number | undefined {
  return (request.raw as { [kRefusedStatus]?: number })[kRefusedStatus]
}

/**
 * What a request that ended without its response was told: the status Node
 * refused it with; else the response's, if its head really went out (not
 * merely queued behind a pipelined response) for a request the client had
 * finished sending; else nginx's 499.
 */
function endedStatus (request: FastifyRequest, res: RawResponse | undefined): number {
  const refused = refusedStatus(request)
  if (refused !== undefined) return refused
  if (res === undefined || (request.raw as { complete?: boolean }).complete === false) return CLIENT_CLOSED
  const onWire = typeof res._headerSent === 'boolean' ? res._headerSent : res.headersSent
  return onWire ? res.statusCode : CLIENT_CLOSED
}

/** Retry-After in whole seconds, at least 1. */
function retryAfter (ms: number): string {
  return String(Math.max(1, Math.ceil(ms / 1000)))
}

/** A body shaped like @fastify/rate-limit's. */
function refusal (ms: number): { statusCode: number, error: string, message: string } {
  return { statusCode: 429, error: 'Too Many Requests', message: `Rate limit exceeded, retry in ${retryAfter(ms)} seconds` }
}
