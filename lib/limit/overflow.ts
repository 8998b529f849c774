import { randomBytes } from 'node:crypto'
import { estimate, windowStart } from './store'

// Rows of the sketch: an estimate is wrong only if all of them collide.
const DEPTH = 4
const MIN_WIDTH = 4096
const MAX_WIDTH = 32_768
// Standard deviations of collision noise discounted on top of its mean (see incr).
const NOISE_SIGMAS = 4

/**
 * Approximate counts, in fixed memory, of the keys the in-process store had
 * no room for (every record it looked at was a hot key): a count-min sketch
 * with conservative update (Estan and Varghese, 2002), windowed like every
 * store (fixed windows with carry), so that filling the table with keys held
 * just under their limit does not blind the limiter to a new one.
 *
 * A cell only ever overcounts (other keys collide into it), so the raw
 * estimate never falls short; but a flood of one-shot keys through the sketch
 * would lift every cell over the limit, and then everyone who probes once is
 * blocked. So the estimate returned is the raw one minus the collision noise
 * a row can hold: its mean (other keys' hits / width) plus 4 standard
 * deviations, rounded up. Every row must exceed that for a key to be
 * overcounted past its limit: with Poisson noise, odds below 1e-11 per key
 * whatever the limit. With no other key counted here (the table filled, then
 * a new scanner) counts are exact; under a flood a newcomer is blocked only
 * once it clearly stands out from the noise (about 5 standard deviations),
 * never for the flood itself. Rows are indexed from a per-process random
 * seed, so collisions cannot be aimed at a key.
 *
 * One per rate-limited class (its window), made on the first hit with no
 * room: 32 bytes per column, 128 KB to 1 MB.
 */
export class OverflowSketch {
  private readonly mask: number
  private current: Uint32Array
  private previous: Uint32Array
  // Start of the window `current` counts, in epoch ms; -1 before the first hit.
  private start = -1
  // Hits counted in `current` and in `previous`.
  private hits = 0
  private previousHits = 0
  private readonly cells = new Int32Array(DEPTH)
  private readonly seed = randomBytes(4).readInt32LE(0)

  /** `keys`: the store's record cap, which sizes the rows; `windowMs`: the class's window. */
  constructor (keys: number, private readonly windowMs: number) {
    let width = MIN_WIDTH
    while (width < keys && width < MAX_WIDTH) width *= 2
    this.mask = width - 1
    this.current = new Uint32Array(DEPTH * width)
    this.previous = new Uint32Array(DEPTH * width)
  }

  /** Counts one hit of `key` at `now` (epoch ms); returns its carry-weighted estimate, this hit included. */
  incr (key: string, now: number): number {
    const w = this.windowMs
    const start = windowStart(now, w)
    // Only roll forward, like the store: a clock that steps back keeps counting in the stored window.
    if (start > this.start) {
      if (this.start === start - w) {
        const t = this.previous
        this.previous = this.current
        this.current = t
        this.previousHits = this.hits
      } else {
        this.previous.fill(0)
        this.previousHits = 0
      }
      this.current.fill(0)
      this.hits = 0
      this.start = start
    }
    this.hits++
    // Two 32-bit FNV-1a style hashes of the key, combined per row (Kirsch and Mitzenmacher).
    let h1 = 0x811c9dc5 ^ this.seed
    let h2 = 0x01000193 + this.seed
    for (let i = 0; i < key.length; i++) {
      const c = key.charCodeAt(i)
      h1 = Math.imul(h1 ^ c, 0x01000193)
      h2 = Math.imul(h2 ^ c, 0x5bd1e995) ^ (h2 >>> 15)
    }
    h1 = mix(h1)
    h2 = mix(h2) | 1
    const width = this.mask + 1
    let low = Infinity
    let carried = Infinity
    for (let row = 0; row < DEPTH; row++) {
      const cell = row * width + ((h1 + Math.imul(row, h2)) & this.mask)
      this.cells[row] = cell
      const c = this.current[cell] as number
      if (c < low) low = c
      const p = this.previous[cell] as number
      if (p < carried) carried = p
    }
    // Conservative update: raise only the cells below the new estimate.
    const count = low + 1
    for (let row = 0; row < DEPTH; row++) {
      const cell = this.cells[row] as number
      if ((this.current[cell] as number) < count) this.current[cell] = count
    }
    const elapsed = now - this.start > 0 ? now - this.start : 0
    const raw = estimate(carried, count, elapsed, w)
    // The noise a row may hold: the hits of other keys (all hits but this
    // key's estimate) in this window and the carried share of the previous
    // one, spread over the row's width.
    const others = (this.hits - count) + (this.previousHits - carried) * (w - elapsed) / w
    const mean = others > 0 ? others / width : 0
    const noise = Math.ceil(mean + NOISE_SIGMAS * Math.sqrt(mean))
    return raw - noise > 1 ? raw - noise : 1
  }
}

/** murmur3's finalizer: every input bit reaches the low bits the rows are indexed by. */
function mix (h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b)
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35)
  return h ^ (h >>> 16)
}
