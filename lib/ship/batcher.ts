import type { Counters } from '../counters'
import { FST_APPFIREWALL_CLOSED } from '../errors'
import { defaults } from '../options'
import { emptyResult } from './exporter'
import type { Exporter, ExportResult } from './exporter'
import { EventQueue, type QueueMark } from './queue'
import { safeLogger } from './sink'
import type { Sink } from './sink'
import type { PluginLog } from '../guard'
import { timerDelay } from '../timer-delay'

// Once the grace period is over the export under way is aborted. It usually
// reports within a few ms (an aborted POST, an append that finished), and is
// then counted by what really happened; past this wait it is counted as
// dropped at shutdown and its late answer ignored, so close stays bounded.
// The HTTP exporter waits up to CLOSE_ANSWER_WAIT_MS (150 ms) for the answer
// of an aborted POST: that wait must stay below this one.
const ABORT_WAIT_MS = 200

export interface BatcherOptions {
  /** Where batches go: HttpExporter (`ship`) or FileExporter (`local`). */
  exporter: Exporter
  counters: Counters
  log: PluginLog
  /** Lines the queue holds; when full, the oldest is dropped (`dropped.overflow`), custom events first. */
  queueSize: number
  /**
   * Bytes the queue holds (each line counted as its length + 512, see
   * LINE_OVERHEAD_BYTES); past it the oldest are dropped (`dropped.overflow`),
   * custom events first. Default: `defaults.maxQueueBytes` (16 MiB).
   */
  maxQueueBytes?: number
  /** Most lines per export; a full batch goes out at once. */
  batchSize: number
  /** A partial batch goes out after this many ms (clamped to 2^31-1). */
  flushIntervalMs: number
}

interface Waiter {
  /** What it waits for: every line queued before this mark sent or dropped (null: everything, ever). */
  target: QueueMark | null
  resolve: (ok: boolean) => void
  timer: NodeJS.Timeout | null
}

/**
 * The sink of both modes: a fixed drop-oldest queue of finished NDJSON lines,
 * bounded in lines and in bytes, drained out of band into an Exporter, one
 * batch at a time. Custom events (record()) are dropped before http_request
 * events and never push one out (see EventQueue).
 *
 * The request path only calls `push` (a counter, a store into a preallocated
 * ring and, once per full batch, a setImmediate). Batches leave when full,
 * when the one interval fires, when a flush waits, or at close; `pump` is the
 * only code that exports and never runs twice at once. The batch being
 * exported is held outside the queue and counted in flight, so that at every moment
 * emitted = sent + dropped + queued + inFlight. `sent`, `dropped.*` and
 * `batches` are counted here, from each export's result.
 */
export class Batcher implements Sink {
  private readonly exporter: Exporter
  private readonly counters: Counters
  private readonly log: PluginLog
  private readonly queue: EventQueue
  private readonly batchSize: number
  private readonly interval: NodeJS.Timeout
  /** Aborted when the close grace period is over: the export under way stops. */
  private readonly stop = new AbortController()

  /** Lines of the export under way (0 when none); the queue remembers which they were (takenBefore). */
  private inFlightCount = 0
  private readonly waiters: Waiter[] = []
  /** True from the moment something will run `pump` (immediate, running, or wake timer) until it exits idle. */
  private scheduled = false
  /** Armed while the exporter is paused (open breaker, Retry-After) and lines wait. */
  private wake: NodeJS.Timeout | null = null
  /** Set by the interval: a partial batch may go out. */
  private partialDue = false
  /** close() has begun: partial batches go out at once. */
  private closing = false
  /** The grace period is over: pushes are dropped at once and nothing more is exported. */
  private closed = false
  /** The export under way was counted as dropped at shutdown; its late result is ignored. */
  private abandoned = false
  private closePromise: Promise<void> | null = null
  private overflowWarned = false

  constructor (opts: BatcherOptions) {
    this.exporter = opts.exporter
    this.counters = opts.counters
    this.log = safeLogger(opts.log)
    this.queue = new EventQueue(opts.queueSize, opts.maxQueueBytes ?? defaults.maxQueueBytes)
    this.batchSize = opts.batchSize
    this.interval = setInterval(this.onTick, timerDelay(opts.flushIntervalMs))
    this.interval.unref()
  }

  /**
   * `custom`: a custom event (record()), which is dropped before any
   * http_request event and never pushes one out. Without it the line is
   * evidence (an http_request event).
   */
  push (line: string, custom?: boolean): void {
    this.counters.emitted++
    if (this.closed) {
      this.counters.dropped.shutdown++
      return
    }
    const dropped = this.queue.push(line, custom === true)
    if (dropped !== 0) {
      this.counters.dropped.overflow += dropped
      if (!this.overflowWarned) this.warnOverflow()
      if (this.waiters.length !== 0) this.checkWaiters()
    }
    // Deferred, not run here: taking a batch and starting its export is work
    // the request that happened to fill the batch should not pay for.
    if (!this.scheduled && this.queue.size >= this.batchSize) {
      this.scheduled = true
      setImmediate(this.run)
    }
  }

  queued (): number {
    return this.queue.size
  }

  inFlight (): number {
    return this.inFlightCount
  }

  flush (timeoutMs: number = defaults.closeGraceMs): Promise<boolean> {
    return this.waitFor(this.queue.mark(), timeoutMs)
  }

