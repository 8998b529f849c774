// `ship` mode transport: each batch the Batcher hands over is gzipped once and
// POSTed to the ingest, retried by the OTLP/HTTP response classes within a
// deadline, behind a circuit breaker and any Retry-After the ingest sent.
import { randomUUID } from 'node:crypto'
import { request } from 'undici'
import type { Dispatcher } from 'undici'
import type { Counters } from '../counters'
import { FST_APPFIREWALL_INGEST_TIMEOUT, FST_APPFIREWALL_INVALID_ENDPOINT } from '../errors'
import { backoffDelay } from './backoff'
import { Breaker } from './breaker'
import { chooseRoute } from './dispatch'
import type { Route } from './dispatch'
import { emptyResult } from './exporter'
import { GzipMembers } from './gzip-members'
import type { Exporter, ExportResult } from './exporter'
import { parseRetryAfter } from './retry-after'
import { safeLogger } from './sink'
import { certificateProblem, certificateWarning } from './tls-errors'
import type { CertificateProblem } from './tls-errors'
import type { PluginLog } from '../guard'
import { timerDelay } from '../timer-delay'

const encoder = new TextEncoder()

/**
 * The batch's NDJSON text as UTF-8, written in one pass. `Buffer.from(text)`
 * (what gzip does with a string) measures the UTF-8 length first and then
 * writes: two passes over every byte of the batch. Event lines are nearly
 * always ASCII, one byte a character, so the text is written into room for
 * its length plus an eighth; the rare batch with more multi-byte characters
 * than that goes on into room for the worst case of what is left (3 bytes a
 * UTF-16 unit).
 */
export function utf8Bytes (text: string): Buffer {
  let buf = Buffer.allocUnsafeSlow(text.length + (text.length >>> 3) + 16)
  let { read, written } = encoder.encodeInto(text, buf)
  if (read < text.length) {
    const rest = text.slice(read)
    const more = Buffer.allocUnsafeSlow(written + 3 * rest.length)
    buf.copy(more, 0, 0, written)
    written += encoder.encodeInto(rest, more.subarray(written)).written
    buf = more
  }
  return buf.subarray(0, written)
}

// An ingest's answer is only its status and Retry-After; anything past this is
// a misbehaving (or hostile) server and is not read, so it cannot grow memory.
const RESPONSE_BODY_CAP = 64 * 1024
const DEFAULT_RETRY_BASE_MS = 250
const DEFAULT_RETRY_MAX_MS = 8000
// Once close aborts the export, a POST already sent gets this long for its
// answer before it is cut: a batch the ingest took then counts as sent, not as
// dropped. Kept below the Batcher's 200 ms wait after its abort, so that the
// outcome still reaches the counters.
const CLOSE_ANSWER_WAIT_MS = 150

export interface HttpExporterOptions {
  /** The ingest URL, http(s); its path and query are kept. */
  endpoint: string
  /** Sent as `Authorization: Bearer <apiKey>`. */
  apiKey: string
  userAgent: string
  /** Where `failures`, `lastStatus`, `lastSendAt` and `breaker` are kept. */
  counters: Counters
  log: PluginLog
  /** Bound on one POST as a whole (connect, headers, capped body), in ms. */
  requestTimeoutMs: number
  /** How long a batch is retried, in ms from its first try. */
  retryDeadlineMs: number
  /** Upper bound on an ingest's Retry-After, in ms. */
  maxRetryAfterMs: number
  /** Retryable failures in a row that open the breaker. */
  breakerThreshold: number
  /** How long the breaker stays open before one probe, in ms. */
  breakerCooldownMs: number
  /** gzip level 0-9. */
  gzipLevel: number
  /** First retry delay before jitter (default 250 ms); doubles per attempt. */
  retryBaseMs?: number
  /** Largest retry delay before jitter (default 8000 ms). */
  retryMaxMs?: number
  /**
   * The undici Dispatcher the ingest is reached through (the `dispatcher`
   * option). It is the caller's: never closed here. Without it, see chooseRoute.
   */
  dispatcher?: Dispatcher | undefined
  /** Where HTTP_PROXY, HTTPS_PROXY and NO_PROXY are read. Default: process.env. */
  env?: NodeJS.ProcessEnv
}

