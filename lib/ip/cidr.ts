import ipaddr from 'ipaddr.js'
import { FST_APPFIREWALL_INVALID_CIDR } from '../errors'

/**
 * A strictly parsed address. IPv4 (also an IPv4-mapped IPv6 address, in any
 * spelling) is one uint32 in `w0`; IPv6 is four big-endian uint32 words, so
 * that a CIDR test is a handful of integer masks instead of an ipaddr.js
 * object walk.
 */
export interface ParsedIp {
  readonly v6: boolean
  readonly w0: number
  readonly w1: number
  readonly w2: number
  readonly w3: number
  /** Canonical text: dotted quad, or RFC 5952 for IPv6. */
  readonly text: string
}

// The longest IPv6 literal is 45 characters; allow room for a zone id, refuse
// anything longer before any parser sees it.
const MAX_LITERAL = 100

// The address parsers below are hand-written rather than ipaddr.js's: they run
// on the request path for new peers and header entries, where ipaddr.js took
// 2-4 us per IPv6 address on the benchmark machine and these a fraction of
// that (benchmarks/RESULTS.md, client IP section). They accept a subset of what
// ipaddr.js accepts (test/client-ip.test.ts compares the two on random input),
// and register-time CIDR parsing asks ipaddr.js for a second opinion.

/**
 * Strict dotted quad in s[start, end): four decimal parts 0-255, no leading
 * zeros, no hex or octal. inet_aton forms such as `0xc6.51.100.77` and
 * `010.1.1.1` are refused: a client could use them to slip past string-based
 * lists, and no proxy writes them. Returns the uint32, or -1.
 */
export function parseV4 (s: string, start: number, end: number): number {
  let value = 0
  let part = 0
  let digits = 0
  let dots = 0
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i)
    if (c === 46) { // '.'
      if (digits === 0 || dots === 3) return -1
      value = value * 256 + part
      part = 0
      digits = 0
      dots++
    } else if (c >= 48 && c <= 57) {
      if (digits === 1 && part === 0) return -1 // leading zero
      part = part * 10 + (c - 48)
      digits++
      if (part > 255) return -1
    } else {
      return -1
    }
  }
  if (digits === 0 || dots !== 3) return -1
  return value * 256 + part
}

function hexValue (c: number): number {
  if (c >= 48 && c <= 57) return c - 48
  if (c >= 97 && c <= 102) return c - 87
  if (c >= 65 && c <= 70) return c - 55
  return -1
}

// The eight 16-bit groups of the IPv6 being parsed; reused, so that a parse
// allocates only its result.
const groups = new Uint16Array(8)

/**
 * IPv6 text form (RFC 4291 2.2) in s[0, end) into `groups`: up to eight groups
 * of 1-4 hex digits, at most one `::` standing for at least one zero group, an
 * optional strict dotted-quad tail in place of the last two groups.
 */
function parseV6 (s: string, end: number): boolean {
  let n = 0
  let gap = -1
  let i = 0
  if (end < 2) return false
  if (s.charCodeAt(0) === 58) {
    if (s.charCodeAt(1) !== 58) return false
    gap = 0
    i = 2
  }
  while (i < end) {
    if (n === 8) return false
    let value = 0
    let digits = 0
    let j = i
    for (; j < end && digits <= 4; j++) {
      const h = hexValue(s.charCodeAt(j))
      if (h === -1) break
      value = value * 16 + h
      digits++
    }
    if (digits === 0 || digits > 4) return false
    if (j < end && s.charCodeAt(j) === 46) {
      // The group was the start of a dotted-quad tail, which ends the address.
      if (n > 6) return false
      const tail = parseV4(s, i, end)
      if (tail === -1) return false
      groups[n++] = tail >>> 16
      groups[n++] = tail & 0xffff
      break
    }
    groups[n++] = value
    if (j === end) break
    if (s.charCodeAt(j) !== 58) return false
    j++
    if (j === end) return false // a single trailing ':'
    if (s.charCodeAt(j) === 58) {
      if (gap !== -1) return false
      gap = n
      j++
    }
    i = j
  }
  if (gap === -1) return n === 8
  if (n > 7) return false
  const move = 8 - n
  for (let k = n - 1; k >= gap; k--) groups[k + move] = groups[k]!
  for (let k = gap; k < gap + move; k++) groups[k] = 0
  return true
}

/** RFC 5952: lowercase, no leading zeros, the longest run (>= 2) of zero groups as `::`, the first on a tie. */
function v6Text (): string {
  let bestStart = -1
  let bestLen = 1
  let runStart = -1
  for (let k = 0; k < 8; k++) {
    if (groups[k] === 0) {
      if (runStart === -1) runStart = k
      if (k - runStart + 1 > bestLen) {
        bestStart = runStart
        bestLen = k - runStart + 1
      }
    } else {
      runStart = -1
    }
  }
  // A flag rather than a look at the last character: reading a string being
  // built by += makes V8 flatten it on every step.
  let out = ''
  let sep = false
  for (let k = 0; k < 8;) {
    if (k === bestStart) {
      out += '::'
      k += bestLen
      sep = false
      continue
    }
    if (sep) out += ':'
    out += groups[k]!.toString(16)
    sep = true
    k++
  }
  return out
}

