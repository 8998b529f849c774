// The rows of the fault table where events are dropped or reshaped, played
// through a real Fastify app in ship mode: the app answers exactly as the same
// app without the plugin, stats() adds up after every response, the breaker
// stays closed, and each refusal is logged once.
import t from 'tap'
import { rig, settled, warnings } from './fixtures'

t.test('app: every event of every response arrives once and decodes to the wire schema', async (t) => {
  const r = await rig(t, () => undefined)
  await r.serve(60)
  t.equal(await r.app.appfirewall.flush(5000), true)
  const events = r.ingest.lines().map((l) => JSON.parse(l))
  t.equal(events.length, 60)
  const paths = events.filter((e) => e.path.startsWith('/item/')).map((e) => Number(e.path.slice(6)))
  t.same(paths, Array.from({ length: 12 }, (_, k) => k * 5), 'each request once, in order')
  for (const e of events) {
    t.equal(e.type, 'http_request')
    t.match(e.ts, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
    t.type(e.ip, 'string')
    t.type(e.method, 'string')
    t.type(e.status, 'number')
    t.notMatch(e.path, /\?/, 'path without query string')
  }
  t.equal(events.find((e) => e.path === '/wp-login.php')?.classification, 'scanner')
  const req = r.ingest.requests[0]
  t.equal(req?.headers.authorization, 'Bearer k')
  t.match(req?.headers['user-agent'], /^appfirewall-fastify\/\d+\.\d+\.\d+/)
})

t.test('app: 500 drops the batch, counted, the breaker stays closed', async (t) => {
  const r = await rig(t, (req) => req.index < 4 ? { status: 500 } : undefined)
  await r.serve(50, 2)
  await settled(r)
  const s = r.app.appfirewall.stats()
  t.ok(s.dropped.rejected > 0)
  t.equal(s.sent + s.dropped.rejected, 50)
  t.equal(r.ingest.requests.length, r.ingest.accepted().length + 4, 'no batch resent')
  t.same(r.trail, ['closed'])
  t.equal(warnings(r, /HTTP 500/), 1, 'one warning however many batches')
})

t.test('app: 400, 401, 403 drop batches with one warning per status, the breaker stays closed', async (t) => {
  const statuses = [400, 401, 403, 401, 400, 403, 401]
  const r = await rig(t, (req) => ({ status: statuses[req.index] ?? 200 }), { breakerThreshold: 1 })
  await r.serve(100, 2)
  await settled(r)
  const s = r.app.appfirewall.stats()
  t.equal(s.sent + s.dropped.rejected, 100)
  t.same(r.trail, ['closed'])
  t.equal(warnings(r, /HTTP 400/), 1)
  t.equal(warnings(r, /HTTP 401/), 1)
  t.equal(warnings(r, /HTTP 403/), 1)
})

t.test('app: 413 splits the batch instead of resending it whole', async (t) => {
  const r = await rig(t, (req) => req.index === 0 ? { status: 413 } : undefined, { flushIntervalMs: 60000, batchSize: 20 })
  await r.serve(20)
  await settled(r)
  t.same(r.ingest.requests.map((q) => q.lines.length), [20, 10, 10])
  t.equal(r.app.appfirewall.stats().sent, 20)
  t.same(r.trail, ['closed'])
})

t.test('app: a response body of megabytes', async (t) => {
  const r = await rig(t, (req) => req.index === 0 ? { hugeBodyBytes: 32 * 1024 * 1024 } : undefined)
  await r.serve(30)
  await settled(r)
  t.equal(r.app.appfirewall.stats().sent, 30)
  t.equal(r.ingest.requests[0]?.responseFinished, false, 'not read to the end')
  t.same(r.trail, ['closed'])
})

t.test('app: a slow ingest under a flood of requests', async (t) => {
  // One second per POST: at most a batch of 100 leaves while 600 requests are
  // served, so the 100-event queue must overflow, whatever the machine's speed.
  const r = await rig(t, () => ({ delayMs: 1000 }), { queueSize: 100, batchSize: 100, flushIntervalMs: 50, requestTimeoutMs: 5000 })
  await r.serve(600)
  t.equal(await r.app.appfirewall.flush(5000), true)
  const s = r.app.appfirewall.stats()
  t.equal(s.emitted, 600)
  t.ok(s.dropped.overflow > 0, `${s.dropped.overflow} of 600 dropped as overflow`)
  t.equal(s.sent + s.dropped.overflow, 600, 'everything else was sent')
  t.equal(r.ingest.lines().length, s.sent)
  t.equal(warnings(r, /queue full/), 1, 'one overflow warning')
  t.same(r.trail, ['closed'], 'slow is not failing: the breaker stays closed')
})
