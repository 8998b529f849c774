import { test } from 'tap'
import { isoTime } from '../lib/events/clock'

test('isoTime matches Date#toISOString at every millisecond it is asked about', async (t) => {
  const starts = [0, 999, 1000, Date.UTC(2026, 10, 25, 23, 59, 59, 998), Date.UTC(2024, 1, 29, 12, 0, 0, 0), Date.now()]
  let wrong = 0
  for (const start of starts) {
    for (let ms = start; ms < start + 2500; ms += 7) {
      if (isoTime(ms) !== new Date(ms).toISOString()) wrong++
    }
  }
  // Going back in time (clock adjustments) is still right.
  for (const ms of [Date.now(), 5000, Date.now() - 1]) if (isoTime(ms) !== new Date(ms).toISOString()) wrong++
  t.equal(wrong, 0)
})