  close (graceMs: number): Promise<void> {
    if (this.closePromise === null) this.closePromise = this.shutdown(graceMs)
    return this.closePromise
  }

  private async shutdown (graceMs: number): Promise<void> {
    this.closing = true
    clearInterval(this.interval)
    this.exporter.closing()
    if (this.wake !== null) {
      // The pause may have been the breaker's cooldown, which closing() ended.
      clearTimeout(this.wake)
      this.wake = null
      this.run()
    }
    // Everything, also what requests still finishing during the grace push.
    await this.waitFor(null, graceMs)
    this.closed = true
    if (this.wake !== null) {
      clearTimeout(this.wake)
      this.wake = null
    }
    this.counters.dropped.shutdown += this.queue.clear()
    if (this.inFlightCount !== 0) {
      this.stop.abort(new FST_APPFIREWALL_CLOSED('an export of events'))
      await this.waitFor(null, ABORT_WAIT_MS)
      if (this.inFlightCount !== 0) {
        this.abandoned = true
        this.counters.dropped.shutdown += this.inFlightCount
        this.inFlightCount = 0
      }
    }
    this.checkWaiters()
    await this.exporter.shutdown().catch(this.onShutdownError)
  }

  private readonly onTick = (): void => {
    if (this.queue.size === 0) return
    this.partialDue = true
    if (!this.scheduled) this.kick()
  }

  private readonly onWake = (): void => {
    this.wake = null
    this.run()
  }

  private kick (): void {
    this.scheduled = true
    this.run()
  }

  private readonly run = (): void => {
    this.pump().catch(this.onPumpError)
  }

  private readonly onPumpError = (err: unknown): void => {
    // Not expected: export never rejects and is caught anyway. Leave the
    // pump restartable by the next tick rather than wedged.
    this.scheduled = false
    this.log.warn({ err }, 'appfirewall: event batcher error')
  }

  private readonly onShutdownError = (err: unknown): void => {
    this.log.warn({ err }, 'appfirewall: event exporter did not shut down cleanly')
  }

  private hasWork (): boolean {
    const size = this.queue.size
    return size >= this.batchSize || (size !== 0 && (this.partialDue || this.closing || this.waiters.length !== 0))
  }

  /**
   * The only code that exports. Exits when there is nothing to send, or arms
   * the single wake timer when the exporter is paused and exits; lines stay
   * in the queue meanwhile, so a full queue keeps the newest.
   */
  private async pump (): Promise<void> {
    for (;;) {
      if (this.closed || !this.hasWork()) break
      const now = Date.now()
      const at = this.exporter.readyAt(now)
      if (at > now) {
        this.wake = setTimeout(this.onWake, timerDelay(at - now))
        this.wake.unref()
        return
      }
      const lines = this.queue.take(this.batchSize)
      this.partialDue = false
      this.inFlightCount = lines.length
      let result: ExportResult
      try {
        result = await this.exporter.export(lines, this.stop.signal)
      } catch (err) {
        // Breaks the exporter contract; still, every line must be counted once.
        result = emptyResult()
        result.io = lines.length
        this.log.warn({ err }, 'appfirewall: event exporter failed; its batch is dropped (counted as dropped.io)')
      }
      if (this.abandoned) break
      this.settle(result)
    }
    this.scheduled = false
  }

  private settle (r: ExportResult): void {
    const c = this.counters
    c.sent += r.sent
    c.dropped.rejected += r.rejected
    c.dropped.breaker += r.breaker
    c.dropped.serialization += r.serialization
    c.dropped.io += r.io
    c.dropped.shutdown += r.shutdown
    c.batches += r.deliveries
    this.inFlightCount = 0
    if (this.waiters.length !== 0) this.checkWaiters()
  }

  private waitFor (target: QueueMark | null, timeoutMs: number): Promise<boolean> {
    if (this.settledUpTo(target)) return Promise.resolve(true)
    return new Promise<boolean>((resolve) => {
      const waiter: Waiter = { target, resolve, timer: null }
      // Ref'd on purpose: if the caller awaits this and nothing else is left
      // in the loop, an unref'd timer would let the promise hang unsettled.
      waiter.timer = setTimeout(() => {
        const i = this.waiters.indexOf(waiter)
        if (i !== -1) this.waiters.splice(i, 1)
        resolve(false)
      }, timerDelay(timeoutMs))
      this.waiters.push(waiter)
      if (!this.scheduled) this.kick()
    })
  }

  /** True when every line queued before `target` (null: every line) is sent or dropped. */
  private settledUpTo (target: QueueMark | null): boolean {
    if (target === null) return this.inFlightCount === 0 && this.queue.size === 0
    if (this.inFlightCount !== 0 && this.queue.takenBefore(target)) return false
    return this.queue.drainedTo(target)
  }

  private checkWaiters (): void {
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      const w = this.waiters[i] as Waiter
      if (this.settledUpTo(w.target)) {
        this.waiters.splice(i, 1)
        if (w.timer !== null) clearTimeout(w.timer)
        w.resolve(true)
      }
    }
  }

  private warnOverflow (): void {
    this.overflowWarned = true
    this.log.warn({ queueSize: this.queue.capacity, maxQueueBytes: this.queue.maxBytes }, 'appfirewall: event queue full, dropping the oldest events (custom events first)')
  }
}
