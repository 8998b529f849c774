import type { IncomingHttpHeaders } from 'node:http'
import { CidrSet, parseIp, parseV4 } from './cidr'
import { CLOUDFLARE_RANGES } from './cloudflare-ranges'
import { anyClientProblem } from './trust-bounds'
import { FST_APPFIREWALL_INVALID_CIDR } from '../errors'

/**
 * What is known about one address text, computed once and cached: the
 * per-request cost for a repeat peer is one Map lookup, no parse.
 */
export interface PeerInfo {
  /** Canonical text; '' for the invalid sentinel. */
  readonly ip: string
  /** Inside a trustedProxies CIDR: its forwarding headers are believed. */
  readonly trusted: boolean
  /** Inside Cloudflare's ranges and "cloudflare" is trusted. */
  readonly cloudflare: boolean
  /**
   * Not a plausible end client: private, loopback, link-local, CGNAT, a
   * trusted proxy or a Cloudflare edge address. Every request resolving to one
   * of these is the "one global client" misconfiguration.
   */
  readonly proxyish: boolean
  /** IPv4 class E (240.0.0.0/4): Cloudflare's "Pseudo IPv4" stand-in. */
  readonly classE: boolean
  readonly v6: boolean
}

/** Trusted-proxy configuration compiled for the request path. */
export interface TrustedProxies {
  /** "cloudflare" was listed: Cloudflare peers' cf-connecting-ip is believed. */
  readonly cloudflare: boolean
  /** The CIDRs and bare IPs that were listed. */
  readonly cidrs: CidrSet
  /** Cloudflare's ranges in use (shipped list, or the last good refresh). */
  cloudflareRanges: CidrSet
  /**
   * Address text -> PeerInfo, in two generations: lookups try `cache` then
   * `previous`; when `cache` fills up it becomes `previous` and the older one
   * is dropped. Bounded memory, no per-entry bookkeeping, and addresses seen
   * recently (repeat peers, proxies) survive a flood of one-off ones.
   */
  cache: Map<string, PeerInfo>
  previous: Map<string, PeerInfo>
}

export interface ClientIpResult {
  /** Resolved client IP, canonical; '0.0.0.0' when the peer is unknown. */
  ip: string
  /** The request crossed a trusted Cloudflare hop: cf-ipcountry, cf-ray, cf-asn may be read. */
  cloudflare: boolean
  /** What else is known about the path, e.g. 'cf-worker' for a Cloudflare Worker subrequest. */
  via: string | undefined
  /** Forwarding headers (x-forwarded-for, x-real-ip, cf-connecting-ip) came from an untrusted, non-Cloudflare peer. */
  forwardedIgnored: boolean
  /** The resolved IP is private, loopback or a proxy's: for the "one global client" warning. */
  privateClient: boolean
}

/** Unknown peer: written like the reference, never counted by the limiter. */
export const UNKNOWN_IP = '0.0.0.0'
/** Most x-forwarded-for entries examined, from the right. */
export const MAX_HOPS = 20
/** Most characters of x-forwarded-for examined, from the right (20 bracketed IPv6 hops with ports fit). */
export const MAX_FORWARDED_CHARS = 1200
// Longest header entry read as an address: 45-character IPv6, zone id, brackets, port.
const MAX_ENTRY_CHARS = 100
// Entries per cache generation; two generations are kept.
const CACHE_GENERATION = 2048

const PRIVATE = CidrSet.parse([
  '0.0.0.0/8', '10.0.0.0/8', '100.64.0.0/10', '127.0.0.0/8', '169.254.0.0/16', '172.16.0.0/12', '192.168.0.0/16',
  '::/128', '::1/128', 'fc00::/7', 'fe80::/10'
])

const INVALID: PeerInfo = Object.freeze({ ip: '', trusted: false, cloudflare: false, proxyish: false, classE: false, v6: false })

/**
 * Compiles a trustedProxies list: "cloudflare" and/or CIDRs and bare IPs,
 * IPv4 and IPv6. Throws a FST_APPFIREWALL_INVALID_CIDR error naming a bad
 * entry, or the entries that would let any client choose its IP (see
 * anyClientProblem; register refuses those first, as invalid options).
 * `cloudflareRanges` defaults to the list shipped in the package.
 */
export function compileTrustedProxies (
  list: readonly string[],
  cloudflareRanges: readonly string[] = CLOUDFLARE_RANGES
): TrustedProxies {
  const cidrs: string[] = []
  let cloudflare = false
  for (const entry of list) {
    if (entry === 'cloudflare') cloudflare = true
    else cidrs.push(entry)
  }
  const wide = anyClientProblem(cidrs)
  if (wide !== null) throw new FST_APPFIREWALL_INVALID_CIDR(JSON.stringify(cidrs.join(', ')), `${wide}: any client could choose its IP`)
  return {
    cloudflare,
    cidrs: CidrSet.parse(cidrs),
    cloudflareRanges: CidrSet.parse(cloudflareRanges),
    cache: new Map(),
    previous: new Map()
  }
}

