import type { LimitRule, LimitStore } from './store'
import { LocalStore } from './local-store'
import { BlockTable } from './block-table'
import { defaults } from '../options'
import { isKey48, isKey64, siteKey } from './key'
import { timerDelay } from '../timer-delay'
import { describe, SharedCalls, type SharedCall, type SharedCallStats } from './shared-calls'
import type { PluginLog } from '../guard'
import type { LimitClass, LimitedInfo, RateLimitRule } from '../types'

export interface RateLimiterOptions {
  /** Rules by class (a built-in class or a recorded event's name), in the order of their store index. */
  rules: Readonly<Record<string, RateLimitRule>>
  /** Most keys with counters in this process, and most blocks held. */
  maxTrackedIps: number
  enforce: boolean
  onLimited?: ((ip: string, info: LimitedInfo) => void) | undefined
  /**
   * Told of each block this process announces (where onLimited runs): the key, its class, how long
   * (ms) and when it started (epoch ms). The edge sync's offer(); must not throw or wait.
   */
  onBlock?: ((key: string, classification: LimitClass, ms: number, now: number) => void) | undefined
  /** A shared store counted beside the in-process one (the Redis store, or the user's own). Closed by `close()`. */
  store?: LimitStore | undefined
  /** How long `close()` waits for the shared store's close, in ms (default: the option's). */
  closeGraceMs?: number
  /** Where errors of the user's onLimited go (the plugin's fail-open guard); without it, one warning. */
  onHookError?: ((err: unknown) => void) | undefined
  /**
   * IPv6 /64 keys also count for their /48, against each class's `max` times
   * this (the `ipv6SiteFactor` option); 0 or absent: per /64 only.
   */
  siteFactor?: number
  log: PluginLog
}

/** Counters of the limiter, for tests and benchmarks. */
export interface RateLimiterStats {
  /** Keys with counters in this process (bounded by maxTrackedIps; an IPv6 hit may hold two: its /64 and its /48). */
  tracked: number
  /** Keys blocked in this process, including blocks learnt from the shared store. */
  blocked: number
  /** Records dropped to make room for new keys. */
  evicted: number
  /** Hits of keys that found no record free (every record looked at was a hot key): counted approximately instead, in fixed memory. */
  untracked: number
  /** Times onLimited threw. */
  onLimitedErrors: number
  /** With a shared store: its calls, and its own stats. */
  shared?: SharedCallStats
}

/** Longest key a block may be held under; limiter keys are IPs and prefixes, at most ~40 characters. */
const MAX_KEY_LENGTH = 64

/**
 * Per-key, per-class hit counting and blocks. Keys come from `limiterKey`;
 * allow-listing and `skip` are the caller's business.
 *
 * The in-process store always counts, so that an outage of the shared store
 * degrades to per-process limits instead of no limits. A shared store counts
 * beside it; its answer covers every instance and, for a shared store that
 * answers later, takes effect from the next request on. Both are used only
 * through the LimitStore contract. Blocks live in the limiter's own table and
 * last for the rest of the window in which the limit was passed.
 *
 * `onLimited` runs once per block in this process: when this process's own
 * count passes the limit, or when a shared answer says this instance's hit
 * started a block that this process did not hold yet. So with a shared store
 * it runs on the instance whose hit started the block; only an instance whose
 * own count passes the limit before it learns of a block started elsewhere
 * (a race of a few milliseconds) announces it too: a block is never left
 * unannounced because a shared store failed or hung.
 *
 * With a site factor, the hit of an IPv6 /64 key counts for its /48 as well
 * (key `2001:db8:1::/48`, limit `max × factor`, same window): whoever holds a
 * /48 can rotate through its 65 536 /64s, which per-/64 counting never
 * catches. A blocked /48 blocks every /64 inside it (`blockedFor` and `hit`
 * look at both keys), and while it is blocked its /64s are not counted on
 * their own, so a blocked /48 cannot fill the key table.
 */
export class RateLimiter {
  private readonly rules: ReadonlyMap<string, LimitRule>
  // The /48 rules by class index; undefined when IPv6 is counted per /64 only.
  private readonly siteRules: readonly LimitRule[] | undefined
  // When the longest /48 block held ends: until then blockedFor also looks up
  // the /48 of an IPv6 key (deriving it costs a string; most of the time no
  // /48 is blocked and nothing is derived).
  private siteEnd = 0
  // The /48 of the last /64 key asked about: one request's blockedFor and hit,
  // and a client's successive hits, ask for the same one; the reused string
  // also keeps its hash for the Map lookups.
  private lastKey64 = ''
  private lastSite = ''
  // Held as its class for its typed stats(); used, like any store, through LimitStore's members only.
  private readonly local: LocalStore
  private readonly blocks: BlockTable
  private readonly shared: SharedCalls | undefined
  private readonly store: LimitStore | undefined
  private readonly longestWindow: number
  private readonly enforce: boolean
  private readonly onLimited: ((ip: string, info: LimitedInfo) => void) | undefined
  private readonly onBlock: ((key: string, classification: LimitClass, ms: number, now: number) => void) | undefined
  private readonly closeGraceMs: number
  private readonly onHookError: ((err: unknown) => void) | undefined
  private readonly log: PluginLog
  private onLimitedErrors = 0
  private closed = false

