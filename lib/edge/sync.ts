// The edge sync: blocks of the limiter become items of a Cloudflare IP list,
// and leave it when they end. The request path only ever calls offer() (a
// Map write, no I/O); everything else runs in one loop of rounds on unref'd
// timers, one Lists API call at a time, so that no two bulk operations are
// ever pending at once and Cloudflare's rate limits are kept by construction.
import type { PluginLog } from '../guard'
import { backoffDelay } from '../ship/backoff'
import { timerDelay } from '../timer-delay'
import { EdgeCallError, sortFailure, type ListApi, type NewListItem } from './cloudflare-api'
import type { Coordinator, Listed, PendingOp, Want } from './coordinator'

/** Counters of the edge sync (`stats().edge`). Every block offered is listed, skipped or dropped, or still waiting. */
export interface EdgeSyncStats {
  /** This instance is the one that syncs (always true without a shared store). */
  leader: boolean
  /** Blocks offered by this instance's limiter. */
  offered: number
  /** Offers waiting to be handed to the coordinator (at most MAX_OFFERS). */
  queued: number
  /** Offers dropped because MAX_OFFERS were waiting (the coordinator was unreachable meanwhile). */
  dropped: number
  /** Keys this instance, as leader, holds as listed. */
  listed: number
  /** Items added to the list (completed operations). */
  added: number
  /** Items removed from the list (completed operations, or found gone). */
  removed: number
  /** Blocks not listed because `maxItems` keys were listed. */
  skippedFull: number
  /** Lists API calls made. */
  requests: number
  /** Answers 429 (then waited for, as `Retry-After` says). */
  rateLimited: number
  /** Calls retried after a 5xx, a timeout or a network error. */
  retries: number
  /** Rounds that ended on an error (calls that kept failing, the coordinator unreachable). */
  errors: number
  /** Answers 400, 401, 403 or 404: a wrong token, account or list. Each status is logged once; the sync then pauses. */
  configErrors: number
  /** Bulk operations that ended `failed` (the list full, an item refused). */
  failedOperations: number
  /** Status of the last Lists API answer, or null. */
  lastStatus: number | null
  /** RFC 3339 time of the last round that completed, or null. */
  lastSyncAt: string | null
}

export interface EdgeSyncOptions {
  api: ListApi
  coordinator: Coordinator
  /** Most keys listed by this sync at once. */
  maxItems: number
  /** Time between rounds (ms): blocks are batched for this long. */
  intervalMs: number
  /** Shortest time an IP stays listed (ms), whatever its block's length. */
  minListedMs: number
  /** Classes whose blocks are listed; undefined: all. */
  classes: ReadonlySet<string> | undefined
  log: PluginLog
  /** Shortest gap between two Lists API calls (ms). Default 1000: at most 300 calls in 5 minutes, a quarter of Cloudflare's 1200. */
  callGapMs?: number
  /** First wait before polling a bulk operation again (ms), doubling up to ten times this. Default 500. */
  pollMs?: number
  /** Longest time a bulk operation is polled before the round gives up on it (ms; the next round resumes it). */
  operationWaitMs?: number
  /** How long the lease of a shared coordinator lasts (ms): it is renewed before any call once a third of it has passed. */
  leaseMs?: number
  /** Wall clock, for tests. */
  now?: () => number
}

