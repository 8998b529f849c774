// The fault table, driven against the ship-mode sink (Batcher + HttpExporter)
// with a real ingest on 127.0.0.1. Each row checks delivery, the breaker's
// path and that emitted = sent + dropped + queued + inFlight whenever the
// test looks. (test/shipper-app-*.test.ts play the same rows through a
// Fastify app.)
import t from 'tap'
import type { Test } from 'tap'
import { arrivedOnceInOrder, makeShipper, numbers, refusedPort, shipThroughOutage, shipTo, sleep, startIngest, waitFor, watchBalance } from './fixtures'
import type { IngestReply, IngestScript, ShipOptions, Shipment } from './fixtures'

// Rows are independent (own ingest, own sink) and mostly wait on timers:
// run them side by side.
t.jobs = 4

const range = (n: number, from = 0): number[] => Array.from({ length: n }, (_, i) => from + i)

const FAST: Partial<ShipOptions> = { breakerThreshold: 3, breakerCooldownMs: 200, retryBaseMs: 10, retryMaxMs: 50 }

/** One row's run: the sink's options (on top of FAST), and the events pushed before one flush. */
interface Run extends Partial<ShipOptions> {
  events: number
  /** How long the flush may take (default 5 s). */
  flushMs?: number
  /** What the flush assertion says. */
  flushSays?: string
}

/**
 * Ships `run.events` events to an ingest answering as `script` says and
 * flushes; asserts that the flush resolved true and that the counters added
 * up all along (three assertions).
 */
async function shipAndFlush (t: Test, script: IngestScript, run: Run): Promise<Shipment> {
  const { events, flushMs = 5000, flushSays = 'flush resolves true', ...options } = run
  const shipment = await shipTo(t, script, { ...FAST, ...options })
  const balance = watchBalance(t, shipment.h)
  shipment.h.pushEvents(events)
  t.equal(await shipment.h.sink.flush(flushMs), true, flushSays)
  balance.check()
  return shipment
}

/**
 * A retryable fault for the first `threshold` requests, then a healthy
 * ingest: the batch is retried, the breaker opens on the last failure, the
 * next request is the half-open probe, it succeeds and the breaker closes.
 */
async function faultThenRecover (t: Test, fault: IngestReply, extra: Partial<ShipOptions> = {}): Promise<Shipment> {
  const { ingest, h } = await shipAndFlush(t, (req) => req.index < 3 ? fault : undefined,
    { ...extra, events: 20, flushMs: 10000, flushSays: 'flush resolves once the batch is through' })
  t.same(numbers(ingest.lines()), range(20), 'every event arrived once')
  t.same(h.trail, ['closed', 'open', 'half_open', 'closed'], 'breaker went closed -> open -> half_open -> closed')
  const s = h.stats()
  t.equal(s.sent, 20)
  t.equal(s.failures, 3)
  t.equal(s.batches, 1)
  t.equal(s.breaker, 'closed')
  t.same(h.warnings().map((l) => l.msg.replace(/.*circuit breaker (\w+).*/, '$1')), ['open', 'closed'], 'one warning when it opened, one when it closed')
  return { ingest, h }
}

/** The first request is answered 503 with this Retry-After, the rest 200. */
const retryAfterOnce = (value: string): IngestScript => (req) => req.index === 0 ? { status: 503, headers: { 'retry-after': value } } : undefined

t.test('connection refused: retries, opens the breaker, delivers once the ingest is up', async (t) => {
  const port = await refusedPort()
  const h = makeShipper(`http://127.0.0.1:${port}/v1/events`, FAST)
  t.teardown(() => h.sink.close(0))
  const balance = watchBalance(t, h)
  h.pushEvents(20)
  await waitFor(() => h.counters.breaker === 'open', 5000, 'the breaker to open')
  t.equal(h.counters.breaker, 'open', 'the breaker opened after three refused connections')
  t.equal(h.stats().failures, 3)
  t.equal(h.stats().inFlight + h.stats().queued, 20, 'nothing lost while the ingest is down')
  t.match(h.warnings()[0]?.obj, { error: 'ECONNREFUSED' }, 'the warning says why')
  const ingest = await startIngest(() => {
    h.observe()
    return undefined
  }, port)
  t.teardown(() => ingest.close())
  t.equal(await h.sink.flush(5000), true)
  balance.check()
  t.same(numbers(ingest.lines()), range(20))
  t.same(h.trail, ['closed', 'open', 'half_open', 'closed'])
})

t.test('ingest accepts but never answers: the POST times out and is retried', async (t) => {
  const { ingest, h } = await faultThenRecover(t, { hang: true }, { requestTimeoutMs: 500 })
  t.equal(ingest.requests.length, 4, 'three timed-out attempts and the probe')
  t.match(h.warnings()[0]?.obj, { error: 'FST_APPFIREWALL_INGEST_TIMEOUT' }, 'the warning says why')
})

t.test('connection reset in the middle of a request: retried', async (t) => {
  await faultThenRecover(t, { reset: true })
})