/**
 * Swaps in a new list of Cloudflare ranges (from the background refresh).
 * Throws on a bad entry and then keeps the old list. Cached verdicts depend on
 * the ranges, so the cache is emptied.
 */
export function setCloudflareRanges (trusted: TrustedProxies, ranges: readonly string[]): void {
  trusted.cloudflareRanges = CidrSet.parse(ranges)
  trusted.cache = new Map()
  trusted.previous = new Map()
}

function describe (trusted: TrustedProxies, text: string): PeerInfo {
  const ip = parseIp(text)
  if (ip === undefined) return INVALID
  if (!ip.v6) return describeV4(trusted, ip.w0, ip.text)
  const inCloudflare = trusted.cloudflareRanges.hasParsed(ip)
  const isTrusted = trusted.cidrs.hasParsed(ip)
  return {
    ip: ip.text,
    trusted: isTrusted,
    cloudflare: trusted.cloudflare && inCloudflare,
    proxyish: isTrusted || inCloudflare || PRIVATE.hasParsed(ip),
    classE: false,
    v6: true
  }
}

function describeV4 (trusted: TrustedProxies, value: number, text: string): PeerInfo {
  const inCloudflare = trusted.cloudflareRanges.hasV4(value)
  const isTrusted = trusted.cidrs.hasV4(value)
  return {
    ip: text,
    trusted: isTrusted,
    cloudflare: trusted.cloudflare && inCloudflare,
    proxyish: isTrusted || inCloudflare || PRIVATE.hasV4(value),
    classE: value >= 0xf0000000,
    v6: false
  }
}

function lookup (trusted: TrustedProxies, text: string): PeerInfo {
  let info = trusted.cache.get(text)
  if (info !== undefined) return info
  info = trusted.previous.get(text) ?? describe(trusted, text)
  if (trusted.cache.size >= CACHE_GENERATION) {
    trusted.previous = trusted.cache
    trusted.cache = new Map()
  }
  trusted.cache.set(text, info)
  return info
}

function isDigits (s: string, start: number, end: number): boolean {
  // Ports are 1-5 digits; anything else makes the entry unreadable.
  if (end - start < 1 || end - start > 5) return false
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i)
    if (c < 48 || c > 57) return false
  }
  return true
}

/**
 * One address entry of a header, s[start, end): optional whitespace, an
 * optional port (`1.2.3.4:80`, `[2001:db8::1]:443`) and brackets are removed;
 * anything else that is not a strict literal is INVALID.
 */
function entryInfo (trusted: TrustedProxies, s: string, start: number, end: number): PeerInfo {
  while (start < end && (s.charCodeAt(start) === 32 || s.charCodeAt(start) === 9)) start++
  while (end > start && (s.charCodeAt(end - 1) === 32 || s.charCodeAt(end - 1) === 9)) end--
  // Nothing longer is an address (even bracketed, with a zone and a port):
  // refuse it before it is copied or becomes a cache key.
  if (start === end || end - start > MAX_ENTRY_CHARS) return INVALID
  if (s.charCodeAt(start) === 91) { // '['
    const close = s.indexOf(']', start)
    if (close === -1 || close >= end) return INVALID
    if (close + 1 < end && (s.charCodeAt(close + 1) !== 58 || !isDigits(s, close + 2, end))) return INVALID
    start++
    end = close
    // Brackets belong to IPv6 only.
    if (s.indexOf(':', start) === -1 || s.indexOf(':', start) >= end) return INVALID
  } else {
    const colon = s.indexOf(':', start)
    let v4 = colon === -1 || colon >= end
    if (!v4) {
      const second = s.indexOf(':', colon + 1)
      if (second === -1 || second >= end) {
        // One colon: IPv4 with a port (an IPv6 literal has at least two).
        if (!isDigits(s, colon + 1, end)) return INVALID
        end = colon
        v4 = true
      }
    }
    if (v4) {
      // Parsed in place, not cached: as cheap as a cache lookup, and client
      // addresses (one-offs, mostly) then never push proxies out of the cache.
      const value = parseV4(s, start, end)
      if (value === -1) return INVALID
      return describeV4(trusted, value, start === 0 && end === s.length ? s : s.slice(start, end))
    }
  }
  return lookup(trusted, start === 0 && end === s.length ? s : s.slice(start, end))
}

function headerText (value: unknown): string | undefined {
  if (typeof value === 'string') return value
  // Node joins repeated x-forwarded-for lines itself; an array only comes from
  // a caller building headers by hand, and means the same list.
  if (Array.isArray(value)) {
    let joined = ''
    for (const item of value) {
      if (typeof item !== 'string') return undefined
      joined = joined === '' ? item : joined + ',' + item
    }
    return joined
  }
  return undefined
}

