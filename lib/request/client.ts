// What the plugin knows about the client of a request, read once into its
// context: the resolved client IP, Cloudflare's metadata (only through a real
// Cloudflare hop), the user agent's attack-tool verdict and the referer.
import type { IncomingHttpHeaders } from 'node:http'
import { compileTrustedProxies, resolveClientIp, setCloudflareRanges, type ClientIpResult, type TrustedProxies } from '../ip/client-ip'
import { MAX_UA_EXAMINED, userAgentInfo, type UserAgentInfo } from '../classify/user-agent'
import { kUserAgent } from '../symbols'
import type { PluginLog } from '../guard'
import { MisconfigWarnings } from './misconfig'
import type { RequestContext } from './context'

/** The part of Node's IncomingMessage read here (a raw request, also one Fastify's router refused). */
export interface RawRequest {
  headers: IncomingHttpHeaders
  socket?: { remoteAddress?: string | undefined, [kUserAgent]?: UserAgentInfo } | null
  httpVersionMajor?: number
}

/** Header value as one string: Node joins most duplicates, but set-cookie-like arrays are possible. */
function header (value: string | string[] | undefined): string | undefined {
  return typeof value === 'string' ? value : Array.isArray(value) ? value[0] : undefined
}

export class ClientReader {
  readonly trusted: TrustedProxies
  private readonly warnings: MisconfigWarnings
  // Resolution is synchronous and its fields are copied out at once, so one
  // result object serves every request; only `read` touches it.
  private readonly result: ClientIpResult = { ip: '0.0.0.0', cloudflare: false, via: undefined, forwardedIgnored: false, privateClient: false }

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
      // An HTTP/1 connection mostly repeats one user agent: comparing it with
      // the last one there (lengths first, then characters) costs a fraction
      // of the shared map's lookup, which hashes the whole fresh string
      // (~1.2k instructions for a 110-character browser UA, callgrind, Node 24).
      // HTTP/2's socket is a proxy of the session's: not used.
      const socket = raw.httpVersionMajor === 1 ? raw.socket : undefined
      let info = socket?.[kUserAgent]
      if (info === undefined || info.ua !== ua) {
        info = userAgentInfo(ua)
        if (socket != null && ua.length <= MAX_UA_EXAMINED) socket[kUserAgent] = info
      }
      ctx.uaClass = info.uaClass
      ctx.crawler = info.crawler
      ctx.uaJson = info.json
    }
    ctx.referer = header(headers.referer)
  }

  /** Swaps in a refreshed list of Cloudflare's ranges (throws on a bad entry, keeping the old list). */
  setCloudflareRanges (ranges: readonly string[]): void {
    setCloudflareRanges(this.trusted, ranges)
  }
}