/** What is done with a batch after an ingest's answer (HTTP status, 0 for no answer). */
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

/** One POST's outcome: the status (0 for no answer), the Retry-After header, and a refused certificate. */
interface Answer {
  status: number
  retryAfter: string | string[] | undefined
  /** Set when the TLS handshake failed on the ingest's certificate (then status is 0). */
  certificate: CertificateProblem | undefined
}

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

function abortWith (ac: AbortController, reason: unknown): void {
  ac.abort(reason)
}

/**
 * POSTs gzipped NDJSON batches over one keep-alive connection. Retryable
 * answers are retried with jittered backoff until the batch's deadline; a
 * Retry-After holds every send, not only the batch it answered; repeated
 * retryable failures open the breaker, and while it is open `readyAt` tells
 * the Batcher to keep the lines queued. A refusal (4xx, 5xx other than the
 * retryable ones) drops the batch with one warning per status; 413 resends it
 * as two halves. A certificate the client refuses is a refusal too (one
 * warning per error code), never retried.
 *
 * Every batch carries `Idempotency-Key: "<uuid>"`, the same bytes on each of
 * its retries, so an ingest that stored a batch whose answer was lost can
 * drop the resend. The halves of a 413 split are new batches with their own
 * keys, derived from their parent's: `"<uuid>.1"` and `"<uuid>.2"`, then
 * `"<uuid>.1.1"` and so on.
 */
export class HttpExporter implements Exporter {
  private readonly counters: Counters
  private readonly log: PluginLog
  private readonly route: Route
  private readonly url: URL
  /** Scheme, host and port only, for logs: the path may carry a token. */
  private readonly origin: string
  private readonly headers: Record<string, string>
  private readonly requestTimeoutMs: number
  private readonly retryDeadlineMs: number
  private readonly maxRetryAfterMs: number
  private readonly retryBaseMs: number
  private readonly retryMaxMs: number
  /** One gzip stream, one member per batch (see gzip-members.ts for why). */
  private readonly gzip: GzipMembers
  private readonly breaker: Breaker
  /** A Retry-After holds every send until then (epoch ms). */
  private holdUntil = 0
  /** Ends the pause under way early (see closing()). */
  private endPause: (() => void) | null = null
  /** Kept for the breaker warning: "refused" and "timed out" call for different fixes. */
  private lastError = ''
  private readonly warnedStatuses = new Set<number>()
  private readonly warnedCertificates = new Set<string>()

  constructor (opts: HttpExporterOptions) {
    const url = parseEndpoint(opts.endpoint)
    this.counters = opts.counters
    this.log = safeLogger(opts.log)
    this.requestTimeoutMs = timerDelay(opts.requestTimeoutMs)
    this.retryDeadlineMs = opts.retryDeadlineMs
    this.maxRetryAfterMs = opts.maxRetryAfterMs
    this.retryBaseMs = opts.retryBaseMs ?? DEFAULT_RETRY_BASE_MS
    this.retryMaxMs = opts.retryMaxMs ?? DEFAULT_RETRY_MAX_MS
    this.gzip = new GzipMembers(opts.gzipLevel)
    this.breaker = new Breaker(opts.breakerThreshold, opts.breakerCooldownMs)
    this.url = url
    this.origin = url.origin
    this.headers = {
      authorization: `Bearer ${opts.apiKey}`,
      'content-type': 'application/x-ndjson',
      'content-encoding': 'gzip',
      'user-agent': opts.userAgent
    }
    // One POST in flight keeps the ingest's view ordered and the cost per
    // event lowest; the route keeps one keep-alive connection for it.
    this.route = chooseRoute({
      origin: url.origin,
      dispatcher: opts.dispatcher,
      env: opts.env ?? process.env,
      timeoutMs: this.requestTimeoutMs,
      log: this.log
    })
  }

  readyAt (now: number): number {
    if (this.holdUntil > now) return this.holdUntil
    const at = this.breaker.readyAt(now)
    this.counters.breaker = this.breaker.state
    return at
  }

