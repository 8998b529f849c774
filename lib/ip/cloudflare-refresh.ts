import { request } from 'undici'
import { CidrSet } from './cidr'
import { timerDelay } from '../timer-delay'
import { FST_APPFIREWALL_CLOSED, FST_APPFIREWALL_CLOUDFLARE_RANGES } from '../errors'

export interface CloudflareRefreshOptions {
  /** Cloudflare's API (https://api.cloudflare.com/client/v4/ips) or a mirror of its answer. */
  url: string
  /** Time between refreshes; the first one happens after one interval. 0 or less: only refreshNow(). */
  intervalMs: number
  /** Bound on one fetch, connect to last body byte (default 10 s). */
  timeoutMs?: number
  /** Receives a validated, non-empty list (IPv4 ranges first). */
  onRanges: (ranges: string[]) => void
  log: { warn: (obj: object, msg: string) => void }
}

export interface CloudflareRefresh {
  /** Stops the timer and aborts a fetch in flight. */
  stop: () => void
  /** Fetches now; resolves true when a new list was applied, false otherwise. Never rejects. */
  refreshNow: () => Promise<boolean>
}

/** Cloudflare's answer is about 1 KB; anything near this is not it. */
export const MAX_BODY_BYTES = 1024 * 1024
// Far more than Cloudflare publishes (22 today), far less than a hostile answer.
const MAX_RANGES = 10_000

/**
 * Extracts the ranges from Cloudflare's API answer,
 * `{ "success": true, "result": { "ipv4_cidrs": [...], "ipv6_cidrs": [...] } }`.
 * Throws on anything else, on an empty family and on an entry that is not a
 * CIDR: a half-understood answer must not replace a good list.
 */
export function parseCloudflareAnswer (body: string): string[] {
  const answer: unknown = JSON.parse(body)
  if (typeof answer !== 'object' || answer === null) throw new FST_APPFIREWALL_CLOUDFLARE_RANGES('answer is not an object')
  const { success, result } = answer as { success?: unknown, result?: unknown }
  if (success !== true) throw new FST_APPFIREWALL_CLOUDFLARE_RANGES('answer does not say success: true')
  if (typeof result !== 'object' || result === null) throw new FST_APPFIREWALL_CLOUDFLARE_RANGES('answer has no result object')
  const { ipv4_cidrs: v4, ipv6_cidrs: v6 } = result as { ipv4_cidrs?: unknown, ipv6_cidrs?: unknown }
  if (!isStringList(v4) || !isStringList(v6)) throw new FST_APPFIREWALL_CLOUDFLARE_RANGES('ipv4_cidrs and ipv6_cidrs must be lists of strings')
  if (v4.length === 0 || v6.length === 0) throw new FST_APPFIREWALL_CLOUDFLARE_RANGES('answer has an empty list of ranges')
  if (v4.length + v6.length > MAX_RANGES) throw new FST_APPFIREWALL_CLOUDFLARE_RANGES('answer has too many ranges')
  const ranges = [...v4, ...v6]
  // Throws, naming the entry, when one is not a strict CIDR.
  CidrSet.parse(ranges)
  return ranges
}

function isStringList (value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string')
}

/**
 * Refreshes Cloudflare's ranges in the background. The shipped list already
 * works, so nothing happens at start and nothing ever waits on this: a failed
 * refresh (network, status, timeout, bad answer) keeps the current list and
 * warns once per run of failures. The timer is unref'd, so it never keeps the
 * process alive, and `stop()` ends it.
 */
export function startCloudflareRefresh (opts: CloudflareRefreshOptions): CloudflareRefresh {
  const timeoutMs = opts.timeoutMs ?? 10_000
  let timer: NodeJS.Timeout | undefined
  let inFlight: Promise<boolean> | undefined
  let controller: AbortController | undefined
  let stopped = false
  let failing = false

  async function fetchRanges (signal: AbortSignal): Promise<string[]> {
    const res = await request(opts.url, {
      method: 'GET',
      headers: { accept: 'application/json' },
      signal,
      // Once a day: no reason to hold a keep-alive socket in between.
      reset: true,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs
    })
    if (res.statusCode < 200 || res.statusCode > 299) {
      await res.body.dump().catch(() => {})
      throw new FST_APPFIREWALL_CLOUDFLARE_RANGES(`status ${res.statusCode}`)
    }
    const chunks: Buffer[] = []
    let size = 0
    for await (const chunk of res.body) {
      size += (chunk as Buffer).length
      if (size > MAX_BODY_BYTES) {
        res.body.destroy()
        throw new FST_APPFIREWALL_CLOUDFLARE_RANGES(`answer is larger than ${MAX_BODY_BYTES} bytes`)
      }
      chunks.push(chunk as Buffer)
    }
    return parseCloudflareAnswer(Buffer.concat(chunks).toString('utf8'))
  }

  async function attempt (): Promise<boolean> {
    const ac = new AbortController()
    controller = ac
    // Bounds the whole fetch, including a server that trickles bytes slower than bodyTimeout notices.
    const deadline = setTimeout(() => { ac.abort(new FST_APPFIREWALL_CLOUDFLARE_RANGES(`timed out after ${timeoutMs} ms`)) }, timeoutMs)
    deadline.unref()
    try {
      const ranges = await fetchRanges(ac.signal)
      if (stopped) return false
      opts.onRanges(ranges)
      failing = false
      return true
    } catch (err) {
      if (!stopped && !failing) {
        failing = true
        opts.log.warn({ err: errorText(err), url: opts.url },
          'appfirewall: refreshing Cloudflare\'s IP ranges failed; keeping the current list')
      }
      return false
    } finally {
      clearTimeout(deadline)
      if (controller === ac) controller = undefined
    }
  }

  function refreshNow (): Promise<boolean> {
    if (stopped) return Promise.resolve(false)
    // One fetch at a time: a slow answer must not pile up requests.
    if (inFlight === undefined) {
      inFlight = attempt().finally(() => { inFlight = undefined })
    }
    return inFlight
  }

  function schedule (): void {
    if (stopped || !(opts.intervalMs > 0)) return
    timer = setTimeout(() => {
      timer = undefined
      refreshNow().then(schedule, schedule)
    }, timerDelay(opts.intervalMs))
    timer.unref()
  }

  schedule()

  return {
    stop () {
      stopped = true
      if (timer !== undefined) clearTimeout(timer)
      timer = undefined
      controller?.abort(new FST_APPFIREWALL_CLOSED('a refresh of Cloudflare\'s ranges'))
    },
    refreshNow
  }
}

function errorText (err: unknown): string {
  if (err instanceof Error) return err.message
  return String(err)
}