/** Offers held while the coordinator cannot take them: beyond this, new blocks are dropped (counted). */
export const MAX_OFFERS = 10_000
/** Items per POST or DELETE. */
export const BATCH_ITEMS = 1000
/** Items per page when listing (Cloudflare's maximum for list items). */
const PAGE_ITEMS = 500
/** Pages read in one listing: 100 000 items, far past any plan's list size. */
const MAX_PAGES = 200
/** How long the sync pauses after a configuration error (400/401/403/404), before one more try. */
export const CONFIG_PAUSE_MS = 15 * 60_000
/** Longest wait honoured from a `Retry-After` (Cloudflare blocks an account for 5 minutes past its global limit). */
const MAX_RETRY_AFTER_MS = 10 * 60_000
/** A `429` without `Retry-After`: wait a minute. */
const DEFAULT_RETRY_AFTER_MS = 60_000
/** Tries of one call before the round gives up (the next round starts over). */
const ATTEMPTS = 4
/** A bulk operation unanswered this long is taken as done, whatever it did: the next listing shows the truth. */
const OPERATION_GIVE_UP_MS = 10 * 60_000
/** Items of this sync carry comments starting with this: a listing tells them from the list's other items. */
export const COMMENT_PREFIX = 'appfirewall-fastify'
const OURS = /^appfirewall-fastify \S+ blocked \S+ until (\S+)$/

const closedError = (): EdgeCallError => new EdgeCallError('closed', 'aborted', undefined, undefined)

export class EdgeSync {
  private readonly s: EdgeSyncStats = {
    leader: false,
    offered: 0,
    queued: 0,
    dropped: 0,
    listed: 0,
    added: 0,
    removed: 0,
    skippedFull: 0,
    requests: 0,
    rateLimited: 0,
    retries: 0,
    errors: 0,
    configErrors: 0,
    failedOperations: 0,
    lastStatus: null,
    lastSyncAt: null
  }

  // Offers not yet handed over; the comment is written at hand-over, not on the request path.
  private offers = new Map<string, Offer>()
  private listed = new Map<string, Listed>()
  // Keys counted in skippedFull, until their block ends: a want still skipped next round is not counted again.
  private readonly skipped = new Map<string, number>()
  private readonly api: ListApi
  private readonly coordinator: Coordinator
  private readonly log: PluginLog
  private readonly now: () => number
  private readonly callGapMs: number
  private readonly operationWaitMs: number
  private readonly abort = new AbortController()
  private readonly waits = new Set<() => void>()
  private timer: NodeJS.Timeout | undefined
  private round: Promise<void> | undefined
  private closed = false
  private lastCall = 0
  // When the lease was last taken or renewed (epoch ms).
  private leaseAt = 0
  // No call before this (epoch ms): a Retry-After, a configuration error's pause.
  private notBefore = 0
  // Rounds that ended on an error in a row: the next round waits longer (backoff).
  private failedRounds = 0
  // No additions (removals) before this (epoch ms): after a failed operation (a full list), with backoff.
  private readonly pausedUntil = { add: 0, remove: 0 }
  private readonly failedOps = { add: 0, remove: 0 }
  // The bulk operation under way: while it is, no other write starts.
  private op: PendingOp | undefined
  // Keys the list holds as items that are not this sync's (by their comment), as of the last complete listing.
  private foreign = new Set<string>()
  // Set when this instance becomes the leader: load the state and read the list before anything else.
  private fresh = true
  private readonly warned = new Set<string>()

  constructor (private readonly opts: EdgeSyncOptions) {
    this.api = opts.api
    this.coordinator = opts.coordinator
    this.log = opts.log
    this.now = opts.now ?? Date.now
    this.callGapMs = opts.callGapMs ?? 1000
    this.operationWaitMs = opts.operationWaitMs ?? 120_000
  }

  /**
   * A block of `key` (a limiter key) in `classification` for `ms` from `now`
   * (epoch ms): listed at the next round. On the request path: a Map write,
   * never I/O, never throws.
   */
  offer (key: string, classification: string, ms: number, now: number): void {
    if (this.closed || (this.opts.classes !== undefined && !this.opts.classes.has(classification))) return
    this.s.offered++
    const until = now + Math.max(ms, this.opts.minListedMs)
    const had = this.offers.get(key)
    if (had !== undefined) {
      if (until > had.until) {
        had.until = until
        had.classification = classification
        had.at = now
      }
      return
    }
    if (this.offers.size >= MAX_OFFERS) {
      this.s.dropped++
      return
    }
    this.offers.set(key, { until, classification, at: now })
  }

