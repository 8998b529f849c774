/**
 * Every error the plugin throws, with a stable code. Codes are API: tests and
 * users match on `code`, never on message text. All of them are thrown at
 * register time; nothing on the request path throws.
 */
export class AppFirewallError extends Error {
  readonly code: string

  constructor (code: string, message: string) {
    super(message)
    this.name = 'AppFirewallError'
    this.code = code
  }
}

/** One or more options are wrong; the message lists each with what was given and what is allowed. */
export const FST_APPFIREWALL_INVALID_OPTIONS = 'FST_APPFIREWALL_INVALID_OPTIONS'
/** An entry of trustedProxies or allowList is neither "cloudflare" nor a valid CIDR or IP. */
export const FST_APPFIREWALL_INVALID_CIDR = 'FST_APPFIREWALL_INVALID_CIDR'

export function invalidOptions (problems: readonly string[]): AppFirewallError {
  return new AppFirewallError(
    FST_APPFIREWALL_INVALID_OPTIONS,
    `appfirewall-fastify: invalid options: ${problems.join('; ')}`
  )
}
/** The Shipper was given an endpoint that is not an http(s) URL (options validation reports it first). */
export const FST_APPFIREWALL_INVALID_ENDPOINT = 'FST_APPFIREWALL_INVALID_ENDPOINT'
