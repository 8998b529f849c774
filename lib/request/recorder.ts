// record() -> a `custom` event line -> the sink. Off the path of ordinary
// requests: only requests whose code records pay for it.
import type { Counters } from '../counters'
import { customLine, type CustomLineSize } from '../events/line'
import type { Guard } from '../guard'
import type { Sink } from '../ship'
import type { ResolvedOptions } from '../types'
import type { CustomRecorder, RequestContext } from './context'

/**
 * Custom lines are pushed with `custom` set: the Batcher drops them before
 * any http_request line and never lets one push an http_request line out.
 */
export function createRecorder (sink: Pick<Sink, 'push'>, counters: Counters, guard: Guard, envSuffix: string,
  limits: Pick<ResolvedOptions, 'maxEventBytes' | 'maxCustomEventsPerRequest'>,
  countRecorded?: (ctx: RequestContext, name: string, now: number) => void): CustomRecorder {
  const maxEventBytes = limits.maxEventBytes
  const perRequest = limits.maxCustomEventsPerRequest
  // Custom events recorded so far, per request. Kept here rather than on the
  // context: only requests that record pay for the entry, and it goes with them.
  const recorded = new WeakMap<RequestContext, number>()
  // What customLine made: read at once, after each call.
  const size: CustomLineSize = { bytes: 0, clipped: false }
  return {
    recordedLate () {
      counters.ignored.afterResponse++
    },
    recordCustom (ctx, name, fields) {
      // One request recording in a loop must not crowd out everyone else's
      // events: past the cap, calls are counted and make no event (not emitted).
      const n = recorded.get(ctx) ?? 0
      if (n >= perRequest) {
        counters.ignored.overRequestCap++
        return
      }
      recorded.set(ctx, n + 1)
      const now = Date.now()
      // A `rateLimit` rule of this event's name counts it per client (issue 11, item 6).
      if (countRecorded !== undefined && typeof name === 'string') {
        try {
          countRecorded(ctx, name, now)
        } catch (err) {
          guard.error(err, 'record')
        }
      }
      let line: string
      try {
        line = customLine(ctx, name, fields, now, envSuffix, maxEventBytes, size)
      } catch (err) {
        // Counted as emitted and dropped, so the accounting still adds up.
        counters.emitted++
        counters.dropped.serialization++
        guard.error(err, 'record')
        return
      }
      if (size.clipped) counters.clipped++
      try {
        sink.push(line, true)
      } catch (err) {
        guard.error(err, 'sink')
      }
    }
  }
}
