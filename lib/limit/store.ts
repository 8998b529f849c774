// The one contract between the rate limiter and where hit counts live. It is
// public (the `store` option takes a user's own implementation) and ends up in
// the package's .d.ts, so it imports types only, and never from typebox.
import type { LimitClass, RateLimitRule } from '../types'

/**
 * One rate-limited class as a store sees it: the user's rule, the class it
 * belongs to, and a small index so that a store can keep the counters of every
 * class of one key in one record instead of building `${class}:${key}` strings
 * per hit. The limiter hands out the same frozen object for every hit of a class.
 */
export interface LimitRule extends RateLimitRule {
  /** The class counted, e.g. `"scanner"`, `"auth"`, or a recorded event's name (`LIMIT_CLASS_PATTERN`: at most 64 of `[A-Za-z0-9._:-]`). */
  readonly classification: LimitClass
  /**
   * 0-based position of the class among the configured ones (below their number). An
   * IPv6 /48 key is counted under a rule of its own (same class, index and
   * window, `max` times `ipv6SiteFactor`).
   */
  readonly index: number
}

/** What a shared store's promise resolves to: the count across every instance, and the block if there is one. */
export interface LimitCount {
  /** Carry-weighted hits of the key in this class's window, this hit included (an integer >= 0). */
  count: number
  /**
   * Milliseconds the key stays blocked, counted from the `now` passed to
   * `incr`; 0 when it is not blocked. Omitted: the limiter blocks when
   * `count > max`, for the rest of the window. The limiter never holds a block
   * longer than `windowMs`.
   */
  blockedMs?: number
  /**
   * True when this very hit started the block: `onLimited` then runs on this
   * instance (unless it already held the block), and the other instances,
   * answered false, leave it alone. Mark exactly one hit per block, e.g. with
   * a set-if-absent block key. Omitted: the limiter takes `count === max + 1`
   * (the carry-weighted count rises by at most one per hit, so one hit of a
   * window's climb lands on it).
   */
  started?: boolean
}

/**
 * Receives blocks decided elsewhere: the limiter key, the milliseconds left
 * (from now) and, optionally, the class whose limit was passed. The limiter
 * holds such a block at most for that class's `windowMs` (a class it has no
 * rule for: not at all), or, without a class, for its longest window.
 */
export type LimitBlockListener = (key: string, blockedMs: number, classification?: LimitClass) => void

/**
 * Where hit counts live. The in-process store implements it, the Redis store
 * implements it, and a user can pass their own as the `store` option. The
 * limiter uses its stores only through these members.
 *
 * Window (every store must count the same way, or instances disagree): fixed
 * windows aligned to the clock, the one holding `now` starting at
 * `now - now % windowMs`, with carry. The count of a hit is
 * `floor(previous * (windowMs - elapsed) / windowMs) + current`, where
 * `current` counts the hits of this window including this one, `previous`
 * those of the window just before (0 if older), and `elapsed` is
 * `now - windowStart`: a burst straddling a boundary is still seen (the
 * sliding-window approximation). A key whose count passes `rule.max` is over
 * its limit (blocked) for the rest of the window. Keep a window's counter for
 * two windows: the next one reads it as its carry.
 *
 * Contract:
 * - `incr(key, rule, now)` is called on the request path for each counted hit
 *   (`key` from the limiter: an IPv4 address, an IPv6 /64 like
 *   `2001:db8:1:2::/64`, and for the same hit its /48 like `2001:db8:1::/48`
 *   under a rule whose `max` is the class's times `ipv6SiteFactor`; `now` in
 *   epoch ms). It must not block. It returns
 *   - a number: the count, known at once (a synchronous store). The hit's own
 *     request can already be marked over the limit;
 *   - a promise of a `LimitCount` (a shared store). The request never waits
 *     for it: the answer takes effect from the next request on;
 *   - `undefined`: the store cannot count now (an outage). The hit is counted
 *     in this process only.
 *   Throwing, rejecting, never settling or answering something else is
 *   survived: the hit is counted in this process only, and the limiter logs
 *   one warning per outage (calls left unanswered for 5 s make one too) and
 *   one info line when answers come back. At most 256 calls are left
 *   pending and further hits are not sent meanwhile: settle every promise
 *   (use timeouts), or a store that hangs stays left out.
 * - `subscribe(listener)` (optional): called once, when the limiter is built.
 *   A shared store calls `listener(key, blockedMs, classification)` (ms from
 *   now) for blocks decided by other instances, so they are enforced here at
 *   once rather than at this instance's next hit of that key. Leave out this
 *   instance's own blocks (tag messages with an instance id): a block it
 *   already holds is taken as announced, so `onLimited` would not run for it.
 *   Deliver only blocks your store really holds: whatever reaches the
 *   listener is enforced (the Redis store checks the block key first).
 * - `stats()` (optional): a few counters for diagnostics.
 * - `close()` releases what the store opened. Called once, by `app.close()`,
 *   which waits for it at most `closeGraceMs`; an error is logged, never thrown.
 *
 * One store object serves one plugin registration: give each app its own.
 */
export interface LimitStore {
  incr: (key: string, rule: LimitRule, now: number) => number | Promise<LimitCount> | undefined
  subscribe?: (listener: LimitBlockListener) => void
  stats?: () => Readonly<Record<string, number | string | boolean>>
  close: () => void | Promise<void>
}

/** Start of the fixed window `now` falls in. */
export function windowStart (now: number, windowMs: number): number {
  return now - (now % windowMs)
}

/** Carry-weighted hits: the previous window counts for the part of it that still overlaps a sliding window ending now. */
export function estimate (previous: number, current: number, elapsed: number, windowMs: number): number {
  return previous === 0 ? current : Math.floor(previous * (windowMs - elapsed) / windowMs) + current
}
