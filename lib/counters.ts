import type { AppFirewallStats, BreakerState, DroppedCounts, Mode } from './types'

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

  snapshot (mode: Mode, queued: number, inFlight: number): AppFirewallStats {
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
      lastSendAt: this.lastSendAt
    }
  }
}
