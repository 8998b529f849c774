import { estimate, windowStart, type LimitRule, type LimitStore } from './store'
import { OverflowSketch } from './overflow'

// How many records one eviction round looks at, and how many rounds it may
// take. Bounded work per new key, whatever the store holds.
const SCAN = 32
const ROUNDS = 2
// Counter records are allocated in chunks of this many, up to the cap.
const INITIAL_RECORDS = 1024

const COLD = -1
const HOT = 2

/** Counters of the in-process store, for the limiter's stats and tests. */
export type LocalStoreStats = {
  /** Keys with a counter record (at most maxKeys). */
  tracked: number
  /** Records dropped to make room for new keys. */
  evicted: number
  /** Hits of keys without a record (every record looked at was a hot offender), counted in the overflow sketch. */
  untracked: number
}

/**
 * The in-process store: synchronous, so `incr` returns the count itself. Each
 * key maps to a record number; the counters live in one Float64Array,
 * `[windowStart, current, previous]` per rate-limited class (at the rule's
 * `index`). So a new key allocates no object of its own (the Map entry aside),
 * the garbage collector has nothing to trace in the counters, and a record
 * costs 24 bytes per class plus the Map entry and the key string.
 *
 * Memory is bounded at `maxKeys` records. When full, a new key makes room with
 * a clock hand that walks the records in Map order, resuming where it stopped
 * (restarting from the front scans the holes V8 leaves behind deleted
 * entries, which made eviction O(deleted) per call). It drops expired and
 * one-shot records (count <= 1) as it passes them, and when a whole round
 * finds none, the coolest record below half its limit. A hot offender (at half
 * its limit or more) is never dropped for a newcomer: the hand passes over it,
 * so a flood of one-shot addresses cycles around it. If every record the hand
 * looks at is hot, the newcomer gets no record rather than an offender being
 * forgotten (counted in `untracked`); its hits are counted in an overflow
 * sketch instead (see OverflowSketch), whose estimate never falls short, so
 * filling the table with keys held under their limit does not blind the
 * limiter to a new one. Blocks are not kept here (the limiter's block table
 * holds them), so dropping a record never lifts a block.
 */
export class LocalStore implements LimitStore {
  private untracked = 0
  private evicted = 0
  private readonly records = new Map<string, number>()
  private readonly width: number
  private data: Float64Array
  // Stack of free record numbers below `high`; records at or above `high` were never used.
  private free: Int32Array
  private freeTop = 0
  private high = 0
  private hand: Iterator<[string, number]>
  // By rule index, made on the first hit that finds no room.
  private readonly overflow: Array<OverflowSketch | undefined> = []

  /** `rules`: every configured class, each at its `index`; `maxKeys`: the most records held. */
  constructor (private readonly rules: readonly LimitRule[], private readonly maxKeys: number) {
    this.width = rules.length * 3
    const n = Math.min(maxKeys, INITIAL_RECORDS)
    this.data = new Float64Array(n * this.width)
    this.free = new Int32Array(n)
    this.hand = this.records.entries()
  }

  /** The count of this hit (see LimitStore for the window). A newcomer that finds no room is counted in the overflow sketch. */
  incr (key: string, rule: LimitRule, now: number): number {
    let r = this.records.get(key)
    if (r === undefined) {
      if (this.records.size >= this.maxKeys && !this.makeRoom(now)) {
        this.untracked++
        const sketch = this.overflow[rule.index] ??= new OverflowSketch(this.maxKeys, rule.windowMs)
        return sketch.incr(key, now)
      }
      r = this.allocate()
      this.records.set(key, r)
    }
    const d = this.data
    const i = r * this.width + rule.index * 3
    const w = rule.windowMs
    const start = windowStart(now, w)
    const stored = d[i] as number
    // Only roll forward: a clock that steps back keeps counting in the stored window.
    if (start > stored) {
      d[i + 2] = stored === start - w ? d[i + 1] as number : 0
      d[i] = start
      d[i + 1] = 0
    }
    const current = (d[i + 1] as number) + 1
    d[i + 1] = current
    const elapsed = now - (d[i] as number)
    return estimate(d[i + 2] as number, current, elapsed > 0 ? elapsed : 0, w)
  }

  stats (): LocalStoreStats {
    return { tracked: this.records.size, evicted: this.evicted, untracked: this.untracked }
  }

  close (): void {
    this.overflow.length = 0
    this.records.clear()
    this.freeTop = 0
    this.high = 0
  }

  /** A zeroed record number: a freed one, else the next never used, growing the arrays up to the cap. */
  private allocate (): number {
    let r: number
    if (this.freeTop > 0) {
      r = this.free[--this.freeTop] as number
    } else {
      r = this.high++
      if (r * this.width >= this.data.length) {
        const n = Math.min(this.maxKeys, Math.max(INITIAL_RECORDS, this.free.length * 2))
        const data = new Float64Array(n * this.width)
        data.set(this.data)
        this.data = data
        const free = new Int32Array(n)
        free.set(this.free)
        this.free = free
      }
    }
    this.data.fill(0, r * this.width, (r + 1) * this.width)
    return r
  }

  private release (key: string, r: number): void {
    this.records.delete(key)
    this.free[this.freeTop++] = r
  }

  /** The next record under the clock hand, wrapping around; undefined when the store is empty. */
  private advance (): [string, number] | undefined {
    let n = this.hand.next()
    if (n.done === true) {
      // A finished iterator stays finished: start a new lap.
      this.hand = this.records.entries()
      n = this.hand.next()
    }
    return n.done === true ? undefined : n.value
  }

  /** Frees at least one record, or returns false when every record looked at is a hot offender. */
  private makeRoom (now: number): boolean {
    let freed = 0
    const limit = Math.min(SCAN, this.records.size)
    for (let round = 0; round < ROUNDS && freed === 0; round++) {
      let victim: string | undefined
      let victimHeat = Infinity
      for (let seen = 0; seen < limit; seen++) {
        const entry = this.advance()
        if (entry === undefined) break
        const key = entry[0]
        const heat = this.heat(entry[1], now)
        if (heat <= COLD) {
          // Deleting the key just visited is safe for a live Map iterator.
          this.release(key, entry[1])
          freed++
        } else if (heat < HOT && heat < victimHeat) {
          victim = key
          victimHeat = heat
        }
      }
      if (freed === 0 && victim !== undefined) {
        this.release(victim, this.records.get(victim) as number)
        freed = 1
      }
    }
    this.evicted += freed
    return freed > 0
  }

  /**
   * How much a record's counts matter now: COLD (expired or one-shot: drop
   * freely), HOT (at half a limit or more: never drop), or in between the
   * highest share of a limit it has used.
   */
  private heat (record: number, now: number): number {
    const d = this.data
    const base = record * this.width
    let top = 0
    let hot = false
    let cold = true
    for (let s = 0; s < this.rules.length; s++) {
      const rule = this.rules[s] as LimitRule
      const i = base + s * 3
      const w = rule.windowMs
      const start = windowStart(now, w)
      const stored = d[i] as number
      let est: number
      if (stored >= start) est = estimate(d[i + 2] as number, d[i + 1] as number, now - start, w)
      else if (stored === start - w) est = estimate(d[i + 1] as number, 0, now - start, w)
      else est = 0
      if (est > 1) cold = false
      if (est * 2 > rule.max) hot = true
      const share = est / rule.max
      if (share > top) top = share
    }
    // A single hit is never hot, even under a limit of 1 or 2: one-shots must stay evictable.
    if (cold) return COLD
    return hot ? HOT : top
  }
}
