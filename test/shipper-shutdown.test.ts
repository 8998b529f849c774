import t from 'tap'
import Fastify from 'fastify'
import appFirewall from '../lib/index'
import { accountedFor, healthy, makeShipper, numbers, refusedPort, shipTo, startIngest, waitFor } from './fixtures'
import type { Harness } from './fixtures'

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i)

/** Pushes ten events, waits for the breaker (threshold 1) to open on them, then pushes five more. */
async function fifteenPastAnOpenBreaker (h: Harness): Promise<void> {
  h.pushEvents(10)
  await waitFor(() => h.counters.breaker === 'open', 5000, 'breaker open')
  h.pushEvents(5)
}

t.test('close sends everything queued to a healthy ingest', async (t) => {
  const { ingest, h } = await shipTo(t, healthy, { batchSize: 100, flushIntervalMs: 600000 })
  h.pushEvents(1234)
  await h.sink.close(5000)
  t.same(numbers(ingest.lines()), range(1234))
  const s = h.stats()
  t.equal(s.sent, 1234)
  t.equal(s.dropped.shutdown, 0)
  t.equal(s.queued + s.inFlight, 0)
})

t.test('close with a dead ingest returns within the grace period, never rejects, and counts the rest as shutdown drops', async (t) => {
  const port = await refusedPort()
  const h = makeShipper(`http://127.0.0.1:${port}/v1/events`, { breakerThreshold: 2, breakerCooldownMs: 60000 })
  h.pushEvents(700)
  const started = Date.now()
  await h.sink.close(800)
  const took = Date.now() - started
  t.ok(took < 800 + 1000, `returned after ${took} ms (grace 800 ms)`)
  const s = h.stats()
  t.equal(s.sent, 0)
  t.equal(s.queued + s.inFlight, 0, 'nothing left pending')
  t.equal(s.emitted, accountedFor(s))
  t.equal(s.dropped.shutdown + s.dropped.breaker, 700)
})

t.test('close with a black-holed ingest aborts the hung POST within the grace period', async (t) => {
  const { ingest, h } = await shipTo(t, () => ({ hang: true }), { requestTimeoutMs: 5000 })
  h.pushEvents(10)
  await ingest.waitForRequests(1, 5000)
  const started = Date.now()
  await h.sink.close(500)
  const took = Date.now() - started
  t.ok(took < 500 + 1000, `returned after ${took} ms (grace 500 ms)`)
  t.equal(h.stats().dropped.shutdown, 10)
  t.ok(h.balanced())
  // The hung request's socket is released by the client, not left to the server.
  await ingest.until(() => ingest.requests[0]?.abandoned === true, 2000, 'the client to hang up')
  t.equal(ingest.requests[0]?.abandoned, true)
})

t.test('close while the breaker is open gives up after the grace period', async (t) => {
  const { h } = await shipTo(t, () => ({ status: 503 }), { breakerThreshold: 1, breakerCooldownMs: 60000, retryDeadlineMs: 120000 })
  await fifteenPastAnOpenBreaker(h)
  await h.sink.close(300)
  const s = h.stats()
  t.equal(s.emitted, 15)
  t.equal(s.dropped.breaker + s.dropped.shutdown, 15)
  t.ok(h.balanced())
})

t.test('close is idempotent and a second call waits for the same shutdown', async (t) => {
  const { h } = await shipTo(t, healthy)
  h.pushEvents(3)
  const a = h.sink.close(5000)
  const b = h.sink.close(5000)
  t.equal(a, b)
  await a
  t.equal(h.stats().sent, 3)
})

t.test('app.close() with a black-holed ingest returns within the default 5 s grace plus a second, and does not reject', async (t) => {
  const ingest = await startIngest(() => ({ hang: true }))
  t.teardown(() => ingest.close())
  const app = Fastify()
  await app.register(appFirewall, { mode: 'ship', apiKey: 'k', endpoint: ingest.url, cloudflareRefreshMs: 0, flushIntervalMs: 20 })
  app.get('/', async () => 'ok')
  for (let i = 0; i < 20; i++) t.equal((await app.inject('/')).body, 'ok')
  await ingest.waitForRequests(1, 5000)
  const started = Date.now()
  await app.close()
  const took = Date.now() - started
  t.ok(took < 5000 + 1000, `closed in ${took} ms`)
  const s = app.appfirewall.stats()
  t.equal(s.dropped.shutdown, 20, 'the hung batch is counted as dropped at shutdown')
  t.equal(s.emitted, accountedFor(s))
  await ingest.until(() => ingest.requests[0]?.abandoned === true, 2000, 'the hung socket to be released')
})