function v4Text (value: number): string {
  return `${value >>> 24}.${(value >>> 16) & 255}.${(value >>> 8) & 255}.${value & 255}`
}

function isZoneChar (c: number): boolean {
  // Interface names and numbers: eth0, en0, br-lan, eth0.100, 25.
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 45 || c === 46 || c === 95
}

/**
 * Parses one address literal, strictly: a dotted quad, or an IPv6 address
 * (zone id stripped; an embedded IPv4 tail must itself be a strict dotted
 * quad). IPv4-mapped IPv6 addresses come back as IPv4, whatever their
 * spelling, because the same client must match the same CIDRs and limiter key
 * whether it reached a dual-stack socket or an IPv4 one. No trimming, no
 * ports: callers strip those. Returns undefined for anything else.
 */
export function parseIp (text: string): ParsedIp | undefined {
  if (typeof text !== 'string' || text.length === 0 || text.length > MAX_LITERAL) return undefined
  if (text.indexOf(':') === -1) {
    const value = parseV4(text, 0, text.length)
    // A strict dotted quad is already in canonical form: keep the string.
    return value === -1 ? undefined : { v6: false, w0: value, w1: 0, w2: 0, w3: 0, text }
  }
  let end = text.indexOf('%')
  if (end === -1) {
    end = text.length
  } else {
    // An empty or odd zone id is not a zone id: refuse rather than guess.
    if (end === text.length - 1) return undefined
    for (let i = end + 1; i < text.length; i++) if (!isZoneChar(text.charCodeAt(i))) return undefined
  }
  if (!parseV6(text, end)) return undefined
  const w0 = ((groups[0]! << 16) | groups[1]!) >>> 0
  const w1 = ((groups[2]! << 16) | groups[3]!) >>> 0
  const w2 = ((groups[4]! << 16) | groups[5]!) >>> 0
  const w3 = ((groups[6]! << 16) | groups[7]!) >>> 0
  // ::ffff:0:0/96 is IPv4 by another name: compare parsed words, not prefixes.
  if (w0 === 0 && w1 === 0 && w2 === 0xffff) return { v6: false, w0: w3, w1: 0, w2: 0, w3: 0, text: v4Text(w3) }
  return { v6: true, w0, w1, w2, w3, text: v6Text() }
}

/**
 * The canonical text of an address literal: dotted quad for IPv4 (also for
 * IPv4-mapped IPv6 in every spelling), RFC 5952 (lowercase, compressed) for
 * IPv6, zone id stripped. Undefined when `text` is not a strict literal.
 */
export function canonicalIp (text: string): string | undefined {
  return parseIp(text)?.text
}

function maskOf (prefix: number, wordIndex: number): number {
  const bits = prefix - wordIndex * 32
  if (bits <= 0) return 0
  if (bits >= 32) return 0xffffffff
  return (0xffffffff << (32 - bits)) >>> 0
}

function invalidCidr (entry: unknown, why: string): Error {
  return new FST_APPFIREWALL_INVALID_CIDR(JSON.stringify(String(entry)),
    `${why}; allowed: an IPv4 or IPv6 address, optionally with a /prefix (e.g. "10.0.0.0/8", "2001:db8::/32")`)
}

const PREFIX = /^(?:0|[1-9]\d{0,2})$/

/**
 * A set of CIDRs compiled to integer masks. Membership is a linear scan of a
 * typed array: lists are short (Cloudflare has 22 ranges), IPv4 lookups are
 * prefiltered by first octet, and the caller caches verdicts per peer.
 */
export class CidrSet {
  // [network, mask] pairs, as int32 so that every test stays in small-integer
  // arithmetic (uint32 values above 2^31 would be compared as doubles).
  // Readable by range-bounds.ts, which measures what a list covers.
  /** @internal */
  readonly v4: Int32Array
  // 1 for each first octet that some IPv4 range covers: most addresses are
  // refused by one byte read before any range is scanned.
  private readonly v4First: Uint8Array
  /** @internal [n0, n1, n2, n3, m0, m1, m2, m3] groups */
  readonly v6: Uint32Array
  /** The entries this set was built from, as given. */
  readonly source: readonly string[]

  private constructor (v4: number[], v6: number[], source: readonly string[]) {
    this.v4 = Int32Array.from(v4)
    this.v4First = new Uint8Array(256)
    for (let i = 0; i < v4.length; i += 2) {
      const net = v4[i]!
      const last = (net | ~v4[i + 1]!) >>> 0
      for (let octet = net >>> 24; octet <= last >>> 24; octet++) this.v4First[octet] = 1
    }
    this.v6 = Uint32Array.from(v6)
    this.source = Object.freeze([...source])
  }

