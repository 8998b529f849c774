// The per-request object behind `request.appfirewall`, and the module-level
// record() that finds it through AsyncLocalStorage.
import { AsyncLocalStorage } from 'node:async_hooks'
import type { FastifyRequest } from 'fastify'
import type { EventSource } from '../events/line'
import type { AppFirewallRequest, Classification, EventFields } from '../types'
import type { Guard } from '../guard'
import { unattributed } from '../counters'
import type { ClientReader, RawRequest } from './client'

/** What the plugin reads of a raw response (node:http's ServerResponse, or HTTP/2's compatibility one). */
export interface RawResponse {
  readonly headersSent: boolean
  readonly statusCode: number
  /** True once the response was completely handed to the OS ('finish'). */
  readonly writableFinished?: boolean
  /** node:http only: the head is really on the wire (not just queued behind a pipelined response). */
  readonly _headerSent?: boolean
}

/** What turns a record() call into a queued `custom` event (one per registration). */
export interface CustomRecorder {
  recordCustom: (ctx: RequestContext, name: unknown, fields: unknown) => void
  /** A module-level record() reached this request after its response: not attributed, only counted. */
  recordedLate: () => void
}

export const storage = new AsyncLocalStorage<RequestContext>()

/**
 * One per request. A class (not an object literal) so every context has the
 * same hidden class and record() lives on the prototype: no closure per
 * request. In `off` mode `recorder` is undefined and record() does nothing.
 */
export class RequestContext implements EventSource, AppFirewallRequest {
  ip = '0.0.0.0'
  uaJson: string | undefined = undefined
  referer: string | undefined = undefined
  cfCountry: string | undefined = undefined
  cfRay: string | undefined = undefined
  cfAsn: string | undefined = undefined
  via: string | undefined = undefined
  classification: Classification | undefined = undefined
  rule: string | undefined = undefined
  uaClass: string | undefined = undefined
  /** The user agent calls itself a crawler (lib/classify/user-agent.ts). */
  crawler = false
  /** A scanner verdict of a family whose probes no legitimate client sends (lib/classify/patterns.ts). */
  certain = false
  /** An app-layer signal the request raised: `"validation"`, `"parse"` or `"auth"` (request/hooks.ts). */
  signal: string | undefined = undefined
  /** Fastify's (or an auth plugin's) error code behind `signal`, e.g. `FST_ERR_VALIDATION`. */
  errorCode: string | undefined = undefined
  /** Answered by a wildcard route (an SPA fallback): its path is still classified, like a 404's. */
  wildcard = false
  wouldBlock = false
  blocked = false
  /** skip(request) said to leave this request alone. */
  skipped = false
  /** Limiter key (IPv4, or IPv6 /64), computed on first need. */
  key: string | undefined = undefined
  /** Allow-listed, or a claim nobody vouches for (a Worker subrequest): never counted nor blocked. */
  uncounted = false
  /** Classified and counted by the limiter already (enforcement counts before the response). */
  counted = false
  /** The client went away before the response finished. */
  aborted = false
  /** The raw response: what an aborted request was told, and whether it was sent (unset for a context made late). */
  response: RawResponse | undefined = undefined
  /** Its event was built: later module-level record() calls are not attributed to it. */
  finished = false
  /** The Fastify request, once its end is watched (request/hooks.ts): whether it was a 404 is known only at the end. */
  request: FastifyRequest | undefined = undefined
  /** HTTP/1: the socket it is in flight on, and its neighbours there (pipelined requests), while its response is unfinished. */
  socket: object | undefined = undefined
  newerOnSocket: RequestContext | undefined = undefined
  olderOnSocket: RequestContext | undefined = undefined

  constructor (
    readonly recorder: CustomRecorder | undefined,
    readonly method: string,
    readonly url: string
  ) {}

  record (event: string, fields?: EventFields): void {
    // Called on the request itself, it is attributed whenever it runs: the
    // app names the request. Detached (`const { record } = request.appfirewall`)
    // it has no `this` and works like the module-level record().
    if (this instanceof RequestContext) {
      if (this.recorder !== undefined) this.recorder.recordCustom(this, event, fields)
      return
    }
    record(event, fields)
  }
}

/**
 * Records an app-layer event (e.g. `auth.login_failed`) on the request that is
 * being handled, from any depth of its call stack. Outside a request it does
 * nothing. Synchronous; never throws, never blocks.
 */
export function record (event: string, fields?: EventFields): void {
  const ctx = storage.getStore()
  if (ctx === undefined) {
    unattributed.outsideRequest++
    return
  }
  const recorder = ctx.recorder
  if (recorder === undefined) return
  // A timer or job started by the request still carries its context: once
  // the response is sent it must not go on speaking with this visitor's IP.
  if (ctx.finished || ctx.response?.writableFinished === true) recorder.recordedLate()
  else recorder.recordCustom(ctx, event, fields)
}

/** Makes the context of a request, its client already read; one per registration. */
export class ContextFactory {
  constructor (
    private readonly recorder: CustomRecorder | undefined,
    private readonly client: ClientReader,
    private readonly guard: Guard
  ) {}

  /** Never throws: a failure to read the client leaves the context with the unknown IP (never counted). */
  make (method: string, url: string, raw: RawRequest): RequestContext {
    const ctx = new RequestContext(this.recorder, method, url)
    try {
      this.guard.fault('ip')
      this.client.read(ctx, raw)
    } catch (err) {
      this.guard.error(err, 'ip')
    }
    return ctx
  }
}
