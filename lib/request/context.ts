// The per-request object behind `request.appfirewall`, and the module-level
// record() that finds it through AsyncLocalStorage.
import { AsyncLocalStorage } from 'node:async_hooks'
import type { EventSource } from '../events/line'
import type { AppFirewallRequest, Classification, EventFields } from '../types'
import type { Guard } from '../guard'
import type { ClientReader, RawRequest } from './client'

/** What turns a record() call into a queued `custom` event (one per registration). */
export interface CustomRecorder {
  recordCustom: (ctx: RequestContext, name: unknown, fields: unknown) => void
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
  wouldBlock = false
  blocked = false
  /** skip(request) said to leave this request alone. */
  skipped = false
  /** Limiter key (IPv4, or IPv6 /64), computed on first need. */
  key: string | undefined = undefined
  /** Allow-listed: never counted nor blocked. */
  uncounted = false

  constructor (
    readonly recorder: CustomRecorder | undefined,
    readonly method: string,
    readonly url: string
  ) {}

  record (event: string, fields?: EventFields): void {
    // Detached calls (`const { record } = request.appfirewall`) lose `this`:
    // fall back to the request bound to the current async context.
    const ctx = this instanceof RequestContext ? this : storage.getStore()
    if (ctx?.recorder !== undefined) ctx.recorder.recordCustom(ctx, event, fields)
  }
}

/**
 * Records an app-layer event (e.g. `auth.login_failed`) on the request that is
 * being handled, from any depth of its call stack. Outside a request it does
 * nothing. Synchronous; never throws, never blocks.
 */
export function record (event: string, fields?: EventFields): void {
  const ctx = storage.getStore()
  if (ctx?.recorder !== undefined) ctx.recorder.recordCustom(ctx, event, fields)
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