  /**
   * Compiles CIDRs and bare addresses, IPv4 and IPv6. Host bits below the
   * prefix are ignored (`10.0.0.1/8` is `10.0.0.0/8`). An IPv6 range that
   * covers IPv4-mapped space also covers the matching IPv4 addresses, since
   * addresses are compared after mapped ones became IPv4. Throws a
   * FST_APPFIREWALL_INVALID_CIDR error naming the first bad entry.
   */
  static parse (list: readonly string[]): CidrSet {
    const v4: number[] = []
    const v6: number[] = []
    for (const entry of list) {
      if (typeof entry !== 'string') throw invalidCidr(entry, 'not a string')
      const trimmed = entry.trim()
      const slash = trimmed.indexOf('/')
      const addrText = slash === -1 ? trimmed : trimmed.slice(0, slash)
      const ip = parseIp(addrText)
      // ipaddr.js as a second opinion: configuration is parsed once, so the
      // cost does not matter, and a gap in the fast parser cannot widen trust.
      if (ip === undefined || !ipaddr.isValid(addrText)) throw invalidCidr(entry, 'not a strict IPv4 or IPv6 literal')
      const mappedText = ip.v6 ? false : addrText.indexOf(':') !== -1
      let prefix = ip.v6 || mappedText ? 128 : 32
      if (slash !== -1) {
        const prefixText = trimmed.slice(slash + 1)
        if (!PREFIX.test(prefixText)) throw invalidCidr(entry, 'prefix is not a decimal number')
        const n = Number(prefixText)
        if (n > prefix) throw invalidCidr(entry, `prefix is larger than ${prefix}`)
        prefix = n
      }
      if (mappedText) {
        // ::ffff:a.b.c.d/p written in IPv6 form: p counts the 96 mapped bits too.
        if (prefix >= 96) {
          pushV4(v4, ip.w0, prefix - 96)
        } else {
          pushV6(v6, 0, 0, 0xffff, ip.w0, prefix)
          pushV4(v4, 0, 0)
        }
      } else if (ip.v6) {
        pushV6(v6, ip.w0, ip.w1, ip.w2, ip.w3, prefix)
        // A short IPv6 prefix such as ::/0 also spans ::ffff:0:0/96.
        if (prefix < 96 && covers(ip, prefix, 0, 0, 0xffff)) pushV4(v4, 0, 0)
      } else {
        pushV4(v4, ip.w0, prefix)
      }
    }
    return new CidrSet(v4, v6, list)
  }

  /** True when `ip` (any literal `parseIp` accepts) is inside the set. */
  has (ip: string): boolean {
    const parsed = parseIp(ip)
    return parsed !== undefined && this.hasParsed(parsed)
  }

  /** Membership of an IPv4 address given as a uint32. */
  hasV4 (value: number): boolean {
    if (this.v4First[value >>> 24] === 0) return false
    const a = this.v4
    const v = value | 0
    for (let i = 0; i < a.length; i += 2) {
      if ((v & a[i + 1]!) === a[i]) return true
    }
    return false
  }

  /** Membership of an already parsed address. */
  hasParsed (ip: ParsedIp): boolean {
    if (!ip.v6) return this.hasV4(ip.w0)
    const a = this.v6
    for (let i = 0; i < a.length; i += 8) {
      if (((ip.w0 & a[i + 4]!) >>> 0) === a[i] &&
        ((ip.w1 & a[i + 5]!) >>> 0) === a[i + 1] &&
        ((ip.w2 & a[i + 6]!) >>> 0) === a[i + 2] &&
        ((ip.w3 & a[i + 7]!) >>> 0) === a[i + 3]) return true
    }
    return false
  }

  /** True when the set holds no range at all. */
  get empty (): boolean {
    return this.v4.length === 0 && this.v6.length === 0
  }
}

function pushV4 (out: number[], value: number, prefix: number): void {
  const mask = maskOf(prefix, 0)
  out.push((value & mask) >>> 0, mask)
}

function pushV6 (out: number[], w0: number, w1: number, w2: number, w3: number, prefix: number): void {
  const m0 = maskOf(prefix, 0)
  const m1 = maskOf(prefix, 1)
  const m2 = maskOf(prefix, 2)
  const m3 = maskOf(prefix, 3)
  out.push((w0 & m0) >>> 0, (w1 & m1) >>> 0, (w2 & m2) >>> 0, (w3 & m3) >>> 0, m0, m1, m2, m3)
}

function covers (net: ParsedIp, prefix: number, w0: number, w1: number, w2: number): boolean {
  return ((net.w0 & maskOf(prefix, 0)) >>> 0) === ((w0 & maskOf(prefix, 0)) >>> 0) &&
    ((net.w1 & maskOf(prefix, 1)) >>> 0) === ((w1 & maskOf(prefix, 1)) >>> 0) &&
    ((net.w2 & maskOf(prefix, 2)) >>> 0) === ((w2 & maskOf(prefix, 2)) >>> 0)
}

/**
 * Validates an address list with the same parser the resolver uses; returns
 * the error message naming the first bad entry, or null. For option
 * validation, which collects every problem before throwing.
 */
export function checkCidrs (list: readonly string[]): string | null {
  try {
    CidrSet.parse(list)
    return null
  } catch (err) {
    return (err as Error).message
  }
}