  async export (lines: string[], signal: AbortSignal): Promise<ExportResult> {
    const result = emptyResult()
    await this.deliver(lines, randomUUID(), Date.now() + this.retryDeadlineMs, true, signal, result)
    return result
  }

  closing (): void {
    // Waiting out an open breaker's cooldown would drop the whole queue for
    // sure: probe now instead. A Retry-After hold is the ingest's own request
    // and is still honoured, and so is the backoff between retries.
    this.breaker.endCooldown()
    if (this.endPause !== null) this.endPause()
  }

  /** Frees the gzip stream and destroys the connection or agent made here; a dispatcher passed in or installed globally is left alone. */
  async shutdown (): Promise<void> {
    this.gzip.close()
    if (this.route.owned) await this.route.dispatcher.destroy().catch(noop)
  }

  /**
   * Sends `lines` until the ingest answers for good, the deadline passes or
   * `signal` aborts, and adds the outcome to `result`. The body is gzipped
   * once and reused by every retry, and so is `key`, its Idempotency-Key. A
   * 413 sends the halves, depth first, keyed `<key>.1` and `<key>.2`.
   * `fresh`: the batch's first try, which always goes (retryDeadlineMs may be 0).
   */
  private async deliver (lines: string[], key: string, deadline: number, fresh: boolean, signal: AbortSignal, result: ExportResult): Promise<void> {
    const n = lines.length
    if (signal.aborted) {
      result.shutdown += n
      return
    }
    let body: Buffer
    try {
      body = await this.gzip.compress(utf8Bytes(lines.join('\n') + '\n'))
    } catch {
      result.serialization += n
      return
    }
    // A Structured Fields string, as the IETF Idempotency-Key draft defines it.
    const headers = { ...this.headers, 'idempotency-key': `"${key}"` }
    let attempts = 0
    let notBefore = 0
    for (;;) {
      if (signal.aborted) {
        result.shutdown += n
        return
      }
      const now = Date.now()
      let at = notBefore > this.holdUntil ? notBefore : this.holdUntil
      if (at <= now) at = this.readyAt(now)
      // A batch that cannot be tried again before its deadline is given up now
      // rather than held: its memory goes back and flush() learns sooner.
      if ((attempts !== 0 || !fresh) && (now >= deadline || at > deadline)) {
        result.breaker += n
        return
      }
      if (at > now) {
        await this.pause(at - now, signal)
        continue
      }
      attempts++
      const answer = await this.post(body, headers, signal)
      if (answer === undefined) {
        // Aborted by close: not the ingest's failure, so no failure is counted.
        result.shutdown += n
        return
      }
      const status = answer.status
      if (status !== 0) this.counters.lastStatus = status
      // A refused certificate is configuration, not a blip: resending the
      // same handshake fails the same way, so it is a refusal, not a retry.
      const kind = answer.certificate === undefined ? classifyStatus(status) : 'reject'
      if (kind === 'sent') {
        result.sent += n
        result.deliveries++
        this.answered()
        return
      }
      this.counters.failures++
      if (kind === 'retry') {
        notBefore = this.retryAt(status, answer.retryAfter, attempts)
        continue
      }
      // A refusal is still an answer: the ingest is up, so it must not open
      // the breaker (a bad key would otherwise look like an outage). So is a
      // certificate: the ingest presented one, the fault is in configuration.
      this.answered()
      if (answer.certificate === undefined) this.warnStatus(status)
      else this.warnCertificate(answer.certificate)
      if (kind === 'split' && n > 1) {
        // Resent as two halves, never whole; a single line too large is rejected.
        const mid = Math.ceil(n / 2)
        await this.deliver(lines.slice(0, mid), `${key}.1`, deadline, false, signal, result)
        await this.deliver(lines.slice(mid), `${key}.2`, deadline, false, signal, result)
        return
      }
      result.rejected += n
      return
    }
  }

