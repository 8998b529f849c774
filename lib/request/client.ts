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

/** Sets of the user-agent cache in front of userAgentInfo (a power of two); each holds two user agents. */
const UA_SETS = 64
/** Characters at the end of a user agent that pick its set: where browsers write their versions. */
const UA_TAIL = 48

/**
 * The set a user agent is looked up in, from its length and its last
 * UA_TAIL characters. Browsers differ from one release to the next in the
 * version numbers near the end (`Chrome/131.0.0.0 Safari/537.36`,
 * `Firefox/131.0`, `Version/17.5 Mobile/15E148`), which a few sampled
 * characters would miss. A Map lookup hashes the whole string, which is new on
 * every request (Node parses headers into fresh strings): ~1.2k instructions
 * for a browser's 110 characters; 48 characters here, then one comparison.
 */
function uaSet (ua: string): number {
  const n = ua.length
  let h = n
  for (let i = n > UA_TAIL ? n - UA_TAIL : 0; i < n; i++) h = (Math.imul(h, 31) + ua.charCodeAt(i)) | 0
  return ((h ^ (h >>> 11)) & (UA_SETS - 1)) << 1
}

export class ClientReader {
  readonly trusted: TrustedProxies
  private readonly warnings: MisconfigWarnings
  // Resolution is synchronous and its fields are copied out at once, so one
  // result object serves every request; only `read` touches it.
  private readonly result: ClientIpResult = { ip: '0.0.0.0', cloudflare: false, via: undefined, forwardedIgnored: false, privateClient: false }
  // Two ways per set, the one used last first: a user agent evicts the older
  // of its set. Misses fall back to userAgentInfo's own bounded Map, so a
  // flood of random user agents costs what it did. Only user agents of at
  // most MAX_UA_EXAMINED characters are kept: at most 128 of them, with their
  // JSON text (up to about twice as long).
  private readonly uaKeys: Array<string | undefined> = new Array<string | undefined>(2 * UA_SETS).fill(undefined)
  private readonly uaInfos: Array<UserAgentInfo | undefined> = new Array<UserAgentInfo | undefined>(2 * UA_SETS).fill(undefined)

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
      const info = this.uaInfo(ua)
      ctx.uaClass = info.uaClass
      ctx.uaJson = info.json
    }
    ctx.referer = header(headers.referer)
  }

  /** userAgentInfo(ua), through the two ways of its set. */
  private uaInfo (ua: string): UserAgentInfo {
    const keys = this.uaKeys
    const infos = this.uaInfos
    const i = uaSet(ua)
    if (keys[i] === ua) return infos[i] as UserAgentInfo
    if (keys[i + 1] === ua) {
      // Used now: it moves to the first way, and the other becomes the one to evict.
      const info = infos[i + 1] as UserAgentInfo
      keys[i + 1] = keys[i]
      infos[i + 1] = infos[i]
      keys[i] = ua
      infos[i] = info
      return info
    }
    const info = userAgentInfo(ua)
    if (ua.length <= MAX_UA_EXAMINED) {
      keys[i + 1] = keys[i]
      infos[i + 1] = infos[i]
      keys[i] = ua
      infos[i] = info
    }
    return info
  }

  /** Swaps in a refreshed list of Cloudflare's ranges (throws on a bad entry, keeping the old list). */
  setCloudflareRanges (ranges: readonly string[]): void {
    setCloudflareRanges(this.trusted, ranges)
  }
}
