// The four calls of Cloudflare's Lists API the edge sync makes, through the
// official `cloudflare` client (an optional peer dependency, required only
// when edge sync is configured), with its failures sorted into what the
// sync does about them. The client's own retries are off (`maxRetries: 0`):
// the sync paces, retries and backs off itself, so that a retry never
// overlaps a pending bulk operation and never runs past close().

import { FST_APPFIREWALL_INVALID_OPTIONS } from '../errors'

/** One item to add: an IPv4 address or an IPv6 prefix (`2001:db8:1:2::/64`), and its comment (at most 500 characters). */
export interface NewListItem {
  ip: string
  comment: string
}

/** An item of the list as Cloudflare holds it. */
export interface ListedItem {
  id: string
  ip: string
  comment: string
}

/** Status of a bulk operation: `pending` and `running` are still under way. */
export interface OperationStatus {
  status: 'pending' | 'running' | 'completed' | 'failed' | 'unknown'
  /** Cloudflare's reason for a failed operation. */
  error?: string
}

/** What the sync does about a failed call: wait (429), retry with backoff (5xx, network, timeout) or stop and warn (400, 401, 403, 404). */
export type CallFailure = 'rate-limited' | 'retry' | 'config' | 'aborted'

/** A failed Lists API call, sorted. `retryAfterMs` comes from `Retry-After` (seconds or an HTTP date) on a 429. */
export class EdgeCallError extends Error {
  constructor (message: string, readonly kind: CallFailure, readonly status: number | undefined, readonly retryAfterMs: number | undefined) {
    super(message)
    this.name = 'EdgeCallError'
  }
}

/** The Lists API calls of one account list. Each rejects with an EdgeCallError only. */
export interface ListApi {
  /** POST items: the bulk operation's id. */
  add: (items: readonly NewListItem[], signal: AbortSignal) => Promise<string>
  /** DELETE items by id: the bulk operation's id. */
  remove: (ids: readonly string[], signal: AbortSignal) => Promise<string>
  /** GET a bulk operation's status. */
  operation: (id: string, signal: AbortSignal) => Promise<OperationStatus>
  /** GET one page of the list's items (`cursor` from the page before); `next` is undefined on the last page. */
  page: (cursor: string | undefined, perPage: number, signal: AbortSignal) => Promise<{ items: ListedItem[], next: string | undefined }>
}

export interface ListApiConfig {
  accountId: string
  listId: string
  apiToken: string
  /** API base, `https://api.cloudflare.com/client/v4` unless a test or a gateway says otherwise. */
  baseUrl: string
  /** Longest wait for one call's answer, in ms. */
  timeoutMs: number
}

// The parts of the client used here, typed structurally so that the package's
// types never reach ours (it is an optional peer: a user without it must
// still compile against our .d.ts).
interface Envelope<T> { result?: T, result_info?: { cursors?: { after?: string } } }
interface Page { result?: unknown[], result_info?: { cursors?: { after?: string } } }
interface ClientLike {
  rules: {
    lists: {
      items: {
        create: (listId: string, params: { account_id: string, body: NewListItem[] }, opts: { signal: AbortSignal }) => Promise<{ operation_id?: unknown }>
        delete: (listId: string, params: { account_id: string, items: Array<{ id: string }> }, opts: { signal: AbortSignal }) => Promise<{ operation_id?: unknown }>
        list: (listId: string, params: { account_id: string, per_page: number, cursor?: string }, opts: { signal: AbortSignal }) => Promise<Page> & Envelope<unknown>
      }
      bulkOperations: {
        get: (id: string, params: { account_id: string }, opts: { signal: AbortSignal }) => Promise<{ status?: unknown, error?: unknown }>
      }
    }
  }
}
type ClientConstructor = new (opts: Record<string, unknown>) => ClientLike

let loaded: ClientConstructor | undefined

/**
 * The `cloudflare` package's client class, required on first use (about
 * 0.3 s and 36 MB of RSS on Node 24, paid only by apps that configure edge
 * sync). Throws FST_APPFIREWALL_INVALID_OPTIONS naming the package when it cannot be loaded.
 */
export function loadCloudflareClient (): ClientConstructor {
  if (loaded !== undefined) return loaded
  let mod: unknown
  try {
    mod = require('cloudflare')
  } catch (err) {
    throw new FST_APPFIREWALL_INVALID_OPTIONS(`"edge" needs the optional peer dependency "cloudflare" (npm install cloudflare), which could not be loaded: ${String((err as Error)?.message ?? err).split('\n')[0]}`)
  }
  const ctor = (mod as { default?: unknown }).default ?? mod
  if (typeof ctor !== 'function') throw new FST_APPFIREWALL_INVALID_OPTIONS('"edge" needs the "cloudflare" package, whose export is not its client class')
  loaded = ctor as ClientConstructor
  return loaded
}