  /** Starts the rounds: the first at once (a leader reads the list and removes what expired while no one synced). */
  start (): void {
    this.schedule(0)
  }

  stats (): EdgeSyncStats {
    return { ...this.s, queued: this.offers.size, listed: this.s.leader ? this.listed.size : 0 }
  }

  /**
   * Stops the rounds and aborts the call under way, waiting at most `graceMs`
   * for the round to end, then gives up the lease. Items stay listed: the
   * next leader (or this app's next start) removes them when they end.
   * Never rejects.
   */
  async close (graceMs: number): Promise<void> {
    if (this.closed) return
    this.closed = true
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.abort.abort()
    for (const wake of this.waits) wake()
    const round = this.round
    if (round !== undefined) await bounded(round, graceMs)
    if (this.coordinator.shared) {
      try {
        await bounded(this.coordinator.resign(), graceMs)
      } catch {} // the lease expires on its own
    }
  }

  private schedule (ms: number): void {
    if (this.closed) return
    this.timer = setTimeout(this.tick, timerDelay(ms))
    this.timer.unref()
  }

  private readonly tick = (): void => {
    this.timer = undefined
    this.round = this.runRound().then((ok) => {
      this.round = undefined
      if (ok) this.failedRounds = 0
      else this.failedRounds++
      const wait = this.failedRounds === 0 ? this.opts.intervalMs : backoffDelay(this.failedRounds, this.opts.intervalMs, 5 * 60_000)
      this.schedule(Math.max(wait, this.notBefore - this.now()))
    })
  }

  /** One round: hand offers over, lead or not, finish an operation under way, remove what ended, add what is new. True when it completed. */
  private async runRound (): Promise<boolean> {
    try {
      if (this.now() < this.notBefore) return true
      await this.handOver()
      const leading = await this.coordinator.lead(this.now())
      if (!leading) {
        this.stepDown()
        return true
      }
      this.s.leader = true
      this.leaseAt = this.now()
      if (this.fresh) {
        const state = await this.coordinator.load()
        this.listed = state.listed
        this.op = state.op
        if (this.op !== undefined && !await this.finish(this.op)) return true
        await this.readList()
        this.fresh = false
      } else if (this.op !== undefined && !await this.finish(this.op)) {
        return true
      }
      // An operation still pending (polled past operationWaitMs) ends the round: nothing else starts meanwhile.
      if (!await this.removeEnded()) return true
      await this.addWanted()
      this.s.lastSyncAt = new Date(this.now()).toISOString()
      return true
    } catch (err) {
      if (this.closed) return true
      const e = err instanceof LostLease ? undefined : sortFailure(err)
      if (e?.kind !== 'config') this.s.errors++
      if (err instanceof LostLease) {
        this.stepDown()
        return true
      }
      // A configuration error was logged where it was met, with what to check.
      if (e?.kind === 'config') return true
      this.warnOnce(`round:${e?.kind ?? ''}`, { err: e?.message }, 'appfirewall: edge sync: a round failed; it is retried with backoff (stats().edge)')
      return false
    }
  }

  // Another instance leads: what this one knew of the list is its now.
  private stepDown (): void {
    this.s.leader = false
    this.fresh = true
    this.op = undefined
    this.listed.clear()
  }

  /** Hands this instance's offers to the coordinator; kept (bounded) when it cannot take them. */
  private async handOver (): Promise<void> {
    const batch = this.offers
    this.offers = new Map()
    try {
      const wants: Want[] = []
      for (const [key, o] of batch) wants.push({ key, until: o.until, note: note(o.classification, o.at, o.until) })
      await this.coordinator.offer(wants, this.now())
    } catch (err) {
      // Put them back, newest offers first in line for the room left.
      for (const [key, w] of batch) {
        if (this.offers.has(key)) continue
        if (this.offers.size >= MAX_OFFERS) this.s.dropped++
        else this.offers.set(key, w)
      }
      throw err
    }
  }

