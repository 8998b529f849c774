/**
 * Bytes a queued line is counted for: its length, plus what V8 keeps beside
 * the characters. A line is held as one byte per character (ASCII and
 * Latin-1 text; two per character only for lines with other text), and an
 * http_request line, built by concatenation, as a tree of about 16 pieces of
 * 32 bytes: measured 556 bytes beyond the length of a 317-character line.
 * `line.length` is O(1) and allocates nothing; Buffer.byteLength would first
 * flatten that tree, a copy of every line on the request path (~2 µs each).
 * Text read from HTTP/1 heads is Latin-1 (one byte a character); a line with
 * a character past U+00FF (an HTTP/2 header decoded as UTF-8) is held in up
 * to twice what is counted.
 */
export const LINE_OVERHEAD_BYTES = 512

// A character past U+00FF makes V8 hold the whole string in two bytes a character.
const TWO_BYTE = /[\u0100-\uffff]/

/**
 * Bytes a custom line is counted for: as http_request lines, but read, not
 * assumed: a custom line may hold any text the app recorded, and one
 * character past U+00FF doubles what V8 holds. (Off the per-request path:
 * only lines from record() pay for the scan.)
 */
function customLineBytes (line: string): number {
  return (TWO_BYTE.test(line) ? 2 * line.length : line.length) + LINE_OVERHEAD_BYTES
}

/** One lane of the EventQueue: a preallocated FIFO of lines, no resizing, no allocation per push. */
class Lane {
  readonly lines: Array<string | undefined>
  /** Custom lane only: for each line, how many http_request lines had been queued before it (its place in push order). */
  readonly before: Float64Array | null
  head = 0
  len = 0
  /** Lines ever queued in this lane; `queued - len` is the sequence number of the oldest one. */
  queued = 0
  /** Bytes of the lines held: length + LINE_OVERHEAD_BYTES each, or customLineBytes() in the custom lane. */
  bytes = 0

  constructor (readonly capacity: number, ordered: boolean) {
    this.lines = new Array<string | undefined>(capacity).fill(undefined)
    this.before = ordered ? new Float64Array(capacity) : null
  }

  /** Appends; the caller has made room. `size`: what the line is counted for. */
  add (line: string, before: number, size: number): void {
    let i = this.head + this.len
    if (i >= this.capacity) i -= this.capacity
    this.lines[i] = line
    if (this.before !== null) this.before[i] = before
    this.len++
    this.queued++
    this.bytes += size
  }

  /** Removes and returns the oldest line (the lane is not empty). */
  take (): string {
    const line = this.lines[this.head] as string
    this.lines[this.head] = undefined
    if (++this.head === this.capacity) this.head = 0
    this.len--
    this.bytes -= this.before === null ? line.length + LINE_OVERHEAD_BYTES : customLineBytes(line)
    return line
  }

  /** `before` of the oldest line (the custom lane is not empty). */
  headBefore (): number {
    return (this.before as Float64Array)[this.head] as number
  }

  clear (): number {
    const n = this.len
    this.lines.fill(undefined)
    this.head = 0
    this.len = 0
    this.bytes = 0
    return n
  }
}

/**
 * How far pushing had gone at one moment: the number of http_request lines
 * and of custom lines queued so far. A flush waits until every line before
 * its mark is sent or dropped.
 */
export interface QueueMark {
  evidence: number
  custom: number
}

/**
 * The Batcher's queue: at most `capacity` lines and `maxBytes` bytes (see
 * LINE_OVERHEAD_BYTES), in two lanes that one budget is shared by.
 *
 * http_request lines are the evidence; custom lines (from record()) must never
 * push them out. Past either limit the oldest custom lines are dropped first;
 * only when none is left does an http_request line push out the oldest
 * http_request line. A custom line that finds the queue full of http_request
 * lines is itself dropped. Either kind may use the whole queue while the other
 * is absent, so an app that never records keeps exactly the old drop-oldest
 * queue of `capacity` lines.
 *
 * `take` returns lines in push order across both lanes. The custom lane is
 * made on the first custom line: an app that never records pays nothing for it.
 */
export class EventQueue {
  private readonly evidence: Lane
  private custom: Lane | null = null
  /** Sequence ranges [start, end) of the last take, per lane: what is in flight. */
  private takenEvidence = 0
  private takenEvidenceEnd = 0
  private takenCustom = 0
  private takenCustomEnd = 0

