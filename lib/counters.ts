import type { AppFirewallStats, BreakerState, DroppedCounts, Mode, RateLimiterStats } from './types'
import type { EdgeSyncStats } from './edge/sync'

/**
 * Module-level record() calls that found no request (outside one, or where
 * Node lost the async context, e.g. in request-stream listeners). Per
 * process: such a call cannot know which registration it was meant for.
 */
export const unattributed = { outsideRequest: 0 }

/**
 * The mutable counters behind `app.appfirewall.stats()`. One instance per
 * plugin registration, shared by the event builder and the sink, so that the
 * invariant emitted = sent + dropped + queued + inFlight can be checked from
 * one place. Plain fields: incrementing them is the whole per-event cost.
 */
export class Counters {
  emitted = 0
  sent = 0
  readonly dropped: DroppedCounts = { overflow: 0, rejected: 0, breaker: 0, shutdown: 0, serialization: 0, io: 0 }
  batches = 0
  failures = 0
  breaker: BreakerState = 'closed'
  lastStatus: number | null = null
  lastSendAt: string | null = null
  /**
   * record() calls that made no event (not emitted): `afterResponse`, module-level after the response
   * (through the request's async context); `overRequestCap`, past maxCustomEventsPerRequest on one request.
   */
  readonly ignored = { afterResponse: 0, overRequestCap: 0 }
  /** Custom events whose fields were clipped to fit maxEventBytes (emitted and shipped, clipped). */
  clipped = 0

  snapshot (mode: Mode, queued: number, inFlight: number, limiter: RateLimiterStats | null, edge: EdgeSyncStats | null = null): AppFirewallStats {
    return {
      mode,
      emitted: this.emitted,
      sent: this.sent,
      dropped: { ...this.dropped },
      batches: this.batches,
      failures: this.failures,
      breaker: this.breaker,
      queued,
      inFlight,
      lastStatus: this.lastStatus,
      lastSendAt: this.lastSendAt,
      ignored: { afterResponse: this.ignored.afterResponse, outsideRequest: unattributed.outsideRequest, overRequestCap: this.ignored.overRequestCap },
      clipped: this.clipped,
      limiter,
      edge
    }
  }
}
