// How many blocks one make-room pass looks at: bounded work per new block.
const SCAN = 32

/**
 * The keys blocked in this process and until when (epoch ms), whoever decided
 * the block: this process's count, a shared store's answer, or a block another
 * instance published. Owned by the limiter, apart from any counter store, so
 * that forgetting a counter record never lifts a block.
 *
 * Bounded: at most `maxKeys` blocks. A new block makes room by dropping the
 * expired blocks under a clock hand (it resumes where it stopped, so the holes
 * V8 leaves behind deleted Map entries are not rescanned), or, with none
 * expired among the 32 it looked at, the first of them. Blocks are only ever
 * set for keys that passed a limit, so a flood of one-shot keys never gets here.
 */
export class BlockTable {
  private readonly blocks = new Map<string, number>()
  // When the longest block held ends: after it, every entry is stale.
  private lastEnd = 0
  private hand: Iterator<string>

  constructor (private readonly maxKeys: number) {
    this.hand = this.blocks.keys()
  }

  /** Blocks held, expired ones included until they are dropped. */
  get size (): number {
    return this.blocks.size
  }

  /** False when no block can be running at `now`: O(1), and forgets every block once the last one has ended. */
  anyBlocked (now: number): boolean {
    if (this.blocks.size === 0) return false
    if (now < this.lastEnd) return true
    this.blocks.clear()
    return false
  }

  /** Epoch ms until which `key` is blocked, or 0. Drops an expired block. */
  until (key: string, now: number): number {
    const until = this.blocks.get(key)
    if (until === undefined) return 0
    if (until <= now) {
      this.blocks.delete(key)
      return 0
    }
    return until
  }

  /** Blocks `key` until `until` (epoch ms); never shortens a longer block already held. */
  set (key: string, until: number, now: number): void {
    if (until > this.lastEnd) this.lastEnd = until
    const held = this.blocks.get(key)
    if (held !== undefined) {
      if (held < until) this.blocks.set(key, until)
      return
    }
    if (this.blocks.size >= this.maxKeys) this.makeRoom(now)
    this.blocks.set(key, until)
  }

  clear (): void {
    this.blocks.clear()
    this.lastEnd = 0
  }

  private makeRoom (now: number): void {
    let freed = 0
    let first: string | undefined
    const limit = Math.min(SCAN, this.blocks.size)
    for (let seen = 0; seen < limit; seen++) {
      let n = this.hand.next()
      if (n.done === true) {
        // A finished iterator stays finished: start a new lap.
        this.hand = this.blocks.keys()
        n = this.hand.next()
      }
      if (n.done === true) break
      const key = n.value
      first ??= key
      if ((this.blocks.get(key) as number) <= now) {
        // Deleting the key just visited is safe for a live Map iterator.
        this.blocks.delete(key)
        freed++
      }
    }
    if (freed === 0 && first !== undefined) this.blocks.delete(first)
  }
}
