// record() -> a `custom` event line -> the sink. Off the path of ordinary
// requests: only requests whose code records pay for it.
import type { Counters } from '../counters'
import { customLine } from '../events/line'
import type { Guard } from '../guard'
import type { Sink } from '../ship'
import type { CustomRecorder } from './context'

export function createRecorder (sink: Sink, counters: Counters, guard: Guard, envSuffix: string): CustomRecorder {
  return {
    recordedLate () {
      counters.ignored.afterResponse++
    },
    recordCustom (ctx, name, fields) {
      let line: string
      try {
        line = customLine(ctx, name, fields, Date.now(), envSuffix)
      } catch (err) {
        // Counted as emitted and dropped, so the accounting still adds up.
        counters.emitted++
        counters.dropped.serialization++
        guard.error(err, 'record')
        return
      }
      try {
        sink.push(line)
      } catch (err) {
        guard.error(err, 'sink')
      }
    }
  }
}
