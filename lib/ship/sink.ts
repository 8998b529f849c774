/**
 * Where finished event lines go. Implemented by the HTTP shipper (`ship`
 * mode) and the file writer (`local` mode). The plugin only talks to this.
 *
 * Contract:
 * - `push` is called on the request path: synchronous, O(1), never throws,
 *   never does I/O itself, never starts a timer per call. It counts
 *   `counters.emitted` and, when the queue is full, `counters.dropped.overflow`.
 * - Every pushed line ends up counted exactly once in `counters.sent` or one
 *   of `counters.dropped.*`, or is still `queued()` / `inFlight()`.
 * - `flush(timeoutMs)` resolves true once everything pushed before the call
 *   has been sent or dropped, false when the timeout came first. Never
 *   rejects. Its bounding timer is ref'd while pending.
 * - `close(graceMs)` stops timers, flushes within the grace period, drops and
 *   counts (`dropped.shutdown`) what is left, releases sockets and files.
 *   Never rejects, never takes longer than graceMs plus a small margin.
 * - Idle timers and sockets are unref'd: a sink never keeps a process alive.
 */
export interface Sink {
  push: (line: string) => void
  queued: () => number
  inFlight: () => number
  flush: (timeoutMs?: number) => Promise<boolean>
  close: (graceMs: number) => Promise<void>
}

/** Warn-once logger the sinks report state changes through (the Fastify logger, child-tagged). */
export interface SinkLogger {
  warn: (obj: object, msg: string) => void
  info: (obj: object, msg: string) => void
}
