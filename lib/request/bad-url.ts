// Fastify answers a malformed percent-encoding (`/%c0%ae%c0%ae/etc/passwd`,
// `/%%%`) with 400 before any hook runs. Such URLs are probes more often than
// not, so they are caught from the server's own 'request' event (DESIGN.md,
// "404 classification"). Ordinary requests pay one indexOf('%'): only URLs
// whose path fails to decode get any work.
import type { IncomingMessage, ServerResponse } from 'node:http'
import { classifyPathVerdict } from '../classify/classify'
import { httpRequestLine } from '../events/line'
import type { Guard } from '../guard'
import type { Sink } from '../ship'
import { kHooksSaw } from '../symbols'
import type { ContextFactory } from './context'

interface ServerLike {
  prependListener: (event: 'request', listener: (req: IncomingMessage, res: ServerResponse) => void) => unknown
  removeListener: (event: 'request', listener: (req: IncomingMessage, res: ServerResponse) => void) => unknown
}

export interface BadUrlParts {
  contexts: ContextFactory
  sink: Sink
  guard: Guard
  envSuffix: string
}

/** Listens on `server` for requests whose path fails to decode and records each when its response closes. */
export class BadUrlCapture {
  /** Requests that failed to decode and whose response has not closed yet. */
  open = 0
  private readonly server: ServerLike | undefined

  constructor (server: unknown, private readonly parts: BadUrlParts) {
    // app.inject() has no server 'request' event: there is nothing to listen to.
    const s = server as Partial<ServerLike> | undefined
    this.server = typeof s?.prependListener === 'function' ? s as ServerLike : undefined
    this.server?.prependListener('request', this.onRawRequest)
  }

  stop (): void {
    this.server?.removeListener('request', this.onRawRequest)
  }

  private readonly onRawRequest = (req: IncomingMessage, res: ServerResponse): void => {
    try {
      const url = req.url
      if (url === undefined || url.indexOf('%') === -1) return
      const q = url.indexOf('?')
      try {
        decodeURIComponent(q === -1 ? url : url.slice(0, q))
        return
      } catch {}
      this.open++
      // 'close' fires in every case (finished or aborted), so the count cannot leak.
      res.once('close', () => {
        this.open--
        this.record(req, res, url)
      })
    } catch (err) {
      this.parts.guard.error(err, 'bad-url')
    }
  }

  private record (req: IncomingMessage, res: ServerResponse, url: string): void {
    try {
      if ((req as IncomingMessage & { [kHooksSaw]?: boolean })[kHooksSaw] === true) return // our hooks saw it after all
      const ctx = this.parts.contexts.make(req.method ?? 'GET', url, req)
      const verdict = classifyPathVerdict(url)
      ctx.classification = verdict.classification
      ctx.rule = verdict.rule
      this.parts.sink.push(httpRequestLine(ctx, res.statusCode, Date.now(), this.parts.envSuffix))
    } catch (err) {
      this.parts.guard.error(err, 'bad-url')
    }
  }
}
