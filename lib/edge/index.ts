// The edge stage as the plugin sees it: from the resolved `edge` option to a
// started sync (or none, with the reason logged once).
import type { PluginLog } from '../guard'
import type { ResolvedEdge } from '../options'
import type { RedisLike, ResolvedOptions } from '../types'
import { FST_APPFIREWALL_INVALID_OPTIONS } from '../errors'
import { cloudflareListApi, loadCloudflareClient } from './cloudflare-api'
import { LocalCoordinator, RedisCoordinator } from './coordinator'
import { EdgeSync } from './sync'

export { EdgeSync } from './sync'
export type { EdgeSyncStats } from './sync'

/** Process warning code of an edge sync that lists nothing (shadow mode without includeShadow, off mode, no limits). */
export const EDGE_IDLE_WARNING = 'APPFIREWALL_EDGE_IDLE'
let idleWarned = false

/** How long a leader's lease lasts without renewal (ms): a dead leader is replaced after this. */
const LEASE_FLOOR_MS = 30_000
/** Timeout of one Lists API call (ms). */
const CALL_TIMEOUT_MS = 15_000

/**
 * The edge sync of `edge` (not started: the plugin starts it once the app is ready), or undefined when it would list nothing
 * (off mode, no class limited, shadow mode without `includeShadow`): said in
 * one warning. Throws FST_APPFIREWALL_INVALID_OPTIONS when the `cloudflare`
 * package cannot be loaded, or a class in `classes` is not limited. With
 * `redis`, the instances agree through it; with a `store` of the user's own,
 * each instance syncs its own blocks (said in one warning).
 */
export function createEdgeSync (edge: ResolvedEdge, options: ResolvedOptions, redis: RedisLike | undefined, ownStore: boolean, log: PluginLog): EdgeSync | undefined {
  const limited = Object.keys(options.rateLimit)
  const unknown = (edge.classes ?? []).filter((c) => !limited.includes(c))
  if (unknown.length > 0) {
    throw new FST_APPFIREWALL_INVALID_OPTIONS(`"edge.cloudflare.classes" must name classes that rateLimit limits (${limited.join(', ') || 'none'}), got ${unknown.slice(0, 5).map((c) => JSON.stringify(c)).join(', ')}`)
  }
  const idle = options.mode === 'off'
    ? 'the plugin is off'
    : limited.length === 0
      ? 'rateLimit limits no class, so nothing is ever blocked'
      : !options.enforceRateLimit && !edge.includeShadow
          ? 'enforceRateLimit is false (shadow mode) and edge.cloudflare.includeShadow is not set, so no block is listed'
          : undefined
  if (idle !== undefined) {
    const msg = `appfirewall: edge sync is configured but idle: ${idle}`
    log.warn({}, msg)
    // Fastify's logger is off by default, and a sync that lists nothing must not pass unseen.
    if (!idleWarned) {
      idleWarned = true
      process.emitWarning(msg, { code: EDGE_IDLE_WARNING, type: 'AppFirewallWarning' })
    }
    return undefined
  }
  const api = cloudflareListApi({ accountId: edge.accountId, listId: edge.listId, apiToken: edge.apiToken, baseUrl: edge.baseUrl, timeoutMs: CALL_TIMEOUT_MS }, loadCloudflareClient())
  const cap = edge.maxItems * 2
  const leaseMs = Math.max(LEASE_FLOOR_MS, edge.syncIntervalMs * 3)
  const coordinator = redis !== undefined
    ? new RedisCoordinator(redis, options.redisKeyPrefix, edge.listId, leaseMs, cap)
    : new LocalCoordinator(cap)
  if (redis === undefined && ownStore) {
    log.warn({}, 'appfirewall: edge sync with a store of your own: each instance lists the blocks it announces itself (only the redis option lets one instance sync for all)')
  }
  const sync = new EdgeSync({
    api,
    coordinator,
    maxItems: edge.maxItems,
    intervalMs: edge.syncIntervalMs,
    minListedMs: edge.minListedMs,
    classes: edge.classes === undefined ? undefined : new Set(edge.classes),
    leaseMs,
    log
  })
  return sync
}