  constructor (opts: RateLimiterOptions) {
    const list: LimitRule[] = []
    const sites: LimitRule[] = []
    const rules = new Map<string, LimitRule>()
    const factor = opts.siteFactor ?? 0
    let longest = 0
    for (const [classification, r] of Object.entries(opts.rules)) {
      const rule: LimitRule = Object.freeze({ classification, index: list.length, max: r.max, windowMs: r.windowMs })
      // A class that marks at the first hit (max 0) would block a whole /48 for one /64's hit:
      // its site tolerates factor - 1 hits instead, so the /48 falls at the factor-th /64's.
      sites.push(Object.freeze({ ...rule, max: r.max === 0 ? Math.max(0, factor - 1) : r.max * factor }))
      list.push(rule)
      rules.set(classification, rule)
      if (r.windowMs > longest) longest = r.windowMs
    }
    this.rules = rules
    this.siteRules = factor > 0 ? sites : undefined
    this.longestWindow = longest
    this.local = new LocalStore(list, opts.maxTrackedIps)
    this.blocks = new BlockTable(opts.maxTrackedIps)
    this.enforce = opts.enforce
    this.onLimited = opts.onLimited
    this.onBlock = opts.onBlock
    this.closeGraceMs = opts.closeGraceMs ?? defaults.closeGraceMs
    this.onHookError = opts.onHookError
    this.log = opts.log
    this.store = opts.store
    this.shared = opts.store === undefined ? undefined : new SharedCalls(opts.store, this.settle, opts.log)
    if (opts.store?.subscribe !== undefined) {
      try {
        opts.store.subscribe(this.onSharedBlock)
      } catch (err) {
        // Blocks still reach this instance through the answers to its own hits.
        this.log.warn({ err: describe(err) }, 'appfirewall: the rate limit store could not subscribe to blocks; blocks of other instances arrive with the next hit of their key')
      }
    }
  }

  /**
   * False when no key is blocked at `now`: lets onRequest skip building a key,
   * and the lookup, for every request in the common case. O(1).
   */
  anyBlocked (now: number): boolean {
    return this.blocks.anyBlocked(now)
  }

  /** True when hits of `cls` are counted (it has a rule). */
  counts (cls: LimitClass): boolean {
    return this.rules.has(cls)
  }

  /**
   * Milliseconds `key` stays blocked at `now` (epoch ms), 0 when it is not;
   * an IPv6 /64 key is blocked by its /48's block too. A Map lookup (two while
   * a /48 is blocked): called by onRequest for every request when enforcing.
   */
  blockedFor (key: string, now: number): number {
    let until = this.blocks.until(key, now)
    if (now < this.siteEnd && isKey64(key)) {
      const site = this.blocks.until(this.siteOf(key), now)
      if (site > until) until = site
    }
    return until === 0 ? 0 : until - now
  }

  /**
   * Counts a hit of class `cls` (a 404's class, a behaviour, a signal or a
   * recorded event's name) from `ip` (counted under `key`) at `now` (epoch
   * ms). Returns 0 while the key is under its limit, else the milliseconds
   * until its block ends. A class without a rule returns 0 at once and counts
   * nothing. Never throws, never waits.
   */
  hit (key: string, ip: string, cls: LimitClass, now: number): number {
    const rule = this.rules.get(cls)
    if (rule === undefined) return 0
    if (this.siteRules !== undefined && isKey64(key)) {
      const siteMs = this.count(this.siteOf(key), ip, this.siteRules[rule.index] as LimitRule, now)
      if (siteMs > 0) {
        // The /48's block covers the /64; a longer block of the /64 itself still shows.
        const own = this.blocks.until(key, now) - now
        return own > siteMs ? own : siteMs
      }
    }
    return this.count(key, ip, rule, now)
  }

  /** One hit of `key` under `rule`: counted here and in the shared store; 0 or the ms its block has left. */
  private count (key: string, ip: string, rule: LimitRule, now: number): number {
    const est = this.local.incr(key, rule, now)
    // A synchronous shared store settles here, before the block check below.
    this.shared?.send(key, ip, rule, now)
    const until = this.blocks.until(key, now)
    if (until !== 0) return until - now
    if (est <= rule.max) return 0
    // A rule of max 0 marks at the first hit (a certain probe): for a whole
    // window from it, not for what is left of the clock's window, which may be a moment.
    const ms = rule.max === 0 ? rule.windowMs : rule.windowMs - (now % rule.windowMs)
    this.hold(key, now + ms, now)
    this.notify(ip, key, rule, est, ms, now)
    return ms
  }

  private siteOf (key64: string): string {
    if (key64 !== this.lastKey64) {
      this.lastSite = siteKey(key64)
      this.lastKey64 = key64
    }
    return this.lastSite
  }

  /** Blocks `key` until `until` (epoch ms), whoever decided it. */
  private hold (key: string, until: number, now: number): void {
    this.blocks.set(key, until, now)
    if (until > this.siteEnd && isKey48(key)) this.siteEnd = until
  }

