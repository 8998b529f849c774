// The retryable rows of the fault table, played through a real Fastify app in
// ship mode: under each fault the app answers exactly as the same app without
// the plugin, stats() adds up after every response, and the breaker goes
// closed -> open -> half_open -> closed. (test/shipper-faults.test.ts has the
// same rows against the ship-mode sink alone, with finer checks on timing.)
import t from 'tap'
import { refusedPort, retryableRow, rig, settled, startIngest, waitFor } from './fixtures'

// Rows are independent (own ingest, own app) and mostly wait on timers:
// run them side by side.
t.jobs = 4

t.test('app: connection refused', async (t) => {
  const port = await refusedPort()
  const r = await rig(t, () => undefined, {}, port)
  await r.serve(20, 2)
  await waitFor(() => r.app.appfirewall.stats().breaker === 'open', 5000, 'the breaker to open')
  await r.serve(20)
  const ingest = await startIngest(() => {
    const state = r.app.appfirewall.stats().breaker
    if (r.trail[r.trail.length - 1] !== state) r.trail.push(state)
    return undefined
  }, port)
  t.teardown(() => ingest.close())
  await settled(r)
  t.equal(ingest.lines().length, 40)
  t.same(r.trail, ['closed', 'open', 'half_open', 'closed'])
})

t.test('app: ingest accepts but never answers (timeout)', async (t) => {
  await retryableRow(t, { hang: true }, { requestTimeoutMs: 500 })
})

t.test('app: connection reset in the middle of a request', async (t) => {
  await retryableRow(t, { reset: true })
})

for (const status of [502, 503, 504, 429]) {
  t.test(`app: ${status} is retried`, async (t) => {
    await retryableRow(t, { status })
  })
}

t.test('app: Retry-After in seconds, as a date, garbage, negative and huge', async (t) => {
  // The date is made when the request arrives, a minute ahead (clamped to
  // 300 ms all the same): a date only 1-2 s ahead could be under 300 ms away
  // by the time a busy client read it.
  const values = [() => '1', () => new Date(Date.now() + 60_000).toUTCString(), () => 'soon', () => '-3', () => '99999999999']
  // Each batch is refused once with one of the values, then accepted.
  const r = await rig(t, (req) => req.index % 2 === 0 && req.index < 2 * values.length
    ? { status: 503, headers: { 'retry-after': (values[req.index / 2] as () => string)() } }
    : undefined, { maxRetryAfterMs: 300, flushIntervalMs: 60000, batchSize: 10 })
  await r.serve(50)
  await settled(r)
  t.equal(r.app.appfirewall.stats().sent, 50)
  t.equal(r.ingest.requests.length, 10, 'each batch retried once')
  const gap = (k: number): number => (r.ingest.requests[k + 1]?.at ?? 0) - (r.ingest.requests[k]?.at ?? 0)
  t.ok(gap(0) >= 300, 'a Retry-After of 1 s is held, clamped to maxRetryAfterMs (300 ms)')
  t.ok(gap(2) >= 300, 'an HTTP date is held, clamped')
  t.ok(gap(8) >= 300, 'a huge Retry-After is clamped to maxRetryAfterMs')
  t.same(r.trail, ['closed'])
})

t.test('app: an ingest that recovers after an outage of 503s', async (t) => {
  const start = Date.now()
  const r = await rig(t, () => Date.now() - start < 2000 ? { status: 503 } : undefined, { queueSize: 100, retryDeadlineMs: 1000, breakerCooldownMs: 500 })
  while (Date.now() - start < 2500) await r.serve(10, 5)
  await waitFor(() => r.app.appfirewall.stats().breaker === 'closed', 8000, 'the breaker to close')
  await settled(r)
  const s = r.app.appfirewall.stats()
  t.equal(s.emitted, s.sent + s.dropped.overflow + s.dropped.breaker)
  t.ok(s.sent > 0)
  t.same(r.trail.slice(0, 3), ['closed', 'open', 'half_open'])
  t.equal(r.trail[r.trail.length - 1], 'closed')
})
