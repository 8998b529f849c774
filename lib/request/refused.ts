// Requests answered before any Fastify hook runs, caught from the server's own
// events so that they still leave an event and count like a 404 probe
// (DESIGN.md, "404 classification"):
// - Fastify's router answers a malformed percent-encoding
//   (`/%c0%ae%c0%ae/etc/passwd`, `/%%%`) with 400: seen on 'request'.
//   Ordinary requests pay one indexOf('%'); only a path that fails to decode
//   gets any work. Its client is read on arrival (over HTTP/2 the peer is
//   gone once the stream closed) and it ends when its response closes.
// - Node's parser refuses a request (a space in the target, headers too
//   large, a bad byte) and never makes one: seen on 'clientError', which is
//   listened to first, while the socket still has its peer.
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Guard } from '../guard'
import { kHooksSaw } from '../symbols'
import type { ContextFactory } from './context'
import type { Finisher } from './finish'
import { readRawHead } from './raw-head'

type RequestListener = (req: IncomingMessage, res: ServerResponse) => void
type ClientErrorListener = (err: Error & { code?: string, rawPacket?: unknown }, socket: { remoteAddress?: string, destroyed?: boolean }) => void

interface ServerLike {
  prependListener: (event: string, listener: (...args: any[]) => void) => unknown
  removeListener: (event: string, listener: (...args: any[]) => void) => unknown
}

export interface RefusedParts {
  contexts: ContextFactory
  finisher: Finisher
  guard: Guard
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

export class RefusedRequests {
  /** Router-rejected requests whose response has not closed yet. */
  open = 0
  private readonly server: ServerLike | undefined

  constructor (server: unknown, private readonly parts: RefusedParts) {
    // app.inject() has no server events: there is nothing to listen to.
    const s = server as Partial<ServerLike> | undefined
    this.server = typeof s?.prependListener === 'function' && typeof s.removeListener === 'function' ? s as ServerLike : undefined
    this.server?.prependListener('request', this.onRawRequest)
    this.server?.prependListener('clientError', this.onClientError)
  }

  stop (): void {
    this.server?.removeListener('request', this.onRawRequest)
    this.server?.removeListener('clientError', this.onClientError)
  }

  private readonly onRawRequest: RequestListener = (req, res) => {
    try {
      const url = req.url
      if (url === undefined || url.indexOf('%') === -1) return
      const q = url.indexOf('?')
      try {
        decodeURIComponent(q === -1 ? url : url.slice(0, q))
        return
      } catch {}
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

  private readonly onClientError: ClientErrorListener = (err, socket) => {
    try {
      // A reset or an already closed socket: nothing was refused, nothing was answered.
      if (err?.code === 'ECONNRESET' || socket?.destroyed === true) return
      const head = readRawHead(err?.rawPacket)
      if (head === undefined) return
      const ctx = this.parts.contexts.make(head.method, head.target, { headers: head.headers, socket })
      this.parts.finisher.finish(ctx, clientErrorStatus(err.code), Date.now(), true)
    } catch (e) {
      this.parts.guard.error(e, 'refused')
    }
  }
}
