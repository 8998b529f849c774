// Requests answered before any Fastify hook runs, caught from the server's own
// events so that they still leave an event and count like a 404 probe
// (DESIGN.md, "404 classification"):
// - Fastify's router answers a malformed percent-encoding (400) and a
//   parameter longer than maxParamLength (414): seen on 'request'. Ordinary
//   requests pay one indexOf('%') and a length test; only such a URL gets any
//   work. Its client is read on arrival (over HTTP/2 the peer is gone once
//   the stream closed) and it ends when its response closes.
// - Node's parser refuses bytes that make no request (a space in the target,
//   a bad header, headers too large, a timeout): seen on 'clientError',
//   listened to first, while the socket still has its peer.
// - Node drops a request past maxRequestsPerSocket (503): 'dropRequest'.
// - A CONNECT (an open-proxy probe: `CONNECT example.com:443`) reaches no
//   route: with no 'connect' listener Node destroys its socket unanswered.
//   'connect' is listened to here, and when no listener of the app's is
//   there, the request is recorded (status 444, nginx's "closed without an
//   answer") and its socket destroyed, as Node would have.
import type { FastifyInstance } from 'fastify'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Guard } from '../guard'
import { kHooksSaw, kInFlight, kRefusedStatus, kUserAgent } from '../symbols'
import type { ContextFactory } from './context'
import type { Finisher } from './finish'
import { readRawHead } from './raw-head'

type RequestListener = (req: IncomingMessage, res: ServerResponse) => void

/** The socket of a 'clientError', as node:http hands it over (its internals read defensively). */
interface ErrorSocket {
  remoteAddress?: string
  destroyed?: boolean
  bytesRead?: number
  /** node:http: the response of the request in progress on this socket, if any. */
  _httpMessage?: { req?: IncomingMessage & { complete?: boolean } } | null
}
type ClientError = Error & { code?: string, rawPacket?: unknown, bytesParsed?: number }

interface ServerLike {
  prependListener: (event: string, listener: (...args: any[]) => void) => unknown
  removeListener: (event: string, listener: (...args: any[]) => void) => unknown
  listenerCount: (event: string) => number
}

/** nginx's status for a connection it closed without an answer: what a CONNECT nobody serves gets. */
export const CLOSED_UNANSWERED = 444

export interface RefusedParts {
  contexts: ContextFactory
  finisher: Finisher
  guard: Guard
  /** Fastify's maxParamLength: a path shorter than this cannot get the router's 414. */
  maxParamLength: number
  /** Every other request, before Fastify has it: its end is watched from here (request/hooks.ts). */
  watchRaw: RequestListener
}

/**
 * The status Fastify's default clientErrorHandler sends for a parser error
 * (fastify.js, defaultClientErrorHandler); an app with its own handler may
 * send another, which the event does not see.
 */
export function clientErrorStatus (code: string | undefined): number {
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return 408
  if (code === 'HPE_HEADER_OVERFLOW') return 431
  return 400
}

/**
 * The properties the plugin keeps on a connection, added when it opens,
 * together and in one order, with the values that mean "nothing yet". Added
 * later (at its first request, one after the other), they gave every
 * connection a second and third shape for Node's own per-request code to
 * see beside the first. Measured: about -0.8k instructions a request in one
 * A/B, near the run-to-run noise (benchmarks/RESULTS.md).
 */
function onConnection (socket: { [kInFlight]?: unknown, [kUserAgent]?: unknown }): void {
  socket[kUserAgent] = undefined
  socket[kInFlight] = undefined
}

export class RefusedRequests {
  /** Router-refused requests whose response has not closed yet. */
  open = 0
  private readonly server: ServerLike | undefined

  constructor (server: unknown, private readonly parts: RefusedParts) {
    // app.inject() has no server events: there is nothing to listen to.
    const s = server as Partial<ServerLike> | undefined
    this.server = typeof s?.prependListener === 'function' && typeof s.removeListener === 'function' && typeof s.listenerCount === 'function' ? s as ServerLike : undefined
    this.server?.prependListener('request', this.onRawRequest)
    this.server?.prependListener('clientError', this.onClientError)
    this.server?.prependListener('dropRequest', this.onDropRequest)
    this.server?.prependListener('connection', onConnection)
    this.server?.prependListener('connect', this.onConnect)
  }

  stop (): void {
    this.server?.removeListener('request', this.onRawRequest)
    this.server?.removeListener('clientError', this.onClientError)
    this.server?.removeListener('dropRequest', this.onDropRequest)
    this.server?.removeListener('connection', onConnection)
    this.server?.removeListener('connect', this.onConnect)
  }

