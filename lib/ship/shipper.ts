import { gzip } from 'node:zlib'
import { promisify } from 'node:util'
import { Pool } from 'undici'
import { backoffDelay } from './backoff'
import { Breaker } from './breaker'
import type { Counters } from '../counters'
import { parseRetryAfter } from './retry-after'
import { Ring } from './ring'
import { FST_APPFIREWALL_CLOSED, FST_APPFIREWALL_INGEST_TIMEOUT, FST_APPFIREWALL_INVALID_ENDPOINT } from '../errors'
import type { Sink, SinkLogger } from './sink'

const gzipAsync = promisify(gzip)

// An ingest's answer is only its status and Retry-After; anything past this is
// a misbehaving (or hostile) server and is not read, so it cannot grow memory.
const RESPONSE_BODY_CAP = 64 * 1024
const DEFAULT_FLUSH_TIMEOUT_MS = 5000
const DEFAULT_RETRY_BASE_MS = 250
const DEFAULT_RETRY_MAX_MS = 8000
// Node turns a delay above 2^31-1 ms (about 24.8 days) into 1 ms, with a
// warning: a huge option or flush(Infinity) would then fire at once.
const MAX_TIMER_MS = 2147483647

function timerMs (ms: number): number {
  return ms > MAX_TIMER_MS ? MAX_TIMER_MS : ms >= 0 ? ms : 0
}

export interface ShipperOptions {
  endpoint: string
  apiKey: string
  userAgent: string
  counters: Counters
  log: SinkLogger
  queueSize: number
  batchSize: number
  flushIntervalMs: number
  requestTimeoutMs: number
  retryDeadlineMs: number
  maxRetryAfterMs: number
  breakerThreshold: number
  breakerCooldownMs: number
  gzipLevel: number
  /** First retry delay before jitter (default 250 ms); doubles per attempt. */
  retryBaseMs?: number
  /** Largest retry delay before jitter (default 8000 ms). */
  retryMaxMs?: number
}

/** What the shipper does with a batch after an ingest's answer (HTTP status, 0 for no answer). */
export type StatusClass = 'sent' | 'retry' | 'split' | 'reject'

/**
 * Response classes of the OTLP/HTTP specification, which the ingest contract
 * follows: 429, 502, 503, 504 and no answer at all (timeout, refused, reset)
 * are transient; 413 means the batch, not the ingest, is the problem; every
 * other status will not change by resending the same bytes.
 */
export function classifyStatus (status: number): StatusClass {
  if (status >= 200 && status < 300) return 'sent'
  if (status === 0 || status === 429 || status === 502 || status === 503 || status === 504) return 'retry'
  if (status === 413) return 'split'
  return 'reject'
}

interface Batch {
  lines: string[]
  /** Gzipped body, built once and reused by every retry. */
  body: Buffer | null
  /** Position of the first line in push order, so flush() knows what it waits for. */
  start: number
  deadline: number
  notBefore: number
  attempts: number
  /** Counted as sent or dropped: nothing may count it again (close can race a reply). */
  done: boolean
}

interface Waiter {
  target: number
  resolve: (ok: boolean) => void
  timer: NodeJS.Timeout | null
}

type SettleReason = 'sent' | 'rejected' | 'breaker' | 'shutdown' | 'serialization'

function noop (): void {}

/** The plugin validates options first; this guards direct use of the class. */
function parseEndpoint (endpoint: string): URL {
  const url = URL.canParse(endpoint) ? new URL(endpoint) : undefined
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new FST_APPFIREWALL_INVALID_ENDPOINT(JSON.stringify(endpoint))
  }
  return url
}

function abortRequest (ac: AbortController, ms: number): void {
  ac.abort(new FST_APPFIREWALL_INGEST_TIMEOUT(ms))
}

/**
 * `ship` mode sink: a fixed drop-oldest ring of finished NDJSON lines, drained
 * out of band by one sender that POSTs gzipped batches to the ingest, one
 * request in flight at a time.
 *
 * The request path only calls `push` (a counter, a ring store and, once per
 * full batch, a setImmediate). Everything else (gzip, HTTP, retries, the
 * breaker) runs in `pump`, which is the only code that sends and which never
 * runs twice at once. A batch being sent or waiting for a retry is held in
 * `pending`, outside the ring, and counted as in flight, so that at any moment
 * emitted = sent + dropped + queued + inFlight.
 */
