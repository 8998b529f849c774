import type { PluginLog } from '../guard'
/**
 * Where finished event lines go: the Batcher, in front of the mode's exporter
 * (HTTP for `ship`, a file for `local`). The plugin only talks to this.
 *
 * Contract:
 * - `push` is called on the request path: synchronous, O(1), never throws,
 *   never does I/O itself, never starts a timer per call. It counts
 *   `counters.emitted` and, when the queue is full, `counters.dropped.overflow`;
 *   after close, `counters.dropped.shutdown`.
 * - Every pushed line ends up counted exactly once in `counters.sent` or one
 *   of `counters.dropped.*`, or is still `queued()` / `inFlight()`: at every
 *   moment, also after close, emitted = sent + dropped + queued + inFlight.
 * - `flush(timeoutMs)` resolves true once everything pushed before the call
 *   has been sent or dropped, false when the timeout came first. Never
 *   rejects. Its bounding timer is ref'd while pending.
 * - `close(graceMs)` stops timers, flushes within the grace period, drops and
 *   counts (`dropped.shutdown`) what is left, releases sockets and files.
 *   Never rejects, never takes longer than graceMs plus a small margin.
 * - Timer delays above 2^31-1 ms are clamped (see lib/timer-delay.ts).
 * - Idle timers and sockets are unref'd: a sink never keeps a process alive.
 */
export interface Sink {
  /** `custom`: a record() line, dropped before any http_request line and never pushing one out. */
  push: (line: string, custom?: boolean) => void
  queued: () => number
  inFlight: () => number
  flush: (timeoutMs?: number) => Promise<boolean>
  close: (graceMs: number) => Promise<void>
}

/** `log` with its throws swallowed: a logger that fails must not stop shipping. */
export function safeLogger (log: PluginLog): PluginLog {
  return {
    warn: (obj, msg) => {
      try {
        log.warn(obj, msg)
      } catch {}
    },
    info: (obj, msg) => {
      try {
        log.info(obj, msg)
      } catch {}
    }
  }
}
