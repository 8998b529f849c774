// The real-length outage: the ingest answers 503 for 30 s while events keep
// coming, with the ship-mode sink at its default options (queue 10 000,
// batches of 500 every 2 s, 30 s retry deadline, breaker after 5 failures for
// 30 s).
// Longer than tap's default 30 s per file, hence the timeout below; the
// shortened variants live in test/shipper-faults.test.ts and
// test/shipper-app-retry.test.ts.
import t from 'tap'
import { arrivedOnceInOrder, shipThroughOutage } from './fixtures'

t.setTimeout(90000)

t.test('after 30 s of 503 the ingest recovers: what fit in the queue arrives, the rest is counted dropped', async (t) => {
  const outage = await shipThroughOutage(t, {
    outageMs: 30000,
    perPush: 50, // 500 events/s through the outage and a little beyond
    everyMs: 100,
    afterMs: 1000,
    recoveryMs: 40000,
    options: {
      queueSize: 10000,
      batchSize: 500,
      flushIntervalMs: 2000,
      requestTimeoutMs: 5000,
      retryDeadlineMs: 30000,
      maxRetryAfterMs: 300000,
      breakerThreshold: 5,
      breakerCooldownMs: 30000,
      retryBaseMs: 250,
      retryMaxMs: 8000
    }
  })
  const { h } = outage
  const { samples, broken } = outage.balance.stop()
  t.equal(broken, 0, `counters added up at every one of ${samples} samples`)
  const s = h.stats()
  t.equal(s.emitted, s.sent + s.dropped.overflow + s.dropped.breaker, 'every event sent or counted dropped')
  t.ok(s.dropped.overflow > 0, `${s.dropped.overflow} dropped as overflow`)
  t.ok(s.sent >= 10000, `a full queue (and more) arrived: ${s.sent}`)
  arrivedOnceInOrder(t, outage)
  t.same(h.trail, ['closed', 'open', 'half_open', 'closed'], 'one open period of 30 s, then a successful probe')
  t.equal(h.warnings().filter((l) => /breaker open/.test(l.msg)).length, 1)
  t.equal(h.warnings().filter((l) => /breaker closed/.test(l.msg)).length, 1)
})