  /**
   * Reads the whole list (bounded): items of this sync that no state knew
   * (a restart without Redis) are taken back with the `until` of their
   * comment, and ids are learnt for removals. Items not of this sync are left alone.
   */
  private async readList (): Promise<void> {
    const seen = new Set<string>()
    const foreign = new Set<string>()
    let cursor: string | undefined
    for (let p = 0; p < MAX_PAGES; p++) {
      const page = await this.call((signal) => this.api.page(cursor, PAGE_ITEMS, signal))
      for (const item of page.items) {
        const key = asKey(item.ip)
        const m = OURS.exec(item.comment)
        const known = this.listed.get(key)
        if (m === null) {
          // Someone else's item (kept by hand): never taken over, never removed, never added over.
          foreign.add(key)
        } else if (known !== undefined) {
          known.id = item.id
          seen.add(key)
        } else {
          const until = Date.parse(m[1] as string)
          this.listed.set(key, { until: Number.isFinite(until) ? until : 0, id: item.id })
          seen.add(key)
        }
      }
      cursor = page.next
      if (cursor === undefined) {
        // A complete listing: keys recorded as listed that the list does not hold are gone (removed by hand).
        const gone: string[] = []
        for (const key of this.listed.keys()) if (!seen.has(key)) gone.push(key)
        for (const key of gone) this.listed.delete(key)
        this.foreign = foreign
        await this.record(Array.from(this.listed), gone, undefined)
        return
      }
    }
  }

  /** Removes the keys whose block ended. False when an operation is still pending or failed: the round stops there. */
  private async removeEnded (): Promise<boolean> {
    const now = this.now()
    let ended: string[] = []
    for (const [key, l] of this.listed) if (l.until <= now) ended.push(key)
    if (ended.length === 0 || now < this.pausedUntil.remove) return true
    // A want offered since may have extended the block: read the wants before removing.
    const wants = await this.coordinator.wanted(now, this.opts.maxItems * 2)
    const still = new Map<string, number>()
    for (const w of wants) still.set(w.key, w.until)
    const extended: Array<[string, Listed]> = []
    ended = ended.filter((key) => {
      const until = still.get(key)
      if (until === undefined) return true
      const l = this.listed.get(key) as Listed
      l.until = until
      extended.push([key, l])
      return false
    })
    if (extended.length > 0) await this.record(extended, [], undefined)
    if (ended.some((key) => this.listed.get(key)?.id === '')) await this.readList()
    // What a complete listing did not find is already gone.
    const ids: string[] = []
    const keys: string[] = []
    for (const key of ended) {
      const l = this.listed.get(key)
      if (l === undefined) continue
      if (l.id === '') continue
      ids.push(l.id)
      keys.push(key)
    }
    for (let i = 0; i < ids.length; i += BATCH_ITEMS) {
      const chunk = keys.slice(i, i + BATCH_ITEMS)
      const opId = await this.call((signal) => this.api.remove(ids.slice(i, i + BATCH_ITEMS), signal))
      const op: PendingOp = { id: opId, kind: 'remove', keys: chunk.map((k) => [k, 0]), at: this.now() }
      this.op = op
      await this.record([], [], op)
      if (!await this.finish(op)) return false
    }
    return true
  }

