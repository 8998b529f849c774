// The real-length outage: the ingest answers 503 for 30 s while events keep
// coming, with the ship-mode sink at its default options (queue 10 000,
// batches of 500 every 2 s, 30 s retry deadline, breaker after 5 failures for
// 30 s).
// Longer than tap's default 30 s per file, hence the timeout below; the
// shortened variants live in test/shipper-faults.test.ts and
// test/shipper-app-retry.test.ts.
import t from 'tap'
import { makeShipper, numbers } from './fixtures/shipper-harness'
import type { Harness } from './fixtures/shipper-harness'
import { startIngest, sleep, waitFor } from './fixtures'

t.setTimeout(90000)

t.test('after 30 s of 503 the ingest recovers: what fit in the queue arrives, the rest is counted dropped', async (t) => {
  const outageMs = 30000
  const start = Date.now()
  const box: { h?: Harness } = {}
  const ingest = await startIngest(() => {
    box.h?.observe()
    return Date.now() - start < outageMs ? { status: 503 } : undefined
  })
  t.teardown(() => ingest.close())
  const h = box.h = makeShipper(ingest.url, {
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
  })
  t.teardown(() => h.sink.close(0))
  let unbalanced = 0
  let samples = 0
  // 500 events/s through the outage and a little beyond.
  const pusher = setInterval(() => {
    h.pushEvents(50)
    samples++
    if (!h.balanced()) unbalanced++
  }, 100)
  await sleep(outageMs + 1000)
  clearInterval(pusher)
  await waitFor(() => h.counters.breaker === 'closed' && h.stats().queued + h.stats().inFlight === 0, 40000, 'recovery')
  t.equal(unbalanced, 0, `counters added up at every one of ${samples} samples`)
  const s = h.stats()
  t.equal(s.emitted, s.sent + s.dropped.overflow + s.dropped.breaker, 'every event sent or counted dropped')
  t.ok(s.dropped.overflow > 0, `${s.dropped.overflow} dropped as overflow`)
  t.ok(s.sent >= 10000, `a full queue (and more) arrived: ${s.sent}`)
  t.equal(ingest.lines().length, s.sent)
  const got = numbers(ingest.lines())
  t.ok(got.every((n, i) => i === 0 || n > (got[i - 1] as number)), 'no event arrived twice')
  t.equal(got[got.length - 1], s.emitted - 1, 'the newest event arrived')
  t.same(h.trail, ['closed', 'open', 'half_open', 'closed'], 'one open period of 30 s, then a successful probe')
  t.equal(h.warnings().filter((l) => /breaker open/.test(l.msg)).length, 1)
  t.equal(h.warnings().filter((l) => /breaker closed/.test(l.msg)).length, 1)
})