  /** Keys with counters in this process. */
  size (): number {
    return this.local.stats().tracked
  }

  stats (): RateLimiterStats {
    const local = this.local.stats()
    const s: RateLimiterStats = {
      tracked: local.tracked,
      blocked: this.blocks.size,
      evicted: local.evicted,
      untracked: local.untracked,
      onLimitedErrors: this.onLimitedErrors
    }
    if (this.shared !== undefined) s.shared = this.shared.stats()
    return s
  }

  /**
   * Closes the shared store (waiting at most closeGraceMs; the Redis store
   * closes its subscriber, never the user's client) and drops all state.
   * Answers still pending are ignored. Never rejects.
   */
  async close (): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.shared?.stop()
    if (this.store !== undefined) await closeStore(this.store, this.closeGraceMs, this.log)
    this.local.close()
    this.blocks.clear()
  }

  // A usable answer of the shared store to `call`'s hit. Its count covers
  // every instance: a block it holds is mirrored here, and announced here
  // only if this hit started it and this process did not hold the block yet
  // (it then announced it itself, or learnt it from another instance).
  private readonly settle = (call: SharedCall, count: number, blockedMs: unknown, started: unknown): void => {
    const rule = call.rule as LimitRule
    const { key, now } = call
    let ms = typeof blockedMs === 'number'
      ? blockedMs
      : count > rule.max ? rule.windowMs - (now % rule.windowMs) : 0
    if (!(ms > 0)) return
    if (ms > rule.windowMs) ms = rule.windowMs
    const had = this.blocks.until(key, now) !== 0
    this.hold(key, now + ms, now)
    // Without `started`, the hit whose count is max + 1 started the block.
    const here = typeof started === 'boolean' ? started : count === rule.max + 1
    if (here && !had) this.notify(call.ip, key, rule, count, ms, now)
  }

  // A block decided elsewhere, delivered by the store's subscription. Never
  // throws. It lasts at most the window of its class's rule (a class without
  // a rule here: ignored), or the longest window when the store names none.
  private readonly onSharedBlock = (key: string, blockedMs: number, classification?: LimitClass): void => {
    // A key longer than any limiter key (an IPv6 /64 is 24 characters) is not one: a
    // publisher or a store delivering megabyte keys must not fill the block table.
    if (this.closed || typeof key !== 'string' || key.length > MAX_KEY_LENGTH || typeof blockedMs !== 'number' || !(blockedMs > 0)) return
    let longest = this.longestWindow
    if (classification !== undefined) {
      const rule = typeof classification === 'string' ? this.rules.get(classification) : undefined
      if (rule === undefined) return
      longest = rule.windowMs
    }
    const now = Date.now()
    this.hold(key, now + Math.min(blockedMs, longest), now)
  }

  private notify (ip: string, key: string, rule: LimitRule, count: number, ms: number, now: number): void {
    if (this.onBlock !== undefined) {
      try {
        this.onBlock(key, rule.classification, ms, now)
      } catch {} // the edge sync's offer never throws; a bug there must not cost the user's hook
    }
    const fn = this.onLimited
    if (fn === undefined) return
    try {
      const result: unknown = fn(ip, { classification: rule.classification, count, max: rule.max, retryAfterMs: ms, enforced: this.enforce, key })
      // An async hook (a ban-list API call) must not leave an unhandled rejection behind.
      if (result !== null && typeof result === 'object' && typeof (result as { then?: unknown }).then === 'function') {
        Promise.resolve(result).catch(this.onLimitedError)
      }
    } catch (err) {
      this.onLimitedError(err)
    }
  }

  // The user's hook must never break a request: its errors go to the guard
  // (the onError option), or, used alone, to one warning; all are counted.
  private readonly onLimitedError = (err: unknown): void => {
    const first = this.onLimitedErrors++ === 0
    if (this.onHookError !== undefined) this.onHookError(err)
    else if (first) this.log.warn({ err: describe(err) }, 'appfirewall: onLimited threw; the error is ignored')
  }
}

/**
 * Closes a store, waiting at most `graceMs` (clamped to the timer limit); a
 * close that throws, rejects or runs late is logged, never thrown. Also for
 * a store the plugin never used (off mode, nothing limited): `close()` is
 * still called once, by `app.close()`.
 */
export async function closeStore (store: LimitStore, graceMs: number, log: PluginLog): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  try {
    const closing = store.close()
    if (typeof (closing as Promise<void> | undefined)?.then !== 'function') return
    const late = new Promise<'late'>((resolve) => { timer = setTimeout(resolve, timerDelay(graceMs), 'late') })
    if (await Promise.race([closing, late]) === 'late') {
      log.warn({ graceMs }, 'appfirewall: the rate limit store did not close within the grace period; not waiting for it')
    }
  } catch (err) {
    log.warn({ err: describe(err) }, 'appfirewall: the rate limit store failed to close; the error is ignored')
  } finally {
    if (timer !== undefined) clearTimeout(timer)
  }
}