function fill (out: ClientIpResult, ip: string, cloudflare: boolean, via: string | undefined, forwardedIgnored: boolean, privateClient: boolean): ClientIpResult {
  out.ip = ip
  out.cloudflare = cloudflare
  out.via = via
  out.forwardedIgnored = forwardedIgnored
  out.privateClient = privateClient
  return out
}

/**
 * The request came through Cloudflare; `edge` is the Cloudflare address it
 * came from (the peer, or the hop a trusted load balancer reported).
 * cf-connecting-ip is believed if it is one strict IP; a missing, garbage or
 * comma-listed value leaves the edge address, which is all that is known.
 */
function fromCloudflare (trusted: TrustedProxies, headers: IncomingHttpHeaders, edge: PeerInfo, out: ClientIpResult): ClientIpResult {
  let client = edge
  const connecting = headers['cf-connecting-ip']
  if (typeof connecting === 'string') {
    const info = entryInfo(trusted, connecting, 0, connecting.length)
    if (info !== INVALID) {
      client = info
      if (info.classE) {
        // "Pseudo IPv4": the class E address is a stand-in, the real client is here.
        const v6 = headers['cf-connecting-ipv6']
        if (typeof v6 === 'string') {
          const real = entryInfo(trusted, v6, 0, v6.length)
          if (real.v6) client = real
        }
      }
    }
  }
  // A Worker subrequest from any Cloudflare account reaches origins too: say so.
  const via = headers['cf-worker'] !== undefined ? 'cf-worker' : undefined
  return fill(out, client.ip, true, via, false, client.proxyish)
}

/**
 * Walks x-forwarded-for from the right, skipping trusted proxies. Returns the
 * first untrusted address, the leftmost when every hop is trusted, or the last
 * address reached when an entry is not an IP or a bound is hit: never anything
 * left of that point, since a client writes the left part itself.
 */
function walkForwarded (trusted: TrustedProxies, xff: string, peer: PeerInfo): PeerInfo {
  const limit = xff.length > MAX_FORWARDED_CHARS ? xff.length - MAX_FORWARDED_CHARS : 0
  let current = peer
  let end = xff.length
  for (let hops = 0; hops < MAX_HOPS; hops++) {
    let comma = end - 1
    while (comma >= limit && xff.charCodeAt(comma) !== 44) comma--
    // Ran into the length bound inside an entry: it is cut, so unreadable.
    if (comma < limit && limit > 0) return current
    const info = entryInfo(trusted, xff, comma + 1, end)
    if (info === INVALID) return current
    current = info
    if (info.cloudflare || !info.trusted || comma < 0) return current
    end = comma
  }
  return current
}

const NO_HEADERS: IncomingHttpHeaders = Object.freeze({})
const scratch: ClientIpResult = { ip: UNKNOWN_IP, cloudflare: false, via: undefined, forwardedIgnored: false, privateClient: false }

/**
 * Resolves the real client IP of a request from its socket peer and headers,
 * believing forwarding headers only from trusted peers (DESIGN.md, "Client IP
 * resolution"). Pure apart from the peer cache in `trusted`; never throws,
 * whatever the headers hold. Pass `out` to have it filled instead of a new
 * object being allocated.
 */
export function resolveClientIp (
  peer: string | undefined,
  headers: IncomingHttpHeaders,
  trusted: TrustedProxies,
  out?: ClientIpResult
): ClientIpResult {
  const result = out ?? { ...scratch }
  if (headers === null || typeof headers !== 'object') headers = NO_HEADERS
  // No peer (the socket is already gone, or not an IP socket): nothing can be
  // believed, and the placeholder is never counted as one client.
  if (typeof peer !== 'string' || peer.length === 0 || peer.length > MAX_ENTRY_CHARS) return fill(result, UNKNOWN_IP, false, undefined, false, false)
  const info = lookup(trusted, peer)
  if (info === INVALID) return fill(result, UNKNOWN_IP, false, undefined, false, false)
  if (info.cloudflare) return fromCloudflare(trusted, headers, info, result)
  if (info.trusted) {
    const xffValue = headers['x-forwarded-for']
    let reached = info
    if (xffValue !== undefined) {
      const xff = headerText(xffValue)
      if (xff !== undefined) reached = walkForwarded(trusted, xff, info)
    } else {
      // x-real-ip only stands in for a missing x-forwarded-for, never beside one.
      const real = headers['x-real-ip']
      if (typeof real === 'string') {
        const realInfo = entryInfo(trusted, real, 0, real.length)
        if (realInfo !== INVALID) reached = realInfo
      }
    }
    // Cloudflare -> load balancer -> app: the LB reports a Cloudflare edge hop.
    if (reached.cloudflare) return fromCloudflare(trusted, headers, reached, result)
    return fill(result, reached.ip, false, undefined, false, reached.proxyish)
  }
  const forwarded = headers['x-forwarded-for'] !== undefined ||
    headers['x-real-ip'] !== undefined ||
    headers['cf-connecting-ip'] !== undefined
  return fill(result, info.ip, false, undefined, forwarded, info.proxyish)
}