  private async addWanted (): Promise<void> {
    const now = this.now()
    if (now < this.pausedUntil.add) return
    const wants = await this.coordinator.wanted(now, this.opts.maxItems * 2)
    const adds: Want[] = []
    const extended: Array<[string, Listed]> = []
    for (const [key, until] of this.skipped) if (until <= now) this.skipped.delete(key)
    for (const w of wants) {
      if (this.foreign.has(w.key)) continue
      const l = this.listed.get(w.key)
      if (l !== undefined) {
        if (w.until > l.until) {
          l.until = w.until
          extended.push([w.key, l])
        }
      } else if (this.listed.size + adds.length < this.opts.maxItems) {
        adds.push(w)
      } else if (!this.skipped.has(w.key)) {
        this.skipped.set(w.key, w.until)
        this.s.skippedFull++
        this.warnOnce('full', { maxItems: this.opts.maxItems }, 'appfirewall: edge sync: maxItems keys are listed; further blocks are not listed until some end (stats().edge.skippedFull)')
      }
    }
    if (extended.length > 0) await this.record(extended, [], undefined)
    for (let i = 0; i < adds.length; i += BATCH_ITEMS) {
      const chunk = adds.slice(i, i + BATCH_ITEMS)
      const items: NewListItem[] = chunk.map((w) => ({ ip: w.key, comment: w.note }))
      const opId = await this.call((signal) => this.api.add(items, signal))
      const op: PendingOp = { id: opId, kind: 'add', keys: chunk.map((w) => [w.key, w.until]), at: this.now() }
      this.op = op
      await this.record([], [], op)
      if (!await this.finish(op)) return
    }
  }

  /**
   * Polls a bulk operation until it ends, then records its effect and clears
   * it. False when it failed or is still pending after operationWaitMs (it
   * stays recorded: the next round polls it again before anything else).
   */
  private async finish (op: PendingOp): Promise<boolean> {
    const deadline = this.now() + this.operationWaitMs
    for (let poll = 1; ; poll++) {
      const st = await this.call((signal) => this.api.operation(op.id, signal))
      if (st.status === 'completed') {
        if (op.kind === 'add') {
          const set: Array<[string, Listed]> = op.keys.map(([key, until]) => [key, { until, id: '' }])
          for (const [key, l] of set) this.listed.set(key, l)
          this.s.added += set.length
          await this.record(set, [], null)
        } else {
          const del = op.keys.map(([key]) => key)
          for (const key of del) this.listed.delete(key)
          this.s.removed += del.length
          await this.record([], del, null)
        }
        this.failedOps[op.kind] = 0
        this.op = undefined
        return true
      }
      if (st.status === 'failed') {
        this.s.failedOperations++
        this.warnOnce(`failed:${op.kind}`, { operation: op.id, error: st.error }, `appfirewall: edge sync: Cloudflare failed to ${op.kind} ${op.keys.length} list items (a full list?); ${op.kind === 'add' ? 'additions' : 'removals'} pause from 1 to 30 minutes, with backoff`)
        this.failedOps[op.kind]++
        this.pausedUntil[op.kind] = this.now() + backoffDelay(this.failedOps[op.kind], 60_000, 30 * 60_000)
        this.op = undefined
        // Read the list again before the next try: an id removed by hand must not fail every removal after it.
        this.fresh = true
        await this.record([], [], null)
        return false
      }
      const now = this.now()
      if (now - op.at > OPERATION_GIVE_UP_MS || st.status === 'unknown') {
        // Whatever it did, the next listing tells: adds are taken as listed (their ids unknown), removals as done.
        this.s.failedOperations++
        if (op.kind === 'add') for (const [key, until] of op.keys) this.listed.set(key, { until, id: '' })
        else for (const [key] of op.keys) this.listed.delete(key)
        this.op = undefined
        await this.record(op.kind === 'add' ? op.keys.map(([key, until]) => [key, { until, id: '' }]) : [], op.kind === 'remove' ? op.keys.map(([k]) => k) : [], null)
        this.fresh = true
        return false
      }
      if (now >= deadline) return false
      const base = this.opts.pollMs ?? 500
      await this.sleep(Math.min(base * 2 ** Math.min(poll - 1, 4), base * 10))
    }
  }

  /** A fenced write of the leader's state: throws LostLease when another instance leads now. */
  private async record (set: ReadonlyArray<[string, Listed]>, del: readonly string[], op: PendingOp | null | undefined): Promise<void> {
    if (!await this.coordinator.record(set, del, op)) throw new LostLease()
  }