export class Shipper implements Sink {
  private readonly counters: Counters
  private readonly log: SinkLogger
  private readonly ring: Ring<string>
  private readonly pool: Pool
  private readonly path: string
  /** Scheme, host and port only, for logs: the path may carry a token. */
  private readonly origin: string
  private readonly headers: Record<string, string>
  private readonly batchSize: number
  private readonly requestTimeoutMs: number
  private readonly retryDeadlineMs: number
  private readonly maxRetryAfterMs: number
  private readonly retryBaseMs: number
  private readonly retryMaxMs: number
  private readonly gzipOptions: { level: number }
  private readonly breaker: Breaker
  private readonly interval: NodeJS.Timeout

  /** Lines ever accepted into the ring; with ring.size gives the ring's read position. */
  private pushed = 0
  private inFlightCount = 0
  private readonly pending: Batch[] = []
  private readonly waiters: Waiter[] = []
  /** True from the moment something will run `pump` (immediate, running, or wake timer) until it exits idle. */
  private scheduled = false
  private wake: NodeJS.Timeout | null = null
  private current: AbortController | null = null
  /** Set by the interval: a partial batch may go out. */
  private partialDue = false
  /** A Retry-After holds every send, not only the batch it answered. */
  private holdUntil = 0
  private closing = false
  private closed = false
  private abandoned = false
  private closePromise: Promise<void> | null = null
  private overflowWarned = false
  private lastError = ''
  private readonly warnedStatuses = new Set<number>()

  constructor (opts: ShipperOptions) {
    const url = parseEndpoint(opts.endpoint)
    this.counters = opts.counters
    this.log = opts.log
    this.ring = new Ring<string>(opts.queueSize)
    this.batchSize = opts.batchSize
    this.requestTimeoutMs = timerMs(opts.requestTimeoutMs)
    this.retryDeadlineMs = opts.retryDeadlineMs
    this.maxRetryAfterMs = opts.maxRetryAfterMs
    this.retryBaseMs = opts.retryBaseMs ?? DEFAULT_RETRY_BASE_MS
    this.retryMaxMs = opts.retryMaxMs ?? DEFAULT_RETRY_MAX_MS
    this.gzipOptions = { level: opts.gzipLevel }
    this.breaker = new Breaker(opts.breakerThreshold, opts.breakerCooldownMs)
    this.path = url.pathname + url.search
    this.origin = url.origin
    this.headers = {
      authorization: `Bearer ${opts.apiKey}`,
      'content-type': 'application/x-ndjson',
      'content-encoding': 'gzip',
      'user-agent': opts.userAgent
    }
    // One connection: one POST in flight keeps the ingest's view ordered and
    // the cost per event lowest; keep-alive is undici's default.
    this.pool = new Pool(url.origin, {
      connections: 1,
      pipelining: 1,
      headersTimeout: this.requestTimeoutMs,
      bodyTimeout: this.requestTimeoutMs,
      connect: { timeout: this.requestTimeoutMs }
    })
    this.interval = setInterval(this.onTick, timerMs(opts.flushIntervalMs))
    this.interval.unref()
  }

  push (line: string): void {
    this.counters.emitted++
    if (this.closed) {
      this.counters.dropped.shutdown++
      return
    }
    this.pushed++
    if (this.ring.push(line)) {
      this.counters.dropped.overflow++
      if (!this.overflowWarned) this.warnOverflow()
      if (this.waiters.length !== 0) this.checkWaiters()
    }
    // Deferred, not run here: building a batch and starting gzip is work the
    // request that happened to fill the batch should not pay for.
    if (!this.scheduled && this.ring.size >= this.batchSize) {
      this.scheduled = true
      setImmediate(this.run)
    }
  }

  queued (): number {
    return this.ring.size
  }

  inFlight (): number {
    return this.inFlightCount
  }

  flush (timeoutMs: number = DEFAULT_FLUSH_TIMEOUT_MS): Promise<boolean> {
    return this.waitFor(this.pushed, timeoutMs)
  }

  close (graceMs: number): Promise<void> {
    if (this.closePromise === null) this.closePromise = this.shutdown(graceMs)
    return this.closePromise
  }

  private async shutdown (graceMs: number): Promise<void> {
    this.closing = true
    clearInterval(this.interval)
    // Waiting out an open breaker's cooldown would drop the whole queue for
    // sure: probe now instead. A Retry-After hold is the ingest's own request
    // and is still honoured.
    this.breaker.endCooldown()
    if (this.wake !== null) {
      clearTimeout(this.wake)
      this.wake = null
      this.run()
    }
    // Everything, also what requests still finishing during the grace push.
    await this.waitFor(Infinity, graceMs)
    this.abandon()
    await this.pool.destroy().catch(noop)
  }

