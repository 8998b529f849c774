import type { PluginLog } from '../guard'
import type { LimitRule, LimitStore } from './store'

// Calls to the shared store that may be pending at once. A hanging store (a
// Redis under DEBUG SLEEP, a stalled network, a client without a timeout)
// then costs at most this many pending calls; hits beyond it are counted in
// this process only.
export const MAX_OUTSTANDING = 256
// Calls pending with no answer at all for this long make an outage too: a
// store that hangs is reported before the cap fills up (which a quiet app
// may never reach).
export const STALL_MS = 5000

/** The hit a call was made for, and what its answer needs to act on. */
export class SharedCall {
  key = ''
  ip = ''
  rule: LimitRule | undefined = undefined
  /** The `now` of the hit: answers are timed from it, on the caller's clock. */
  now = 0
  /** Bound once per pooled call, so a call in flight costs no closure. */
  readonly answered: (res: unknown) => void
  readonly failed: (err: unknown) => void
  pending = false

  constructor (owner: SharedCalls) {
    this.answered = (res) => { owner.answer(this, res) }
    this.failed = (err) => { owner.fail(this, err) }
  }
}

/**
 * Acts on a usable answer of the shared store: `count` is a finite count
 * >= 0; `blockedMs` and `started` are as the store gave them (unchecked). For
 * a synchronous answer the call object is valid only during the callback.
 */
export type Settle = (call: SharedCall, count: number, blockedMs: unknown, started: unknown) => void

/** Counters of the calls to the shared store. Every hit is sent or skipped; every sent call is answered, failed (errors) or outstanding. */
export interface SharedCallStats {
  sent: number
  /** Hits not sent: the store said it cannot count now, or MAX_OUTSTANDING calls were pending. */
  skipped: number
  /** Calls that threw, rejected or answered something that is not a count. */
  errors: number
  outstanding: number
  /** The store's own `stats()`, when it has one. */
  store: Readonly<Record<string, number | string | boolean>> | undefined
}

/**
 * What the limiter needs of any shared store, whatever it is built on: calls
 * that never hold the request (a pool of at most MAX_OUTSTANDING pending
 * calls, no closure per call), answers checked before they are believed, and
 * one warning per outage with one info line when answers come back. A store
 * that throws, rejects, hangs or answers garbage only ever costs the hits it
 * did not count, which this process counts anyway.
 */
export class SharedCalls {
  sent = 0
  skipped = 0
  errors = 0
  outstanding = 0

  private readonly free: SharedCall[] = []
  // The call object of synchronous answers: they settle before send() returns.
  private readonly scratch: SharedCall
  private healthy = true
  private closed = false
  // When calls last made progress (an answer, or the first call of a busy
  // spell), on the hits' clock: an answer counts as arriving at the latest
  // hit's time, so a slow store under steady traffic is not taken for a stalled one.
  private lastAnswer = 0
  private latest = 0

  constructor (private readonly store: LimitStore, private readonly settle: Settle, private readonly log: PluginLog) {
    this.scratch = new SharedCall(this)
  }

  /**
   * Sends one hit. A synchronous answer is settled before this returns; an
   * asynchronous one whenever it comes. Never throws, never waits.
   */
  send (key: string, ip: string, rule: LimitRule, now: number): void {
    if (this.closed) return
    if (this.outstanding >= MAX_OUTSTANDING) {
      this.skip(`${this.outstanding} calls pending`)
      return
    }
    this.latest = now
    if (this.outstanding === 0) this.lastAnswer = now
    else if (now - this.lastAnswer > STALL_MS && this.healthy) this.down(`${this.outstanding} calls without an answer for ${now - this.lastAnswer} ms`)
    let res: unknown
    try {
      res = this.store.incr(key, rule, now)
    } catch (err) {
      this.sent++
      this.error(err)
      return
    }
    if (res === undefined) {
      this.skip('the store cannot count now')
      return
    }
    this.sent++
    if (typeof res === 'number') {
      if (res >= 0 && Number.isFinite(res)) {
        this.up()
        this.settle(fill(this.scratch, key, ip, rule, now), res, undefined, undefined)
      } else {
        this.error('the store answered something that is not a count')
      }
      return
    }
    const call = fill(this.free.pop() ?? new SharedCall(this), key, ip, rule, now)
    call.pending = true
    this.outstanding++
    try {
      if (typeof (res as { then?: unknown } | null)?.then !== 'function') {
        this.fail(call, 'the store answered something that is not a count or a promise')
        return
      }
      // A native promise is used as it is; any other thenable is adopted by
      // one, so that it settles the pooled call once at most.
      Promise.resolve(res as Promise<unknown>).then(call.answered, call.failed)
    } catch (err) {
      this.fail(call, err)
    }
  }

  /** @internal A pending call was answered. Runs in a promise reaction: it must never throw. */
  answer (call: SharedCall, res: unknown): void {
    if (!this.release(call)) return
    try {
      let count: unknown
      let blockedMs: unknown
      let started: unknown
      try {
        const r = res as { count?: unknown, blockedMs?: unknown, started?: unknown } | null | undefined
        count = r?.count
        blockedMs = r?.blockedMs
        started = r?.started
      } catch {} // a getter that throws is garbage like any other
      if (typeof count === 'number' && count >= 0 && Number.isFinite(count)) {
        this.up()
        this.settle(call, count, blockedMs, started)
      } else {
        this.error('the store answered something that is not a count')
      }
    } catch {} finally {
      this.recycle(call)
    }
  }

  /** @internal A pending call failed. Runs in a promise reaction: it must never throw. */
  fail (call: SharedCall, err: unknown): void {
    if (!this.release(call)) return
    try {
      this.error(err)
    } catch {} finally {
      this.recycle(call)
    }
  }

  stats (): SharedCallStats {
    let store: SharedCallStats['store']
    try {
      store = this.store.stats?.()
    } catch {}
    return { sent: this.sent, skipped: this.skipped, errors: this.errors, outstanding: this.outstanding, store }
  }

  /** Stops acting on answers; calls still pending settle into nothing. */
  stop (): void {
    this.closed = true
  }

  /** Counts a settled call out; false when it was not pending (settled twice) or the limiter is closed. */
  private release (call: SharedCall): boolean {
    if (!call.pending) return false
    call.pending = false
    this.outstanding--
    this.lastAnswer = this.latest
    if (this.closed) call.rule = undefined
    return !this.closed
  }

  private recycle (call: SharedCall): void {
    call.rule = undefined
    this.free.push(call)
  }

  private skip (reason: string): void {
    this.skipped++
    this.down(reason)
  }

  private error (err: unknown): void {
    this.errors++
    if (this.healthy && !this.closed) this.down(describe(err))
  }

  /** One warning per outage; the next good answer logs the recovery. */
  private down (reason: string): void {
    if (!this.healthy || this.closed) return
    this.healthy = false
    this.log.warn({ reason },
      'appfirewall: the shared rate limit store is unavailable or slow; rate limits are counted in this process until it answers again')
  }

  private up (): void {
    if (this.healthy) return
    this.healthy = true
    this.log.info({}, 'appfirewall: the shared rate limit store answers again; rate limit counts are shared again')
  }
}

/** A short reason for the log line; whatever a store threw, this never throws. */
export function describe (err: unknown): string {
  try {
    return typeof err === 'string' ? err : String((err as Error | null)?.message ?? err)
  } catch {
    return 'the store failed'
  }
}

function fill (call: SharedCall, key: string, ip: string, rule: LimitRule, now: number): SharedCall {
  call.key = key
  call.ip = ip
  call.rule = rule
  call.now = now
  return call
}