  /**
   * One Lists API call, paced (callGapMs apart, and not before a Retry-After
   * or a pause), retried on 5xx, timeouts and network errors with backoff,
   * and on 429 after Retry-After; a configuration error (400/401/403/404) is
   * logged once per status and pauses the sync for CONFIG_PAUSE_MS.
   */
  private async call<T> (fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const wait = Math.max(this.lastCall + this.callGapMs, this.notBefore) - this.now()
      if (wait > 0) await this.sleep(wait)
      if (this.closed) throw closedError()
      // A long round (an operation polled for minutes, a Retry-After) keeps its lease, or stops when another instance took it.
      if (this.coordinator.shared && this.now() - this.leaseAt > (this.opts.leaseMs ?? 30_000) / 3) {
        if (!await this.coordinator.lead(this.now())) throw new LostLease()
        this.leaseAt = this.now()
      }
      this.lastCall = this.now()
      this.s.requests++
      try {
        const res = await fn(this.abort.signal)
        this.s.lastStatus = 200
        return res
      } catch (err) {
        const e = sortFailure(err)
        if (this.closed || e.kind === 'aborted') throw closedError()
        this.s.lastStatus = e.status ?? null
        if (e.kind === 'config') {
          this.s.configErrors++
          this.notBefore = this.now() + CONFIG_PAUSE_MS
          this.warnOnce(`config:${e.status ?? ''}`, { status: e.status, err: e.message },
            `appfirewall: edge sync: Cloudflare refused the call (${e.status ?? '?'}): check the token's permission (Account > Account Filter Lists > Edit), the accountId and the listId; the sync pauses ${CONFIG_PAUSE_MS / 60_000} minutes`)
          throw e
        }
        if (e.kind === 'rate-limited') {
          this.s.rateLimited++
          this.notBefore = this.now() + Math.min(MAX_RETRY_AFTER_MS, Math.max(this.callGapMs, e.retryAfterMs ?? DEFAULT_RETRY_AFTER_MS))
        } else {
          this.s.retries++
          if (attempt < ATTEMPTS) this.notBefore = Math.max(this.notBefore, this.now() + backoffDelay(attempt, 1000, 60_000))
        }
        if (attempt >= ATTEMPTS) throw e
      }
    }
  }

  /** Waits `ms`; close() cuts it short. */
  private async sleep (ms: number): Promise<void> {
    if (this.closed) return
    await new Promise<void>((resolve) => {
      const wake = (): void => {
        clearTimeout(timer)
        this.waits.delete(wake)
        resolve()
      }
      const timer = setTimeout(wake, timerDelay(ms))
      timer.unref()
      this.waits.add(wake)
    })
  }

  private warnOnce (what: string, obj: object, msg: string): void {
    if (this.warned.has(what)) return
    this.warned.add(what)
    this.log.warn(obj, msg)
  }
}

class LostLease extends Error {}

/** A block offered: until when (epoch ms), its class and when it started. */
interface Offer {
  until: number
  classification: string
  at: number
}

/**
 * A listed item's ip as a limiter key: Cloudflare's documented item shows a
 * single IPv4 address as `10.0.0.1/32`, and it stores IPv6 in lower case.
 */
function asKey (ip: string): string {
  if (ip.indexOf(':') === -1) return ip.endsWith('/32') ? ip.slice(0, -3) : ip
  return ip.toLowerCase()
}

/** The item's comment: what it is, the class, when the block started and when it ends (RFC 3339, seconds). */
function note (classification: string, now: number, until: number): string {
  return `${COMMENT_PREFIX} ${classification} blocked ${iso(now)} until ${iso(until)}`
}

function iso (ms: number): string {
  return new Date(ms).toISOString().slice(0, 19) + 'Z'
}

async function bounded (p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  try {
    await Promise.race([p.catch(() => {}), new Promise<void>((resolve) => { timer = setTimeout(resolve, timerDelay(ms)) })])
  } finally {
    if (timer !== undefined) clearTimeout(timer)
  }
}