  /** Counts whatever is left as dropped at shutdown and stops the sender. */
  private abandon (): void {
    this.closed = true
    this.abandoned = true
    if (this.wake !== null) {
      clearTimeout(this.wake)
      this.wake = null
    }
    while (this.pending.length !== 0) this.settle(this.pending[0] as Batch, 'shutdown')
    const left = this.ring.size
    if (left !== 0) {
      this.ring.shift(left)
      this.counters.dropped.shutdown += left
    }
    if (this.current !== null) this.current.abort(new FST_APPFIREWALL_CLOSED('a POST to the ingest'))
    this.checkWaiters()
  }

  private readonly onTick = (): void => {
    if (this.ring.size === 0) return
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
    // Not expected: pump catches what the network throws. Leave it restartable
    // by the next tick rather than wedged.
    this.scheduled = false
    this.warn({ err }, 'appfirewall: shipper error')
  }

  private hasWork (): boolean {
    const size = this.ring.size
    return size >= this.batchSize || (size !== 0 && (this.partialDue || this.closing || this.waiters.length !== 0))
  }

  /**
   * The sender. Only one runs at a time (guarded by `scheduled`); it exits
   * when there is nothing to send, or arms the single wake timer when it has
   * to wait (backoff, Retry-After, open breaker) and exits.
   */
  private async pump (): Promise<void> {
    for (;;) {
      if (this.abandoned) break
      const now = Date.now()
      const held = this.pending[0]
      if (held === undefined && !this.hasWork()) break
      let at = this.holdUntil
      if (held !== undefined && held.notBefore > at) at = held.notBefore
      if (at <= now) {
        at = this.breaker.readyAt(now)
        this.counters.breaker = this.breaker.state
      }
      // A batch that cannot be tried again before its deadline is given up now
      // rather than held: its memory goes back and flush() learns sooner.
      if (held !== undefined && (now >= held.deadline || at > held.deadline)) {
        this.settle(held, 'breaker')
        continue
      }
      if (at > now) {
        this.wake = setTimeout(this.onWake, timerMs(at - now))
        this.wake.unref()
        return
      }
      await this.attempt(held ?? this.take(now))
    }
    this.scheduled = false
  }

  private take (now: number): Batch {
    const start = this.pushed - this.ring.size
    const lines = this.ring.shift(this.batchSize)
    this.partialDue = false
    this.inFlightCount += lines.length
    const batch: Batch = { lines, body: null, start, deadline: now + this.retryDeadlineMs, notBefore: 0, attempts: 0, done: false }
    this.pending.push(batch)
    return batch
  }

  private async attempt (batch: Batch): Promise<void> {
    if (batch.body === null) {
      try {
        batch.body = await gzipAsync(batch.lines.join('\n') + '\n', this.gzipOptions)
      } catch {
        this.settle(batch, 'serialization')
        return
      }
      if (batch.done) return
    }
    batch.attempts++
    this.counters.lastSendAt = new Date().toISOString()
    const ac = new AbortController()
    this.current = ac
    // Bounds the whole exchange (connect, headers, capped body), which
    // undici's per-phase timeouts alone do not.
    const timer = setTimeout(abortRequest, this.requestTimeoutMs, ac, this.requestTimeoutMs)
    timer.unref()
    let status = 0
    let retryAfter: string | string[] | undefined
    try {
      const res = await this.pool.request({ path: this.path, method: 'POST', headers: this.headers, body: batch.body, signal: ac.signal })
      status = res.statusCode
      retryAfter = res.headers['retry-after']
      // Reading (up to the cap) lets the socket be reused; past the cap undici
      // destroys the body and with it the connection.
      await res.body.dump({ limit: RESPONSE_BODY_CAP }).catch(noop)
    } catch (err) {
      status = 0
      // Kept for the breaker warning: "refused" and "timed out" call for different fixes.
      this.lastError = (err as { code?: string }).code ?? (err as Error).name
    } finally {
      clearTimeout(timer)
      this.current = null
    }
    if (batch.done) return
    this.onAnswer(batch, status, retryAfter)
  }