t.test('app.close() with a refused ingest returns within closeGraceMs plus a second, and does not reject', async (t) => {
  const port = await refusedPort()
  const app = Fastify()
  await app.register(appFirewall, { mode: 'ship', apiKey: 'k', endpoint: `http://127.0.0.1:${port}/v1/events`, cloudflareRefreshMs: 0, flushIntervalMs: 20, closeGraceMs: 1000 })
  app.get('/', async () => 'ok')
  for (let i = 0; i < 20; i++) t.equal((await app.inject('/')).body, 'ok')
  const started = Date.now()
  await app.close()
  const took = Date.now() - started
  t.ok(took < 1000 + 1000, `closed in ${took} ms`)
  const s = app.appfirewall.stats()
  t.equal(s.sent, 0)
  t.equal(s.queued + s.inFlight, 0)
  t.equal(s.emitted, accountedFor(s))
})

t.test('app.close() with a healthy ingest sends everything queued', async (t) => {
  const ingest = await startIngest()
  t.teardown(() => ingest.close())
  const app = Fastify()
  await app.register(appFirewall, { mode: 'ship', apiKey: 'k', endpoint: ingest.url, cloudflareRefreshMs: 0, flushIntervalMs: 60000, batchSize: 64 })
  app.get('/', async () => 'ok')
  for (let i = 0; i < 150; i++) await app.inject('/')
  t.ok(app.appfirewall.stats().queued > 0, 'some events still queued when close begins')
  await app.close()
  t.equal(ingest.lines().length, 150)
  t.equal(app.appfirewall.stats().sent, 150)
})

t.test('close probes an open breaker at once instead of waiting out its cooldown', async (t) => {
  const { ingest, h } = await shipTo(t, (req) => req.index === 0 ? { status: 503 } : undefined, { breakerThreshold: 1, breakerCooldownMs: 600000, retryDeadlineMs: 600000 })
  await fifteenPastAnOpenBreaker(h)
  await h.sink.close(3000)
  t.same(numbers(ingest.lines()), range(15), 'the recovered ingest got everything')
  t.equal(h.stats().breaker, 'closed')
  t.equal(h.stats().dropped.shutdown, 0)
})

t.test('close still honours a Retry-After hold', async (t) => {
  const { ingest, h } = await shipTo(t, (req) => req.index === 0 ? { status: 429, headers: { 'retry-after': '60' } } : undefined, { retryDeadlineMs: 600000 })
  h.pushEvents(4)
  await ingest.waitForRequests(1, 5000)
  await waitFor(() => h.stats().failures === 1, 5000)
  await h.sink.close(300)
  t.equal(ingest.requests.length, 1, 'nothing sent during the hold')
  t.equal(h.stats().dropped.shutdown, 4)
})

t.test('close counts a split batch by what happened: the half the ingest took as sent, the hung half as shutdown', async (t) => {
  const { ingest, h } = await shipTo(t, (req) => req.index === 0 ? { status: 413 } : req.index === 1 ? undefined : { hang: true }, { batchSize: 10, requestTimeoutMs: 5000 })
  h.pushEvents(10)
  await ingest.waitForRequests(3, 5000)
  const started = Date.now()
  await h.sink.close(300)
  t.ok(Date.now() - started < 300 + 1000, `returned after ${Date.now() - started} ms (grace 300 ms)`)
  const s = h.stats()
  t.same(numbers(ingest.lines()), range(5), 'the first half arrived')
  t.equal(s.sent, 5)
  t.equal(s.batches, 1)
  t.equal(s.dropped.shutdown, 5)
  t.equal(s.queued + s.inFlight, 0)
  t.ok(h.balanced())
  await ingest.until(() => ingest.requests[2]?.abandoned === true, 2000, 'the hung socket to be released')
})

t.test('close counts a batch whose 2xx arrives just after the abort as sent, not dropped', async (t) => {
  // Grace 100 ms, answer at about 175 ms: after close aborted the export, and
  // in the middle of the 150 ms the exporter still gives a POST already sent
  // (100-250 ms), so a stalled event loop has 75 ms either way.
  const { ingest, h } = await shipTo(t, () => ({ delayMs: 175 }), { batchSize: 10, requestTimeoutMs: 5000 })
  h.pushEvents(10)
  await ingest.waitForRequests(1, 5000)
  const started = Date.now()
  await h.sink.close(100)
  t.ok(Date.now() - started < 100 + 1000, `returned after ${Date.now() - started} ms (grace 100 ms)`)
  t.same(numbers(ingest.lines()), range(10), 'the ingest took the batch')
  const s = h.stats()
  t.equal(s.sent, 10, 'counted as sent, as it was')
  t.equal(s.batches, 1)
  t.equal(s.dropped.shutdown, 0)
  t.equal(s.queued + s.inFlight, 0)
  t.ok(h.balanced())
})
