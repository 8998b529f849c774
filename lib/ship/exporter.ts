/**
 * The transport half of shipping: what the Batcher hands each batch to. One
 * implementation per mode (HttpExporter for `ship`, FileExporter for `local`);
 * the Batcher (queue, batching, flush, close, counting) is the same for both,
 * as OpenTelemetry JS keeps BatchSpanProcessorBase apart from its exporters.
 *
 * Contract:
 * - The Batcher calls `export` with one batch at a time, never two at once,
 *   and only once `readyAt(Date.now())` is not in the future.
 * - `export` never rejects. It resolves with what became of every line it was
 *   given: the six line counts of the result add up to `lines.length`.
 * - When `signal` aborts (the close grace period is over), `export` stops
 *   waiting and sending as soon as it can and counts what it could not
 *   deliver as `shutdown`; what was delivered before still counts as `sent`.
 *   Its reason is a coded error (FST_APPFIREWALL_CLOSED).
 * - An exporter may keep the transport counters (`failures`, `lastStatus`,
 *   `lastSendAt`, `breaker`) itself; `sent`, `dropped.*` and `batches` are the
 *   Batcher's, from the results.
 * - Timers and sockets it keeps while idle are unref'd.
 */
export interface Exporter {
  /**
   * Earliest time (epoch ms) an export is worth starting: later than `now`
   * while the transport is paused (an open circuit breaker, a Retry-After
   * hold). The Batcher leaves lines in its ring until then, so that a full
   * ring keeps the newest events during an outage.
   */
  readyAt: (now: number) => number
  /** Delivers `lines` (one NDJSON line each, no newline), retrying as the transport sees fit. */
  export: (lines: string[], signal: AbortSignal) => Promise<ExportResult>
  /**
   * Close has begun: stop waiting out pauses that only protect a live ingest
   * (an open breaker's cooldown) and try now, since this is the last chance.
   * Pauses the far side asked for (Retry-After) still hold. Never throws.
   */
  closing: () => void
  /** Releases sockets and files. Called once, after the last export settled or was abandoned. Never rejects. */
  shutdown: () => Promise<void>
}

/** Drop reasons an exporter can report (the keys of `stats().dropped` that belong to delivery). */
export type ExportDrop = 'rejected' | 'breaker' | 'serialization' | 'io' | 'shutdown'

/**
 * What became of the lines of one `export` call: `sent` plus one count per
 * drop reason, adding up to the number of lines; and `deliveries`, the number
 * of successful deliveries (2xx answers, appends), which a 413 split can make
 * more than one.
 */
export type ExportResult = Record<'sent' | ExportDrop | 'deliveries', number>

/** A result with every count at zero, for an exporter to fill in. */
export function emptyResult (): ExportResult {
  return { sent: 0, rejected: 0, breaker: 0, serialization: 0, io: 0, shutdown: 0, deliveries: 0 }
}

/**
 * The NDJSON text of a batch as UTF-8 bytes, equal to
 * `Buffer.from(lines.join('\n') + '\n')`: every line and its `\n` written
 * straight into one buffer. The join built one string of the whole batch
 * (flattening every line's concatenation tree into it), which was then
 * scanned for its UTF-8 length and copied into a Buffer; here each line is
 * converted once. The buffer starts at one byte per character (what ASCII
 * takes) and grows only when a line may not fit: it ends at most about twice
 * the body, and while it grows the old and the new one are both alive (about
 * three times the body, as the join's string beside its Buffer was).
 */
export function ndjsonBytes (lines: readonly string[]): Buffer {
  if (lines.length === 0) return Buffer.from('\n')
  let chars = lines.length
  for (const line of lines) chars += line.length
  let buf = Buffer.allocUnsafe(chars)
  let off = 0
  let left = chars // characters (and newlines) not written yet
  for (const line of lines) {
    left -= line.length + 1
    // A UTF-16 unit is at most 3 bytes of UTF-8: only a line that might not fit is measured.
    if (buf.length - off < 3 * line.length + 1) {
      const need = Buffer.byteLength(line) + 1
      if (buf.length - off < need + left) {
        const bigger = Buffer.allocUnsafe(Math.max(2 * buf.length, off + need + left))
        buf.copy(bigger, 0, 0, off)
        buf = bigger
      }
    }
    off += buf.write(line, off, 'utf8')
    buf[off++] = 0x0a
  }
  return buf.subarray(0, off)
}