for (const status of [502, 503, 504, 429]) {
  t.test(`${status}: retried with backoff until delivered`, async (t) => {
    await faultThenRecover(t, { status, body: 'busy' })
  })
}

t.test('500: the batch is dropped and counted as rejected, never retried, the breaker stays closed', async (t) => {
  const { ingest, h } = await shipAndFlush(t, (req) => req.index < 3 ? { status: 500 } : undefined, { events: 20, batchSize: 5, breakerThreshold: 2 })
  const s = h.stats()
  t.equal(ingest.requests.length, 4, 'four batches, none resent')
  t.equal(s.dropped.rejected, 15)
  t.equal(s.sent, 5)
  t.same(numbers(ingest.lines()), range(5, 15))
  t.equal(s.failures, 3)
  t.same(h.trail, ['closed'], 'three failures in a row, threshold two, still closed')
  t.equal(h.warnings().length, 1, 'one warning for 500 however many batches')
  t.match(h.warnings()[0]?.msg, /HTTP 500/)
})

t.test('400, 401, 403: dropped and counted, one warning per status, the breaker stays closed', async (t) => {
  const statuses = [400, 400, 401, 401, 401, 403, 403]
  const { h } = await shipAndFlush(t, (req) => ({ status: statuses[req.index] ?? 200 }), { events: 16, batchSize: 2, breakerThreshold: 1 })
  const s = h.stats()
  t.equal(s.dropped.rejected, 14)
  t.equal(s.sent, 2)
  t.equal(s.lastStatus, 200)
  t.same(h.trail, ['closed'])
  t.equal(s.breaker, 'closed')
  const msgs = h.warnings().map((l) => l.msg)
  t.equal(msgs.length, 3, 'one warning per distinct status')
  t.match(msgs, [/HTTP 400/, /HTTP 401.*apiKey/, /HTTP 403.*apiKey/])
})

t.test('413: the batch is split in halves and resent, never whole', async (t) => {
  const { ingest, h } = await shipAndFlush(t, (req) => req.index === 0 ? { status: 413 } : undefined, { events: 500, batchSize: 500 })
  t.same(ingest.requests.map((r) => r.lines.length), [500, 250, 250])
  t.same(numbers(ingest.lines()), range(500), 'each event arrived once, in order')
  t.equal(h.stats().failures, 1)
  t.same(h.trail, ['closed'])
})

t.test('413 on every request: halves down to single events, which are then rejected', async (t) => {
  const { ingest, h } = await shipAndFlush(t, () => ({ status: 413 }), { events: 8, batchSize: 8 })
  t.same(ingest.requests.map((r) => r.lines.length), [8, 4, 2, 1, 1, 2, 1, 1, 4, 2, 1, 1, 2, 1, 1], 'depth first: a half is settled before the next half goes')
  t.equal(h.stats().dropped.rejected, 8)
  t.equal(h.warnings().length, 1, 'one warning for 413')
  t.same(h.trail, ['closed'])
})

t.test('Retry-After in seconds: the next attempt waits at least that long', async (t) => {
  const { ingest } = await shipAndFlush(t, retryAfterOnce('1'), { events: 5 })
  const [a, b] = ingest.requests
  t.ok(a !== undefined && b !== undefined && b.at - a.at >= 1000, `waited ${(b?.at ?? 0) - (a?.at ?? 0)} ms >= 1000 ms`)
})

t.test('Retry-After as an HTTP date: the next attempt waits until that date', async (t) => {
  let until = 0
  const { ingest } = await shipAndFlush(t, (req) => {
    if (req.index > 0) return undefined
    const date = new Date(Date.now() + 2000).toUTCString() // whole seconds: 1-2 s ahead
    until = Date.parse(date)
    return { status: 429, headers: { 'retry-after': date } }
  }, { events: 5 })
  const b = ingest.requests[1]
  t.ok(b !== undefined && b.at >= until, `second attempt at ${b?.at}, not before ${until}`)
})

for (const value of ['soon', '-5', '', 'Thu, 99 Foo 2026 25:61:00 GMT']) {
  t.test(`Retry-After ${JSON.stringify(value)} is ignored and the usual backoff applies`, async (t) => {
    // With the default 5-minute clamp, honouring a misread value would blow the 5 s flush.
    const { ingest } = await shipAndFlush(t, retryAfterOnce(value), { events: 5, maxRetryAfterMs: 300000 })
    t.equal(ingest.requests.length, 2)
  })
}

t.test('a huge Retry-After is clamped to maxRetryAfterMs', async (t) => {
  const { ingest } = await shipAndFlush(t, retryAfterOnce('99999999999'), { events: 5, maxRetryAfterMs: 400, retryDeadlineMs: 10000 })
  const [a, b] = ingest.requests
  t.ok(a !== undefined && b !== undefined && b.at - a.at >= 400, 'waited at least the clamp')
})

