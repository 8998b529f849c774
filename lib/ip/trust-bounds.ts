// Trust that lets any client choose its IP is refused (DESIGN.md, "Client IP
// resolution"): a trusted range that holds the clients makes every client a
// proxy whose x-forwarded-for is believed, so each request names its own IP
// and the limiter counts nobody. The same bounds keep a refreshed list of
// Cloudflare's ranges plausible. Configuration only: nothing here runs per
// request.
import { CidrSet } from './cidr'

type Interval = [start: bigint, end: bigint]

const V4_END = 0xffffffffn
// 2000::/3, the global unicast space every public IPv6 address comes from
// (RFC 4291 2.4; IANA's registry allocations all lie inside it).
const GLOBAL_START = 0x2000n << 112n
const GLOBAL_END = GLOBAL_START | ((1n << 125n) - 1n)

// IPv4 that no client on the internet has (RFC 6890): this network, private,
// shared (CGNAT), loopback, link-local, multicast and reserved.
const NOT_PUBLIC_V4 = ['0.0.0.0/8', '10.0.0.0/8', '100.64.0.0/10', '127.0.0.0/8', '169.254.0.0/16', '172.16.0.0/12',
  '192.168.0.0/16', '224.0.0.0/3']

/**
 * Most public addresses a trusted list may hold: a /6 of IPv4 (67 M) and a
 * /16 of IPv6. The proxies of one deployment or one CDN hold a few million
 * at most (Cloudflare publishes about 1.5 M IPv4 addresses); a list beyond
 * this trusts a good part of the internet's clients.
 */
export const MAX_TRUSTED_PUBLIC = Object.freeze({ v4: 1n << 26n, v6: 1n << 112n })
/** Most addresses a refreshed Cloudflare list may hold: about 2.7 times what Cloudflare publishes today (IPv4), 8 /29s (IPv6). */
export const MAX_CLOUDFLARE_ADDRESSES = Object.freeze({ v4: 1n << 22n, v6: 1n << 102n })

function intervals (set: CidrSet): { v4: Interval[], v6: Interval[] } {
  const v4: Interval[] = []
  for (let i = 0; i < set.v4.length; i += 2) {
    const net = set.v4[i]! >>> 0
    v4.push([BigInt(net), BigInt((net | ~set.v4[i + 1]!) >>> 0)])
  }
  const v6: Interval[] = []
  for (let i = 0; i < set.v6.length; i += 8) {
    let net = 0n
    let mask = 0n
    for (let k = 0; k < 4; k++) {
      net = (net << 32n) | BigInt(set.v6[i + k]!)
      mask = (mask << 32n) | BigInt(set.v6[i + 4 + k]!)
    }
    const end = net | (~mask & ((1n << 128n) - 1n))
    v6.push([net, end])
    // A range over ::ffff:0:0/96 also holds the IPv4 addresses mapped there.
    const mappedStart = 0xffffn << 32n
    const lo = net > mappedStart ? net : mappedStart
    const hi = end < (mappedStart | V4_END) ? end : (mappedStart | V4_END)
    if (lo <= hi) v4.push([lo - mappedStart, hi - mappedStart])
  }
  return { v4: merge(v4), v6: merge(v6) }
}

/** Sorted, disjoint union of closed intervals. */
function merge (list: Interval[]): Interval[] {
  list.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
  const out: Interval[] = []
  for (const [s, e] of list) {
    const last = out[out.length - 1]
    if (last !== undefined && s <= last[1] + 1n) {
      if (e > last[1]) last[1] = e
    } else {
      out.push([s, e])
    }
  }
  return out
}

/** Addresses of `list` inside [from, to], minus those in `minus`. */
function count (list: Interval[], from: bigint, to: bigint, minus: Interval[] = []): bigint {
  let n = 0n
  for (const [s, e] of list) {
    const lo = s > from ? s : from
    const hi = e < to ? e : to
    if (lo > hi) continue
    n += hi - lo + 1n
    for (const [ms, me] of minus) {
      const a = ms > lo ? ms : lo
      const b = me < hi ? me : hi
      if (a <= b) n -= b - a + 1n
    }
  }
  return n
}

