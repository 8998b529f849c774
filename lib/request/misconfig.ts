// Misconfiguration that only traffic reveals, reported once per process
// through the logger (DESIGN.md, "Client IP resolution"): forwarding headers
// from a peer that is not trusted (a proxy missing from trustedProxies), and
// every client resolving to a private or proxy address (the "one global
// client" mistake, which would make the limiter block everyone at once).
import type { ClientIpResult } from '../ip/client-ip'
import type { PluginLog } from '../guard'

/** Requests looked at by the "one global client" check; after that it costs one comparison. */
const GLOBAL_CLIENT_SAMPLE = 200

export class MisconfigWarnings {
  private forwardedWarned = false
  private privateLeft = GLOBAL_CLIENT_SAMPLE

  constructor (private readonly log: PluginLog) {}

  /** Looks at one resolution; warns at most once per kind for the life of the plugin. */
  check (r: ClientIpResult, peer: string | undefined): void {
    if (r.forwardedIgnored && !this.forwardedWarned) {
      this.forwardedWarned = true
      this.log.warn({ peer },
        'appfirewall: forwarding headers arrived from a peer that is not trusted (not in trustedProxies, or a Cloudflare address while "cloudflare" is not listed) and were ignored; if a proxy sits in front of this app, add it to trustedProxies')
    }
    if (this.privateLeft > 0) {
      if (!r.privateClient) this.privateLeft = 0
      else if (--this.privateLeft === 0) {
        this.log.warn({ ip: r.ip },
          'appfirewall: every client so far resolved to a private or proxy address; a proxy in front of this app is probably missing from trustedProxies, so all users look like one client')
      }
    }
  }
}