  /** A URL Fastify's router answers itself, before any hook. */
  private routerRefuses (url: string): boolean {
    const q = url.indexOf('?')
    const path = q === -1 ? url : url.slice(0, q)
    if (path.length > this.parts.maxParamLength) return true
    if (path.indexOf('%') === -1) return false
    try {
      decodeURIComponent(path)
      return false
    } catch {
      return true
    }
  }

  private readonly onRawRequest: RequestListener = (req, res) => {
    try {
      const url = req.url
      if (url === undefined || (url.length <= this.parts.maxParamLength && url.indexOf('%') === -1) || !this.routerRefuses(url)) {
        this.parts.watchRaw(req, res)
        return
      }
      const ctx = this.parts.contexts.make(req.method ?? 'GET', url, req)
      this.open++
      // 'close' fires in every case (finished or aborted), so the count cannot leak.
      res.once('close', () => {
        this.open--
        try {
          if ((req as IncomingMessage & { [kHooksSaw]?: boolean })[kHooksSaw] === true) return // our hooks saw it after all
          ctx.aborted = !res.writableFinished
          this.parts.finisher.finish(ctx, res.statusCode, Date.now(), true)
        } catch (err) {
          this.parts.guard.error(err, 'refused')
        }
      })
    } catch (err) {
      this.parts.guard.error(err, 'refused')
    }
  }

  private readonly onClientError = (err: ClientError, socket: ErrorSocket): void => {
    try {
      // A reset or an already closed socket: nothing was refused, nothing was answered.
      if (err?.code === 'ECONNRESET' || socket?.destroyed === true) return
      const status = clientErrorStatus(err?.code)
      // A request whose head Node already handed to Fastify and whose body is
      // still coming (a malformed chunked body, a slow upload timing out) is
      // that request's own event: note what the client is told, once.
      const active = socket?._httpMessage?.req
      if (active !== undefined && active.complete === false) {
        // The client closed its side before its body was all sent: it went
        // away (the close of its connection records the 499), it was refused nothing.
        if (err?.code === 'HPE_INVALID_EOF_STATE') return
        (active as IncomingMessage & { [kRefusedStatus]?: number })[kRefusedStatus] = status
        return
      }
      // The packet is the chunk Node was parsing, not the whole request: it
      // is read only when it is all this connection ever sent and the failure
      // lies in its first head. Anything else (a head split over several
      // segments, a request behind a pipelined one, a body) is not read: the
      // event then has the peer and the status only, and is not counted.
      const packet = err?.rawPacket
      const whole = Buffer.isBuffer(packet) && socket?.bytesRead === packet.length && active === undefined
      const head = whole ? readRawHead(packet, err.bytesParsed) : undefined
      const ctx = this.parts.contexts.make(head?.method ?? '', head?.target ?? '', { headers: head?.headers ?? {}, socket })
      if (head === undefined) ctx.uncounted = true
      this.parts.finisher.finish(ctx, status, Date.now(), head !== undefined)
    } catch (e) {
      this.parts.guard.error(e, 'refused')
    }
  }

  // A CONNECT request: an app that proxies has its own listener and its own
  // answer (left alone); otherwise nobody serves it, and its socket is
  // destroyed here as Node destroys it when nobody listens.
  private readonly onConnect = (req: IncomingMessage, socket: { destroy: () => void }): void => {
    if ((this.server?.listenerCount('connect') ?? 0) > 1) return
    try {
      const ctx = this.parts.contexts.make(req.method ?? 'CONNECT', req.url ?? '', req)
      this.parts.finisher.finish(ctx, CLOSED_UNANSWERED, Date.now(), true)
    } catch (err) {
      this.parts.guard.error(err, 'refused')
    } finally {
      socket.destroy()
    }
  }

  // Node answers 503 itself past maxRequestsPerSocket; the request never reaches Fastify.
  private readonly onDropRequest = (req: IncomingMessage): void => {
    try {
      const ctx = this.parts.contexts.make(req.method ?? 'GET', req.url ?? '', req)
      this.parts.finisher.finish(ctx, 503, Date.now(), true)
    } catch (err) {
      this.parts.guard.error(err, 'refused')
    }
  }
}

/**
 * The router's maxParamLength, past which it answers 414: Fastify 5's
 * `routerOptions.maxParamLength`, else the deprecated top-level option, else
 * find-my-way's default (100).
 */
export function routerMaxParamLength (fastify: FastifyInstance): number {
  const config = fastify.initialConfig as { routerOptions?: { maxParamLength?: number }, maxParamLength?: number }
  return config.routerOptions?.maxParamLength ?? config.maxParamLength ?? 100
}
