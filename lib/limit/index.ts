// The limit stage as the plugin sees it: one factory from the resolved
// options to the limiter (or none when no class is rate limited).
import type { PluginLog } from '../guard'
import type { LimitedInfo, RedisLike, ResolvedOptions } from '../types'
import { RateLimiter } from './limiter'
import { RedisStore } from './redis-store'
import type { LimitStore } from './store'

export { RateLimiter, closeStore } from './limiter'
export { limiterKey } from './key'
export type { LimitBlockListener, LimitCount, LimitRule, LimitStore } from './store'

export interface LimiterParts {
  onLimited: ((ip: string, info: LimitedInfo) => void) | undefined
  /** Told of each block this process announces (the edge sync). */
  onBlock?: ((key: string, classification: string, ms: number, now: number) => void) | undefined
  /** The user's ioredis client: the Redis store is built on it. */
  redis: RedisLike | undefined
  /** A shared store of the user's own (options refuse it together with `redis`). */
  store: LimitStore | undefined
  /** Errors of the user's onLimited (the plugin's guard: the onError option). */
  onHookError: (err: unknown) => void
  log: PluginLog
}

/**
 * The limiter of the resolved options, or undefined when `rateLimit` limits no
 * class. Its shared store is the user's `store`, else a Redis store on the
 * user's `redis` client, else none; the limiter closes it on `close()`.
 */
export function createLimiter (options: ResolvedOptions, parts: LimiterParts): RateLimiter | undefined {
  if (Object.keys(options.rateLimit).length === 0) return undefined
  const store = parts.store ??
    (parts.redis === undefined ? undefined : new RedisStore({ client: parts.redis, prefix: options.redisKeyPrefix }))
  return new RateLimiter({
    rules: options.rateLimit,
    maxTrackedIps: options.maxTrackedIps,
    siteFactor: options.ipv6SiteFactor,
    enforce: options.enforceRateLimit,
    onLimited: parts.onLimited,
    onBlock: parts.onBlock,
    store,
    closeGraceMs: options.closeGraceMs,
    onHookError: parts.onHookError,
    log: parts.log
  })
}
