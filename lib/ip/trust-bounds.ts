// Trust that lets any client choose its IP is refused at register (DESIGN.md,
// "Client IP resolution"): a trusted range that holds every client makes
// every client a proxy whose x-forwarded-for is believed, so each request
// names its own IP and the limiter counts nobody. Configuration only: nothing
// here runs per request.
import { CidrSet } from './cidr'

// 2000::/3, the global unicast space every public IPv6 address comes from
// (RFC 4291 2.4; IANA's registry allocations all lie inside it).
const GLOBAL_START = 0x2000n << 112n
const GLOBAL_END = GLOBAL_START | ((1n << 125n) - 1n)
const V4_END = 0xffffffffn

interface Coverage {
  /** Every IPv4 address, also through an IPv6 range over ::ffff:0:0/96. */
  allV4: boolean
  /** Every global unicast IPv6 address (2000::/3). */
  allV6: boolean
}

function coverage (set: CidrSet): Coverage {
  const v4: Array<[bigint, bigint]> = []
  for (let i = 0; i < set.v4.length; i += 2) {
    const net = set.v4[i]! >>> 0
    v4.push([BigInt(net), BigInt((net | ~set.v4[i + 1]!) >>> 0)])
  }
  const v6: Array<[bigint, bigint]> = []
  for (let i = 0; i < set.v6.length; i += 8) {
    let net = 0n
    let mask = 0n
    for (let k = 0; k < 4; k++) {
      net = (net << 32n) | BigInt(set.v6[i + k]!)
      mask = (mask << 32n) | BigInt(set.v6[i + 4 + k]!)
    }
    v6.push([net, net | (~mask & ((1n << 128n) - 1n))])
  }
  return { allV4: spans(v4, 0n, V4_END), allV6: spans(v6, GLOBAL_START, GLOBAL_END) }
}

/** True when the union of the closed intervals covers [from, to]. */
function spans (intervals: Array<[bigint, bigint]>, from: bigint, to: bigint): boolean {
  intervals.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
  let reach = from
  for (const [start, end] of intervals) {
    if (end < reach) continue
    if (start > reach) return false
    if (end >= to) return true
    reach = end + 1n
  }
  return false
}

function what (c: Coverage): string {
  if (c.allV4 && c.allV6) return 'every IPv4 and every public IPv6 address'
  return c.allV4 ? 'every IPv4 address' : 'every public IPv6 address (2000::/3)'
}

/**
 * Why trusting `cidrs` (the CIDRs and IPs of `trustedProxies`, without
 * "cloudflare") would let any client choose its IP (e.g. `"::/1" covers every
 * IPv4 and every public IPv6 address`), or null when it would not.
 * Refused: ranges that, alone or together, cover every IPv4 address
 * (`0.0.0.0/0`; in IPv6 form any range over `::ffff:0:0/96`, such as `::/0`,
 * `::/1`, `::ffff:0:0/96` or `::ffff:10.0.0.0/8`, an IPv4-mapped CIDR whose
 * prefix is below 96; or `0.0.0.0/1` with `128.0.0.0/1`), or every global
 * unicast IPv6 address (`2000::/3`, `::/2` ...). Throws what CidrSet.parse
 * throws on an entry that is not a CIDR.
 */
export function anyClientProblem (cidrs: readonly string[]): string | null {
  const all = coverage(CidrSet.parse(cidrs))
  if (!all.allV4 && !all.allV6) return null
  const alone = cidrs.find((entry) => {
    const c = coverage(CidrSet.parse([entry]))
    return c.allV4 || c.allV6
  })
  return alone === undefined
    ? `${cidrs.map((e) => JSON.stringify(e)).join(', ')} together cover ${what(all)}`
    : `${JSON.stringify(alone)} covers ${what(coverage(CidrSet.parse([alone])))}`
}