/** The Lists API of `config`'s list through the official client. */
export function cloudflareListApi (config: ListApiConfig, Client: ClientConstructor = loadCloudflareClient()): ListApi {
  const client = new Client({
    apiToken: config.apiToken,
    baseURL: config.baseUrl,
    maxRetries: 0,
    timeout: config.timeoutMs,
    // The sync reports through the app's logger; the client would print to the console.
    logLevel: 'off'
  })
  const items = client.rules.lists.items
  const account = config.accountId
  const list = config.listId
  return {
    add: async (batch, signal) => operationId(await call(() => items.create(list, { account_id: account, body: batch.slice() }, { signal }))),
    remove: async (ids, signal) => operationId(await call(() => items.delete(list, { account_id: account, items: ids.map((id) => ({ id })) }, { signal }))),
    operation: async (id, signal) => {
      const op = await call(() => client.rules.lists.bulkOperations.get(id, { account_id: account }, { signal }))
      const status = op?.status
      const known = status === 'pending' || status === 'running' || status === 'completed' || status === 'failed'
      const out: OperationStatus = { status: known ? status : 'unknown' }
      if (typeof op?.error === 'string') out.error = op.error.slice(0, 300)
      return out
    },
    page: async (cursor, perPage, signal) => {
      const params: { account_id: string, per_page: number, cursor?: string } = { account_id: account, per_page: perPage }
      if (cursor !== undefined) params.cursor = cursor
      const page = await call(async () => await items.list(list, params, { signal }))
      const out: ListedItem[] = []
      for (const it of Array.isArray(page?.result) ? page.result : []) {
        const item = it as { id?: unknown, ip?: unknown, comment?: unknown }
        if (typeof item?.id === 'string' && typeof item.ip === 'string') {
          out.push({ id: item.id, ip: item.ip, comment: typeof item.comment === 'string' ? item.comment : '' })
        }
      }
      const after = page?.result_info?.cursors?.after
      return { items: out, next: typeof after === 'string' && after !== '' ? after : undefined }
    }
  }
}

function operationId (res: { operation_id?: unknown } | undefined): string {
  const id = res?.operation_id
  if (typeof id !== 'string' || id === '') throw new EdgeCallError('Cloudflare answered without an operation_id', 'retry', undefined, undefined)
  return id
}

async function call<T> (fn: () => Promise<T>): Promise<T> {
  try {
    return await fn()
  } catch (err) {
    throw sortFailure(err)
  }
}

// Statuses that no retry mends: a bad request, a token without the right
// permission, an account or list that does not exist.
const CONFIG_STATUSES = new Set([400, 401, 403, 404, 405, 413, 422])

/** An error of the client (APIError and its kin: `status`, `headers`, `errors`) as an EdgeCallError. */
export function sortFailure (err: unknown): EdgeCallError {
  if (err instanceof EdgeCallError) return err
  const e = err as { name?: unknown, status?: unknown, headers?: unknown, errors?: unknown, message?: unknown } | null
  const status = typeof e?.status === 'number' ? e.status : undefined
  const detail = describeErrors(e?.errors) ?? (typeof e?.message === 'string' ? e.message.slice(0, 300) : String(err))
  if (e?.name === 'APIUserAbortError' || e?.name === 'AbortError') return new EdgeCallError('aborted', 'aborted', undefined, undefined)
  if (status === 429) return new EdgeCallError(`429: ${detail}`, 'rate-limited', 429, retryAfter(e?.headers))
  if (status !== undefined && CONFIG_STATUSES.has(status)) return new EdgeCallError(`${status}: ${detail}`, 'config', status, undefined)
  // 5xx, 408, 409 (a conflicting change), no answer at all (network, timeout): worth another try.
  return new EdgeCallError(status === undefined ? detail : `${status}: ${detail}`, 'retry', status, undefined)
}

/** Cloudflare's `errors: [{ code, message }]`, as one short line. */
function describeErrors (errors: unknown): string | undefined {
  if (!Array.isArray(errors) || errors.length === 0) return undefined
  return errors.slice(0, 3).map((x: { code?: unknown, message?: unknown }) =>
    `${typeof x?.code === 'number' ? `${x.code} ` : ''}${typeof x?.message === 'string' ? x.message : ''}`.trim()).join('; ').slice(0, 300)
}

/** `Retry-After` in ms (RFC 9110 §10.2.3: delay-seconds or an HTTP date); undefined when absent or unreadable. */
export function retryAfter (headers: unknown, now = Date.now()): number | undefined {
  let v: unknown
  try {
    const h = headers as { get?: (name: string) => unknown } | Record<string, unknown> | undefined
    v = typeof (h as { get?: unknown })?.get === 'function' ? (h as { get: (n: string) => unknown }).get('retry-after') : (h as Record<string, unknown> | undefined)?.['retry-after']
  } catch {
    return undefined
  }
  if (typeof v !== 'string' || v === '') return undefined
  if (/^\d{1,9}$/.test(v.trim())) return Number(v.trim()) * 1000
  const at = Date.parse(v)
  return Number.isFinite(at) ? Math.max(0, at - now) : undefined
}
