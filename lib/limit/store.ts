import type { Classification, RateLimitRule } from '../types'

/**
 * One rate-limited class as the stores see it: the user's rule plus a small
 * slot number, so that a store can keep the counters of every class of one
 * key in one record without building `${cls}:${key}` strings per hit.
 */
export interface CompiledRule extends RateLimitRule {
  readonly cls: Classification
  readonly slot: number
}

/**
 * Where hit counters live. The in-process store is always there; the shared
 * Redis store is added next to it when the user passes a client.
 *
 * Window: fixed windows aligned to the clock (`floor(now / windowMs)`), with
 * carry: the estimate of a hit is `floor(previous * (1 - elapsed / windowMs))
 * + current`, so a burst that straddles a window boundary is still seen (the
 * sliding-window approximation). A key whose estimate passes `max` is over
 * its limit for the rest of the current window.
 *
 * Contract:
 * - `hit` is called on the request path (a 404 of a rate-limited class):
 *   synchronous, never throws, never does I/O the caller waits for, bounded
 *   work. It returns the estimate including this hit, or -1 when the count is
 *   only known later (the shared store reports it through the callback it was
 *   built with).
 * - A store's memory is bounded whatever the number of distinct keys.
 * - `close` releases what the store opened (never the user's own client).
 *   Never rejects.
 */
export interface LimitStore {
  hit: (key: string, ip: string, rule: CompiledRule, now: number) => number
  /** Keys currently held in this process. */
  size: () => number
  close: () => Promise<void>
}

/** Start of the fixed window `now` falls in. */
export function windowStart (now: number, windowMs: number): number {
  return now - (now % windowMs)
}

/** Carry-weighted hits: the previous window counts for the part of it that still overlaps a sliding window ending now. */
export function estimate (previous: number, current: number, elapsed: number, windowMs: number): number {
  return previous === 0 ? current : Math.floor(previous * (windowMs - elapsed) / windowMs) + current
}