  constructor (readonly capacity: number, readonly maxBytes: number) {
    this.evidence = new Lane(capacity, false)
  }

  /** Lines held. */
  get size (): number {
    return this.evidence.len + (this.custom === null ? 0 : this.custom.len)
  }

  /** Bytes held, as lineBytes() counts them. */
  get bytes (): number {
    return this.evidence.bytes + (this.custom === null ? 0 : this.custom.bytes)
  }

  /**
   * Queues a line; returns how many lines were dropped for it (0 almost
   * always; 1 when a full queue pushes out one line; the line itself when a
   * custom line finds no room). Amortised O(1): a line is dropped at most
   * once, so one push drops at most about lineBytes(line) / LINE_OVERHEAD_BYTES
   * older lines.
   */
  push (line: string, custom: boolean): number {
    if (custom) return this.pushCustom(line, customLineBytes(line))
    const size = line.length + LINE_OVERHEAD_BYTES
    const ev = this.evidence
    let dropped = 0
    if (this.size >= this.capacity || this.bytes + size > this.maxBytes) dropped = this.makeRoom(size)
    ev.add(line, 0, size)
    return dropped
  }

  /** The mark of this moment (see QueueMark). */
  mark (): QueueMark {
    return { evidence: this.evidence.queued, custom: this.custom === null ? 0 : this.custom.queued }
  }

  /** True when no line queued before `mark` is still held (lines in flight are the Batcher's to check, with inFlightBefore). */
  drainedTo (mark: QueueMark): boolean {
    const ev = this.evidence
    if (ev.len !== 0 && ev.queued - ev.len < mark.evidence) return false
    const cu = this.custom
    return cu === null || cu.len === 0 || cu.queued - cu.len >= mark.custom
  }

  /** True when the last take held a line queued before `mark`. */
  takenBefore (mark: QueueMark): boolean {
    return (this.takenEvidence < this.takenEvidenceEnd && this.takenEvidence < mark.evidence) ||
      (this.takenCustom < this.takenCustomEnd && this.takenCustom < mark.custom)
  }

  /** Removes and returns up to `max` of the oldest lines, in push order. */
  take (max: number): string[] {
    const ev = this.evidence
    const cu = this.custom
    const n = Math.min(max, this.size)
    const out = new Array<string>(n)
    this.takenEvidence = ev.queued - ev.len
    this.takenCustom = cu === null ? 0 : cu.queued - cu.len
    for (let i = 0; i < n; i++) {
      // A custom line goes first when no more http_request lines had been queued before it than have left.
      const fromCustom = cu !== null && cu.len !== 0 && (ev.len === 0 || cu.headBefore() <= ev.queued - ev.len)
      out[i] = fromCustom ? cu.take() : ev.take()
    }
    this.takenEvidenceEnd = ev.queued - ev.len
    this.takenCustomEnd = cu === null ? 0 : cu.queued - cu.len
    return out
  }

  /** Removes every line; returns how many there were. */
  clear (): number {
    return this.evidence.clear() + (this.custom === null ? 0 : this.custom.clear())
  }

  private pushCustom (line: string, size: number): number {
    const ev = this.evidence
    // Room that only http_request lines could free is not for a custom line.
    if (ev.len >= this.capacity || ev.bytes + size > this.maxBytes) return 1
    const cu = this.custom ?? (this.custom = new Lane(this.capacity, true))
    let dropped = 0
    while (cu.len !== 0 && (ev.len + cu.len >= this.capacity || ev.bytes + cu.bytes + size > this.maxBytes)) {
      cu.take()
      dropped++
    }
    cu.add(line, ev.queued, size)
    return dropped
  }

  /** Drops the oldest custom lines, then the oldest http_request lines, until `size` more bytes and one more line fit. */
  private makeRoom (size: number): number {
    const ev = this.evidence
    const cu = this.custom
    let dropped = 0
    if (cu !== null) {
      while (cu.len !== 0 && (ev.len + cu.len >= this.capacity || ev.bytes + cu.bytes + size > this.maxBytes)) {
        cu.take()
        dropped++
      }
    }
    const cuLen = cu === null ? 0 : cu.len
    const cuBytes = cu === null ? 0 : cu.bytes
    // An http_request line larger than the whole budget still goes in, alone.
    while (ev.len !== 0 && (ev.len + cuLen >= this.capacity || ev.bytes + cuBytes + size > this.maxBytes)) {
      ev.take()
      dropped++
    }
    return dropped
  }
}