const notPublicV4 = intervals(CidrSet.parse(NOT_PUBLIC_V4)).v4
const PUBLIC_V4 = V4_END + 1n - count(notPublicV4, 0n, V4_END)

function share (n: bigint, of: bigint): string {
  const pct = Number((n * 10000n) / of) / 100
  return pct >= 1 ? `${pct.toFixed(0)}%` : `${pct}%`
}

/** What the trusted ranges hold of the public address space, when it is more than MAX_TRUSTED_PUBLIC allows. */
function tooMuch (set: CidrSet): string | null {
  const { v4, v6 } = intervals(set)
  const pub4 = count(v4, 0n, V4_END, notPublicV4)
  const pub6 = count(v6, GLOBAL_START, GLOBAL_END)
  const parts: string[] = []
  if (pub4 > MAX_TRUSTED_PUBLIC.v4) parts.push(`${share(pub4, PUBLIC_V4)} of the public IPv4 addresses`)
  if (pub6 > MAX_TRUSTED_PUBLIC.v6) parts.push(`${share(pub6, GLOBAL_END - GLOBAL_START + 1n)} of the public IPv6 addresses (2000::/3)`)
  return parts.length === 0 ? null : parts.join(' and ')
}

/**
 * Why trusting `cidrs` (the CIDRs and IPs of `trustedProxies`, without
 * "cloudflare") would let clients choose their IP, or null when it would not.
 * Refused: ranges that, alone or together, hold more of the public address
 * space than MAX_TRUSTED_PUBLIC (a /6 of IPv4, a /16 of IPv6): `0.0.0.0/0`,
 * `0.0.0.0/1` with `128.0.0.0/2` and `192.0.0.0/3`, `::/0`, an IPv4-mapped
 * CIDR whose prefix is below 96 (`::ffff:10.0.0.0/8` is `::/8`), `2000::/4`.
 * Private ranges (10.0.0.0/8, fc00::/7) hold no public address and are fine.
 * Throws what CidrSet.parse throws on an entry that is not a CIDR.
 */
export function anyClientProblem (cidrs: readonly string[]): string | null {
  const all = tooMuch(CidrSet.parse(cidrs))
  if (all === null) return null
  const alone = cidrs.find((entry) => tooMuch(CidrSet.parse([entry])) !== null)
  return alone === undefined
    ? `${cidrs.map((e) => JSON.stringify(e)).join(', ')} together hold ${all}`
    : `${JSON.stringify(alone)} holds ${tooMuch(CidrSet.parse([alone])) as string}`
}

/**
 * Why a list of ranges is not plausibly Cloudflare's, or null: an IPv4 range
 * on private, loopback, link-local, CGNAT, multicast or reserved space; an
 * IPv6 range outside 2000::/3 (which would also hold IPv4-mapped space and
 * so every IPv4 peer); more addresses in all than MAX_CLOUDFLARE_ADDRESSES.
 */
export function cloudflareShapeProblem (ranges: readonly string[]): string | null {
  for (const range of ranges) {
    const { v4, v6 } = intervals(CidrSet.parse([range]))
    if (v6.length === 0 && count(v4, 0n, V4_END, []) !== count(v4, 0n, V4_END, notPublicV4)) return `${JSON.stringify(range)} is not public IPv4 space`
    if (v6.length !== 0 && count(v6, GLOBAL_START, GLOBAL_END) !== count(v6, 0n, (1n << 128n) - 1n)) return `${JSON.stringify(range)} lies outside 2000::/3`
  }
  const { v4, v6 } = intervals(CidrSet.parse(ranges))
  if (count(v4, 0n, V4_END) > MAX_CLOUDFLARE_ADDRESSES.v4) return `the IPv4 ranges hold ${count(v4, 0n, V4_END)} addresses, more than Cloudflare could (${MAX_CLOUDFLARE_ADDRESSES.v4})`
  if (count(v6, 0n, (1n << 128n) - 1n) > MAX_CLOUDFLARE_ADDRESSES.v6) return 'the IPv6 ranges hold more addresses than eight /29s, more than Cloudflare could'
  return null
}
