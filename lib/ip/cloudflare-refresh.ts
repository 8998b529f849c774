import { request } from 'undici'
import { CidrSet, parseIp } from './cidr'
import { CLOUDFLARE_IPV4, CLOUDFLARE_IPV6 } from './cloudflare-ranges'
import { timerDelay } from '../timer-delay'
import { cloudflareShapeProblem } from './trust-bounds'
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
const MAX_RANGES = 1000

function widest (list: readonly string[]): number {
  return Math.min(...list.map((cidr) => Number(cidr.slice(cidr.indexOf('/') + 1))))
}

/**
 * Shortest prefix a refreshed range may have, per family: one bit wider than
 * the widest range of the shipped list (IPv4 /13 -> /12, IPv6 /29 -> /28).
 * Cloudflare has published a /12 before (104.16.0.0/12, later split into a
 * /13 and a /14), so a merge back must not freeze the list; anything wider
 * is not an answer of Cloudflare's, and would make a large part of the
 * Internet "Cloudflare", whose cf-connecting-ip is believed.
 */
export const MIN_PREFIX = Object.freeze({ v4: widest(CLOUDFLARE_IPV4) - 1, v6: widest(CLOUDFLARE_IPV6) - 1 })

/**
 * Extracts the ranges from Cloudflare's API answer,
 * `{ "success": true, "result": { "ipv4_cidrs": [...], "ipv6_cidrs": [...] } }`.
 * Throws on anything else, on an empty family, and on an entry that is not
 * shaped like Cloudflare's: a CIDR with an explicit prefix, of its list's
 * family (no IPv4-mapped IPv6), no wider than MIN_PREFIX allows. A
 * half-understood or implausible answer must not replace a good list.
 */
export function parseCloudflareAnswer (body: string): string[] {
  let answer: unknown
  try {
    answer = JSON.parse(body)
  } catch {
    throw new FST_APPFIREWALL_CLOUDFLARE_RANGES('answer is not JSON')
  }
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
  for (const cidr of v4) checkShape(cidr, false)
  for (const cidr of v6) checkShape(cidr, true)
  const implausible = cloudflareShapeProblem(ranges)
  if (implausible !== null) throw new FST_APPFIREWALL_CLOUDFLARE_RANGES(implausible)
  return ranges
}

/** Throws unless `cidr` (already a strict CIDR) is `address/prefix` of the family given, no wider than MIN_PREFIX. */
function checkShape (cidr: string, v6: boolean): void {
  const slash = cidr.indexOf('/')
  const ip = slash === -1 ? undefined : parseIp(cidr.slice(0, slash))
  // parseIp turns IPv4-mapped IPv6 into IPv4: `v6` then tells the family by its bytes, not its spelling.
  if (ip === undefined || ip.v6 !== v6 || (!v6 && cidr.indexOf(':') !== -1)) {
    throw new FST_APPFIREWALL_CLOUDFLARE_RANGES(`${JSON.stringify(cidr)} is not an ${v6 ? 'IPv6' : 'IPv4'} range with a /prefix`)
  }
  const min = v6 ? MIN_PREFIX.v6 : MIN_PREFIX.v4
  if (Number(cidr.slice(slash + 1)) < min) {
    throw new FST_APPFIREWALL_CLOUDFLARE_RANGES(`${JSON.stringify(cidr)} is wider than any range Cloudflare publishes (the widest accepted is /${min})`)
  }
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
        opts.log.warn({ err: errorText(err), code: (err as { code?: unknown } | null)?.code, url: opts.url },
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