t.test('a Retry-After past the retry deadline drops the batch as breaker, counted', async (t) => {
  const { ingest, h } = await shipAndFlush(t, () => ({ status: 503, headers: { 'retry-after': '60' } }),
    { events: 5, retryDeadlineMs: 1000, flushMs: 3000, flushSays: 'flush learns at once that the batch is given up' })
  t.equal(h.stats().dropped.breaker, 5)
  t.equal(ingest.requests.length, 1)
})

t.test('a retried batch past its deadline is dropped and counted as breaker', async (t) => {
  // A deadline with room for a first round trip on a busy machine (300 ms was seen to pass before the first 503 came back).
  const { ingest, h } = await shipAndFlush(t, () => ({ status: 503 }), { events: 7, breakerThreshold: 1000, retryDeadlineMs: 3000, flushMs: 10_000 })
  const s = h.stats()
  t.equal(s.dropped.breaker, 7)
  t.ok(ingest.requests.length >= 2, `retried ${ingest.requests.length - 1} times within the deadline`)
  t.equal(s.failures, ingest.requests.length)
})

t.test('a response body of megabytes is not read past a small cap', async (t) => {
  const size = 64 * 1024 * 1024
  const { ingest, h } = await shipTo(t, (req) => req.index === 0 ? { hugeBodyBytes: size } : undefined, { ...FAST, batchSize: 5 })
  const balance = watchBalance(t, h)
  h.pushEvents(5)
  t.equal(await h.sink.flush(5000), true)
  h.pushEvents(5)
  t.equal(await h.sink.flush(5000), true)
  await ingest.until(() => ingest.requests[0]?.responseFinished === true || (ingest.requests[0]?.bodyBytesWritten ?? 0) > 0, 5000)
  balance.check()
  const first = ingest.requests[0]
  t.equal(first?.responseFinished, false, 'the client hung up instead of reading 64 MB')
  t.ok((first?.bodyBytesWritten ?? size) < size / 4, `the ingest got rid of ${first?.bodyBytesWritten} bytes only`)
  t.equal(h.stats().sent, 10, 'the batch counts as sent (2xx) and the next one still goes out')
  t.equal(h.stats().failures, 0)
})

t.test('a slow ingest under thousands of events per second: memory stays bounded, drops are counted', async (t) => {
  const shipment = await shipTo(t, () => ({ delayMs: 700 }), { ...FAST, queueSize: 1000, batchSize: 500, flushIntervalMs: 100, requestTimeoutMs: 5000 })
  const { h } = shipment
  const balance = watchBalance(t, h)
  // ~3000 events/s for 2 s: far above 500 events per 700 ms.
  const pusher = setInterval(() => {
    h.pushEvents(30)
    if (h.stats().queued > 1000 || h.stats().inFlight > 500) t.fail('queue grew past its capacity')
  }, 10)
  await sleep(2000)
  clearInterval(pusher)
  t.equal(await h.sink.flush(6000), true)
  balance.check()
  const s = h.stats()
  t.ok(s.dropped.overflow > 0, `${s.dropped.overflow} events dropped as overflow`)
  t.equal(s.emitted, s.sent + s.dropped.overflow, 'nothing else was lost')
  arrivedOnceInOrder(t, shipment)
  t.equal(h.warnings().filter((l) => /queue full/.test(l.msg)).length, 1, 'one overflow warning')
})

t.test('an ingest that recovers after an outage of 503s: what fits in the queue arrives, the rest is counted dropped', async (t) => {
  // The real-length 30 s outage is in test/shipper-recovery.test.ts.
  const outage = await shipThroughOutage(t, {
    outageMs: 3000,
    perPush: 10, // 500 events/s
    everyMs: 20,
    afterMs: 500,
    recoveryMs: 10000,
    options: { ...FAST, queueSize: 300, batchSize: 100, breakerThreshold: 3, breakerCooldownMs: 700, retryDeadlineMs: 1000, flushIntervalMs: 50 }
  })
  const { h } = outage
  outage.balance.check()
  const s = h.stats()
  t.equal(s.emitted, s.sent + s.dropped.overflow + s.dropped.breaker, 'every event sent or counted dropped')
  t.ok(s.dropped.overflow + s.dropped.breaker > 0, 'the outage lost events that did not fit')
  t.ok(s.sent >= 300, `at least a full queue arrived (${s.sent})`)
  arrivedOnceInOrder(t, outage)
  // closed -> open, then half_open probes that fail (-> open) until one succeeds (-> closed).
  t.same(h.trail.slice(0, 3), ['closed', 'open', 'half_open'])
  t.equal(h.trail[h.trail.length - 1], 'closed')
  for (let i = 1; i < h.trail.length; i++) {
    const prev = h.trail[i - 1]
    const next = h.trail[i]
    const ok = (prev === 'closed' && next === 'open') || (prev === 'open' && next === 'half_open') || (prev === 'half_open' && (next === 'open' || next === 'closed'))
    t.ok(ok, `${prev} -> ${next} is a designed transition`)
  }
  t.equal(h.warnings().filter((l) => /breaker closed/.test(l.msg)).length, 1, 'one warning when it closed')
})
