/**
 * Fixed-capacity FIFO of event lines that drops the oldest entry when full.
 * Preallocated once, so a push is an index bump and a store: no allocation,
 * no resizing under a flood. `push` returns true when it had to drop.
 */
export class Ring<T> {
  private readonly buf: Array<T | undefined>
  private head = 0 // index of the oldest entry
  private len = 0

  constructor (readonly capacity: number) {
    this.buf = new Array<T | undefined>(capacity).fill(undefined)
  }

  get size (): number {
    return this.len
  }

  /** Appends; when full, overwrites the oldest and returns true. */
  push (item: T): boolean {
    const cap = this.capacity
    if (this.len < cap) {
      this.buf[(this.head + this.len) % cap] = item
      this.len++
      return false
    }
    this.buf[this.head] = item
    this.head = (this.head + 1) % cap
    return true
  }

  /** Removes and returns up to `max` of the oldest entries, in order. */
  shift (max: number): T[] {
    const n = Math.min(max, this.len)
    const out = new Array<T>(n)
    const cap = this.capacity
    for (let i = 0; i < n; i++) {
      const idx = (this.head + i) % cap
      out[i] = this.buf[idx] as T
      this.buf[idx] = undefined
    }
    this.head = (this.head + n) % cap
    this.len -= n
    return out
  }

  /** Removes every entry without copying them out; returns how many there were. */
  clear (): number {
    const n = this.len
    this.buf.fill(undefined)
    this.head = 0
    this.len = 0
    return n
  }
}
