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
