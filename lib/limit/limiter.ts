import type { CompiledRule } from './store'
import { LocalStore } from './local-store'
import { RedisStore } from './redis-store'
import type { SinkLogger } from '../ship/sink'
import type { Classification, LimitedInfo, RateLimitRule, RedisLike } from '../types'

export interface RateLimiterOptions {
  rules: Partial<Record<Classification, RateLimitRule>>
  maxTrackedIps: number
  enforce: boolean
  onLimited?: ((ip: string, info: LimitedInfo) => void) | undefined
  redis?: RedisLike | undefined
  keyPrefix: string
  log: SinkLogger
}

/** Counters of the limiter, for stats and tests. */
export interface RateLimiterStats {
  /** Keys with counters in this process (bounded by maxTrackedIps). */
  tracked: number
  /** Keys blocked in this process, including blocks mirrored from Redis. */
  blocked: number
  /** Records dropped to make room for new keys. */
  evicted: number
  /** Hits not counted because every record looked at was a hot offender. */
  untracked: number
  /** Times onLimited threw. */
  onLimitedErrors: number
  /** Shared store only: calls sent, hits not sent (Redis down or too slow), failed calls, calls pending, subscriber ready. */
  redis?: { sent: number, skipped: number, errors: number, outstanding: number, subscribed: boolean }
}

/**
 * Per-key, per-class hit counting and blocks. Keys come from `limiterKey`;
 * allow-listing and `skip` are the caller's business.
 *
 * The local store always counts, so that a Redis outage degrades to
 * per-process limits instead of no limits; with Redis, its count is the
 * authoritative one and arrives a moment later (a block decided there is
 * mirrored into the local block Map on every instance). Blocks last for the
 * rest of the window in which the limit was passed.
 */
export class RateLimiter {
  private readonly rules: Partial<Record<Classification, CompiledRule>>
  private readonly local: LocalStore
  private readonly remote: RedisStore | undefined
  private readonly enforce: boolean
  private readonly onLimited: ((ip: string, info: LimitedInfo) => void) | undefined
  private readonly log: SinkLogger
  private onLimitedErrors = 0

  constructor (opts: RateLimiterOptions) {
    const list: CompiledRule[] = []
    const rules: Partial<Record<Classification, CompiledRule>> = {}
    for (const cls of ['scanner', 'benign-miss', 'unknown'] as const) {
      const r = opts.rules[cls]
      if (r === undefined) continue
      const rule: CompiledRule = Object.freeze({ cls, slot: list.length, max: r.max, windowMs: r.windowMs })
      list.push(rule)
      rules[cls] = rule
    }
    this.rules = rules
    this.local = new LocalStore(list, opts.maxTrackedIps)
    this.enforce = opts.enforce
    this.onLimited = opts.onLimited
    this.log = opts.log
    this.remote = opts.redis === undefined
      ? undefined
      : new RedisStore({
        client: opts.redis,
        prefix: opts.keyPrefix,
        rules: list,
        log: opts.log,
        onCount: this.onRemoteCount,
        onBlock: this.onRemoteBlock
      })
  }

  /**
   * False when no key is blocked at `now`: lets onRequest skip building a key,
   * and the lookup, for every request in the common case. O(1).
   */
  anyBlocked (now: number): boolean {
    return this.local.anyBlocked(now)
  }

  /** True when hits of `cls` are counted (it has a rule). */
  counts (cls: Classification): boolean {
    return this.rules[cls] !== undefined
  }

  /** Milliseconds `key` stays blocked, 0 when it is not. A Map lookup: called by onRequest for every request when enforcing. */
  blockedFor (key: string, now: number): number {
    const until = this.local.blockedUntil(key, now)
    return until === 0 ? 0 : until - now
  }

  /**
   * Counts a 404 of class `cls` from `ip` (counted under `key`). Returns 0
   * while the key is under its limit, else the milliseconds until its block
   * ends. A class without a rule returns 0 at once and counts nothing.
   */
  hit (key: string, ip: string, cls: Classification, now: number): number {
    const rule = this.rules[cls]
    if (rule === undefined) return 0
    const est = this.local.hit(key, ip, rule, now)
    if (this.remote !== undefined) this.remote.hit(key, ip, rule, now)
    const until = this.local.blockedUntil(key, now)
    if (until !== 0) return until - now
    if (est <= rule.max) return 0
    const ms = rule.windowMs - (now % rule.windowMs)
    this.local.block(key, now + ms, now)
    this.notify(ip, key, rule, est, ms)
    return ms
  }

  size (): number {
    return this.local.size()
  }

  stats (): RateLimiterStats {
    const s: RateLimiterStats = {
      tracked: this.local.size(),
      blocked: this.local.blockCount(),
      evicted: this.local.evicted,
      untracked: this.local.untracked,
      onLimitedErrors: this.onLimitedErrors
    }
    const r = this.remote
    if (r !== undefined) {
      s.redis = { sent: r.sent, skipped: r.skipped, errors: r.errors, outstanding: r.outstanding, subscribed: r.subscribed }
    }
    return s
  }

  /** Closes the subscriber connection (never the user's client) and drops all state. Never rejects. */
  async close (): Promise<void> {
    await this.remote?.close()
    await this.local.close()
  }

  private notify (ip: string, key: string, rule: CompiledRule, count: number, ms: number): void {
    const fn = this.onLimited
    if (fn === undefined) return
    try {
      fn(ip, { classification: rule.cls, count, max: rule.max, retryAfterMs: ms, enforced: this.enforce, key })
    } catch (err) {
      // The user's hook must never break a request; say so once, then count.
      if (this.onLimitedErrors++ === 0) {
        this.log.warn({ err: (err as Error)?.message ?? String(err) }, 'appfirewall: onLimited threw; the error is ignored')
      }
    }
  }

  // Redis answered: its count covers every instance. A block it holds is
  // mirrored here; onLimited runs only where the block started (this
  // instance's call set it) and only if this process had not already blocked
  // the key on its own count.
  private readonly onRemoteCount = (key: string, ip: string, rule: CompiledRule, est: number, blockMs: number, setHere: boolean): void => {
    if (blockMs <= 0) return
    const now = Date.now()
    const had = this.local.blockedUntil(key, now) !== 0
    this.local.block(key, now + blockMs, now)
    if (setHere && !had) this.notify(ip, key, rule, est, blockMs)
  }

  private readonly onRemoteBlock = (key: string, blockMs: number): void => {
    const now = Date.now()
    this.local.block(key, now + blockMs, now)
  }
}