  /** After a retryable failure: feeds the breaker and returns when the next try may start (epoch ms). */
  private retryAt (status: number, retryAfter: string | string[] | undefined, attempts: number): number {
    const now = Date.now()
    if (this.breaker.onFailure(now)) {
      this.counters.breaker = this.breaker.state
      const cause = status === 0 ? { error: this.lastError } : { status }
      this.log.warn({ ...cause, endpoint: this.origin }, 'appfirewall: ingest failing, circuit breaker open; events are queued (oldest dropped when full)')
    }
    let wait = backoffDelay(attempts, this.retryBaseMs, this.retryMaxMs)
    const hold = parseRetryAfter(retryAfter, now, this.maxRetryAfterMs)
    if (hold !== undefined) {
      if (now + hold > this.holdUntil) this.holdUntil = now + hold
      if (hold > wait) wait = hold
    }
    return now + wait
  }

  /**
   * One POST. Resolves with the answer (status 0: none), or undefined when
   * `signal` aborted it before an answer came (within CLOSE_ANSWER_WAIT_MS of
   * the abort, an answer still counts). Never rejects.
   */
  private async post (body: Buffer, headers: Record<string, string>, signal: AbortSignal): Promise<Answer | undefined> {
    this.counters.lastSendAt = new Date().toISOString()
    const ac = new AbortController()
    let late: NodeJS.Timeout | undefined
    const onClose = (): void => {
      late = setTimeout(abortWith, CLOSE_ANSWER_WAIT_MS, ac, signal.reason)
      late.unref()
    }
    signal.addEventListener('abort', onClose)
    // Bounds the whole exchange (connect, headers, capped body), which
    // undici's per-phase timeouts alone do not.
    const timer = setTimeout(abortRequest, this.requestTimeoutMs, ac, this.requestTimeoutMs)
    timer.unref()
    const answer: Answer = { status: 0, retryAfter: undefined, certificate: undefined }
    try {
      // Per-request timeouts: a dispatcher passed in has its own defaults.
      const res = await request(this.url, { dispatcher: this.route.dispatcher, method: 'POST', headers, body, signal: ac.signal, headersTimeout: this.requestTimeoutMs, bodyTimeout: this.requestTimeoutMs })
      answer.status = res.statusCode
      answer.retryAfter = res.headers['retry-after']
      // Reading (up to the cap) lets the socket be reused; past the cap undici
      // destroys the body and with it the connection. Once the status is in,
      // the answer stands even if close aborts this read.
      await res.body.dump({ limit: RESPONSE_BODY_CAP }).catch(noop)
    } catch (err) {
      if (signal.aborted) return undefined
      answer.certificate = certificateProblem(err)
      this.lastError = answer.certificate?.code ?? (err as { code?: string }).code ?? (err as Error).name
    } finally {
      clearTimeout(timer)
      if (late !== undefined) clearTimeout(late)
      signal.removeEventListener('abort', onClose)
    }
    return answer
  }

  /** Waits `ms`, or less if `signal` aborts or closing() ends the pause. Its timer is unref'd. */
  private pause (ms: number, signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      const end = (): void => {
        clearTimeout(timer)
        signal.removeEventListener('abort', end)
        this.endPause = null
        resolve()
      }
      const timer = setTimeout(end, timerDelay(ms))
      timer.unref()
      signal.addEventListener('abort', end)
      this.endPause = end
    })
  }

  private answered (): void {
    if (this.breaker.onAnswer()) {
      this.counters.breaker = this.breaker.state
      this.log.warn({}, 'appfirewall: ingest answering again, circuit breaker closed')
    }
  }

  private warnStatus (status: number): void {
    if (this.warnedStatuses.has(status)) return
    this.warnedStatuses.add(status)
    if (status === 413) {
      this.log.warn({ status }, 'appfirewall: ingest refused a batch as too large (HTTP 413); splitting batches, a single event still too large is dropped')
      return
    }
    const hint = status === 401 || status === 403 ? ' (check apiKey)' : ''
    this.log.warn({ status }, `appfirewall: ingest refused a batch with HTTP ${status}${hint}; its events are dropped`)
  }

  private warnCertificate (problem: CertificateProblem): void {
    if (this.warnedCertificates.has(problem.code)) return
    this.warnedCertificates.add(problem.code)
    this.log.warn({ code: problem.code, reason: problem.message, endpoint: this.origin }, certificateWarning(problem))
  }
}