  private onAnswer (batch: Batch, status: number, retryAfter: string | string[] | undefined): void {
    const kind = classifyStatus(status)
    if (status !== 0) this.counters.lastStatus = status
    if (kind === 'sent') {
      this.counters.batches++
      this.settle(batch, 'sent')
      this.breakerAnswered()
      return
    }
    this.counters.failures++
    if (kind === 'retry') {
      const now = Date.now()
      if (this.breaker.onFailure(now)) {
        this.counters.breaker = this.breaker.state
        const cause = status === 0 ? { error: this.lastError } : { status }
        this.warn({ ...cause, endpoint: this.origin }, 'appfirewall: ingest failing, circuit breaker open; events are queued (oldest dropped when full)')
      }
      let wait = backoffDelay(batch.attempts, this.retryBaseMs, this.retryMaxMs)
      const hold = parseRetryAfter(retryAfter, now, this.maxRetryAfterMs)
      if (hold !== undefined) {
        if (now + hold > this.holdUntil) this.holdUntil = now + hold
        if (hold > wait) wait = hold
      }
      batch.notBefore = now + wait
      return
    }
    // A refusal is still an answer: the ingest is up, so it must not open the
    // breaker (a bad key would otherwise look like an outage).
    this.breakerAnswered()
    this.warnStatus(status)
    if (kind === 'split' && batch.lines.length > 1) {
      this.split(batch)
      return
    }
    this.settle(batch, 'rejected')
  }

  /** 413: resend as two halves, never whole; a single line that is too large is rejected. */
  private split (batch: Batch): void {
    const mid = Math.ceil(batch.lines.length / 2)
    const first: Batch = { lines: batch.lines.slice(0, mid), body: null, start: batch.start, deadline: batch.deadline, notBefore: 0, attempts: 0, done: false }
    const second: Batch = { lines: batch.lines.slice(mid), body: null, start: batch.start + mid, deadline: batch.deadline, notBefore: 0, attempts: 0, done: false }
    batch.done = true
    const i = this.pending.indexOf(batch)
    this.pending.splice(i, 1, first, second)
  }

  private breakerAnswered (): void {
    if (this.breaker.onAnswer()) {
      this.counters.breaker = this.breaker.state
      this.warn({}, 'appfirewall: ingest answering again, circuit breaker closed')
    }
  }

  private settle (batch: Batch, reason: SettleReason): void {
    if (batch.done) return
    batch.done = true
    const n = batch.lines.length
    this.inFlightCount -= n
    if (reason === 'sent') this.counters.sent += n
    else this.counters.dropped[reason] += n
    const i = this.pending.indexOf(batch)
    if (i !== -1) this.pending.splice(i, 1)
    if (this.waiters.length !== 0) this.checkWaiters()
  }

  private waitFor (target: number, timeoutMs: number): Promise<boolean> {
    if (this.settledUpTo(target)) return Promise.resolve(true)
    return new Promise<boolean>((resolve) => {
      const waiter: Waiter = { target, resolve, timer: null }
      // Ref'd on purpose: if the caller awaits this and nothing else is left
      // in the loop, an unref'd timer would let the promise hang unsettled.
      waiter.timer = setTimeout(() => {
        const i = this.waiters.indexOf(waiter)
        if (i !== -1) this.waiters.splice(i, 1)
        resolve(false)
      }, timerMs(timeoutMs))
      this.waiters.push(waiter)
      if (!this.scheduled) this.kick()
    })
  }

  /** True when every line pushed before position `target` is sent or dropped. */
  private settledUpTo (target: number): boolean {
    const head = this.pending[0]
    if (head !== undefined && head.start < target) return false
    return this.ring.size === 0 || this.pushed - this.ring.size >= target
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
    this.warn({ queueSize: this.ring.capacity }, 'appfirewall: event queue full, dropping the oldest events')
  }

  private warnStatus (status: number): void {
    if (this.warnedStatuses.has(status)) return
    this.warnedStatuses.add(status)
    if (status === 413) {
      this.warn({ status }, 'appfirewall: ingest refused a batch as too large (HTTP 413); splitting batches, a single event still too large is dropped')
      return
    }
    const hint = status === 401 || status === 403 ? ' (check apiKey)' : ''
    this.warn({ status }, `appfirewall: ingest refused a batch with HTTP ${status}${hint}; its events are dropped`)
  }

  private warn (obj: object, msg: string): void {
    try {
      this.log.warn(obj, msg)
    } catch {
      // A logger that throws must not stop shipping.
    }
  }
}
