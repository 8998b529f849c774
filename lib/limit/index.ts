// The limit stage as the plugin sees it: one factory from the resolved
// options to the limiter (or none when no class is rate limited).
import type { SinkLogger } from '../ship/sink'
import type { LimitedInfo, RedisLike, ResolvedOptions } from '../types'
import { RateLimiter } from './limiter'
import type { LimitStore } from './store'

export { RateLimiter } from './limiter'
export { limiterKey } from './key'

export interface LimiterParts {
  onLimited: ((ip: string, info: LimitedInfo) => void) | undefined
  redis: RedisLike | undefined
  /** A shared store of the user's own; not yet used (lib/limit is being reworked to take it). */
  store: LimitStore | undefined
  log: SinkLogger
}

/** The limiter of the resolved options, or undefined when `rateLimit` limits no class. */
export function createLimiter (options: ResolvedOptions, parts: LimiterParts): RateLimiter | undefined {
  if (Object.keys(options.rateLimit).length === 0) return undefined
  return new RateLimiter({
    rules: options.rateLimit,
    maxTrackedIps: options.maxTrackedIps,
    enforce: options.enforceRateLimit,
    onLimited: parts.onLimited,
    redis: parts.redis,
    keyPrefix: options.redisKeyPrefix,
    log: parts.log
  })
}
