// What the plugin says when it starts: one info line through the app's
// logger with what it will do, the warnings that did not stop the boot, and
// the switch to `off` for a missing key, which also becomes a process warning
// when the app's logger would swallow it (Fastify's logger is off by default).
import type { FastifyBaseLogger } from 'fastify'
import type { PluginLog } from './guard'
import type { ResolvedOptions } from './types'

/** Process warning code of a plugin that switched itself off for lack of an API key. */
export const NO_API_KEY_WARNING = 'APPFIREWALL_NO_API_KEY'
let noKeyWarned = false

/** The options in effect: `ship` without a key becomes `off` (fail open: a missing key never breaks a boot). */
export function effectiveOptions (options: ResolvedOptions, warnings: readonly string[], log: PluginLog, appLog: FastifyBaseLogger): ResolvedOptions {
  for (const w of warnings) log.warn({}, w)
  if (options.mode !== 'ship' || options.hasApiKey) return options
  const msg = 'appfirewall: mode "ship" needs apiKey (or APPFIREWALL_API_KEY); the plugin is off'
  log.warn({}, msg)
  if (!warnEnabled(appLog) && !noKeyWarned) {
    noKeyWarned = true
    process.emitWarning(msg, { code: NO_API_KEY_WARNING, type: 'AppFirewallWarning' })
  }
  return Object.freeze({ ...options, mode: 'off' })
}

function warnEnabled (logger: FastifyBaseLogger): boolean {
  try {
    const l = logger as FastifyBaseLogger & { isLevelEnabled?: (level: string) => boolean }
    // Fastify without a logger has neither a level nor isLevelEnabled.
    return typeof l.isLevelEnabled === 'function' ? l.isLevelEnabled('warn') : (l.level !== undefined && l.level !== 'silent')
  } catch {
    return false
  }
}

/** One info line: where events go, who is trusted, what is limited and whether it is enforced. */
export function reportStart (options: ResolvedOptions, log: PluginLog): void {
  const where = options.mode === 'ship'
    ? `shipped to ${originOf(options.endpoint)}`
    : options.mode === 'local' ? `appended to ${options.localLogPath ?? ''}` : 'not recorded (off)'
  const limits = Object.entries(options.rateLimit).map(([cls, r]) => `${cls} ${r?.max ?? 0} per ${r?.windowMs ?? 0} ms`).join(', ')
  log.info({
    mode: options.mode,
    trustedProxies: options.trustedProxies,
    rateLimit: options.rateLimit,
    enforceRateLimit: options.enforceRateLimit,
    sharedStore: options.sharedStore
  }, `appfirewall: ${options.mode} mode: events ${where}; trusted proxies ${options.trustedProxies.join(', ') || 'none'}; ` +
    // Off mode adds no hooks: nothing is counted, whatever rateLimit says.
    (options.mode === 'off' || limits === '' ? 'no rate limits' : `limits ${limits}, ${options.enforceRateLimit ? `enforced (429, scope ${options.enforceScope})` : 'shadow mode (would_block)'}`) +
    (options.mode !== 'off' && options.sharedStore ? ', shared store' : ''))
}

// Scheme, host and port only: the path of an endpoint may carry a token.
function originOf (endpoint: string): string {
  try {
    return new URL(endpoint).origin
  } catch {
    return 'the endpoint'
  }
}
