// What the plugin knows about the client of a request, read once into its
// context: the resolved client IP, Cloudflare's metadata (only through a real
// Cloudflare hop), the user agent's attack-tool verdict and the referer.
import type { IncomingHttpHeaders } from 'node:http'
import { compileTrustedProxies, resolveClientIp, setCloudflareRanges, type ClientIpResult, type TrustedProxies } from '../ip/client-ip'
import { MAX_UA_EXAMINED, userAgentInfo, type UserAgentInfo } from '../classify/user-agent'
import type { PluginLog } from '../guard'
import { MisconfigWarnings } from './misconfig'
import type { RequestContext } from './context'

/** The part of Node's IncomingMessage read here (a raw request, also one Fastify's router refused). */
export interface RawRequest {
  headers: IncomingHttpHeaders
  socket?: { remoteAddress?: string | undefined } | null
}

/** Header value as one string: Node joins most duplicates, but set-cookie-like arrays are possible. */
function header (value: string | string[] | undefined): string | undefined {
  return typeof value === 'string' ? value : Array.isArray(value) ? value[0] : undefined
}

/** Slots of the user-agent cache in front of userAgentInfo (a power of two). */
const UA_SLOTS = 64

/**
 * The slot a user agent is looked up in: its length and three of its
 * characters, read without walking the string. A Map lookup hashes the
 * whole string, which is new on every request (Node parses headers into
 * fresh strings): ~1.2k instructions for a browser's 110 characters,
 * against a few dozen here and one comparison of equal-length strings.
 */
function uaSlot (ua: string): number {
  const n = ua.length
  return (n * 31 + ua.charCodeAt(n - 1) * 7 + ua.charCodeAt(n >> 1) * 3 + ua.charCodeAt(n - 9)) & (UA_SLOTS - 1)
}

export class ClientReader {
  readonly trusted: TrustedProxies
  private readonly warnings: MisconfigWarnings
  // Resolution is synchronous and its fields are copied out at once, so one
  // result object serves every request; only `read` touches it.
  private readonly result: ClientIpResult = { ip: '0.0.0.0', cloudflare: false, via: undefined, forwardedIgnored: false, privateClient: false }
  // Direct-mapped: a user agent evicts the one in its slot. Misses fall back
  // to userAgentInfo's own bounded Map, so a flood of random user agents
  // costs what it did; each slot holds a string the parser already made.
  private readonly uaKeys: Array<string | undefined> = new Array<string | undefined>(UA_SLOTS).fill(undefined)
  private readonly uaInfos: Array<UserAgentInfo | undefined> = new Array<UserAgentInfo | undefined>(UA_SLOTS).fill(undefined)

  constructor (trustedProxies: readonly string[], log: PluginLog) {
    this.trusted = compileTrustedProxies(trustedProxies)
    this.warnings = new MisconfigWarnings(log)
  }

  /** Fills `ctx` from the raw request's socket peer and headers. Throws only on a bug (the caller guards). */
  read (ctx: RequestContext, raw: RawRequest): void {
    const headers = raw.headers
    const peer = raw.socket?.remoteAddress
    const r = resolveClientIp(peer, headers, this.trusted, this.result)
    ctx.ip = r.ip
    if (r.cloudflare) {
      // cf-* headers are believed only from a real Cloudflare hop: anyone else could forge them.
      ctx.cfCountry = header(headers['cf-ipcountry'])
      ctx.cfRay = header(headers['cf-ray'])
      ctx.cfAsn = header(headers['cf-asn'])
      ctx.via = r.via
    }
    this.warnings.check(r, peer)
    const ua = header(headers['user-agent'])
    if (ua !== undefined) {
      const slot = uaSlot(ua)
      let info = this.uaInfos[slot]
      if (this.uaKeys[slot] !== ua || info === undefined) {
        info = userAgentInfo(ua)
        // Like userAgentInfo's Map, a long user agent is not kept: the slots hold at most 64 x 512 characters.
        if (ua.length <= MAX_UA_EXAMINED) {
          this.uaKeys[slot] = ua
          this.uaInfos[slot] = info
        }
      }
      ctx.uaClass = info.uaClass
      ctx.uaJson = info.json
    }
    ctx.referer = header(headers.referer)
  }

  /** Swaps in a refreshed list of Cloudflare's ranges (throws on a bad entry, keeping the old list). */
  setCloudflareRanges (ranges: readonly string[]): void {
    setCloudflareRanges(this.trusted, ranges)
  }
}
