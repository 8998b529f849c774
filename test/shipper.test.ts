import t from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { classifyStatus, HttpExporter } from '../lib/ship/http-exporter'
import { Counters } from '../lib/counters'
import { USER_AGENT, VERSION } from '../lib/version'
import { accountedFor, healthy, makeShipper, numbers, shipTo, sleep, startIngest } from './fixtures'

const range = (n: number, from = 0): number[] => Array.from({ length: n }, (_, i) => from + i)

t.test('sends every pushed event exactly once, in order, in batches of at most batchSize', async (t) => {
  const { ingest, h } = await shipTo(t, healthy, { batchSize: 100, flushIntervalMs: 30 })

  // Pushed in bursts while batches are already in flight.
  for (let burst = 0; burst < 9; burst++) {
    h.pushEvents(257)
    t.ok(h.balanced(), `counters add up after burst ${burst}`)
    await sleep(5)
  }
  t.equal(await h.sink.flush(5000), true, 'flush reports everything sent')
  t.same(numbers(ingest.lines()), range(9 * 257), 'each event arrived once, in push order')
  for (const r of ingest.requests) t.ok(r.lines.length >= 1 && r.lines.length <= 100, `request ${r.index} holds ${r.lines.length} events`)
  const s = h.stats()
  t.equal(s.emitted, 2313)
  t.equal(s.sent, 2313)
  t.equal(s.batches, ingest.requests.length, 'one batch counted per accepted request')
  t.equal(s.failures, 0)
  t.equal(s.queued + s.inFlight, 0)
  t.equal(s.lastStatus, 200)
  t.match(s.lastSendAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
})

t.test('posts gzipped NDJSON with the bearer key, content type, encoding and user agent', async (t) => {
  const ingest = await startIngest()
  t.teardown(() => ingest.close())
  const h = makeShipper(ingest.url.replace('/v1/events', '/custom/path?tenant=a'), { apiKey: 'afw_test_123' })
  t.teardown(() => h.sink.close(0))
  h.pushEvents(3)
  t.equal(await h.sink.flush(5000), true)
  const [req] = ingest.requests
  if (req === undefined) throw new Error('no request')
  t.equal(req.method, 'POST')
  t.equal(req.url, '/custom/path?tenant=a', 'path and query of the endpoint are kept')
  t.equal(req.headers.authorization, 'Bearer afw_test_123')
  t.equal(req.headers['content-type'], 'application/x-ndjson')
  t.equal(req.headers['content-encoding'], 'gzip')
  t.equal(req.headers['user-agent'], `appfirewall-fastify/${VERSION}`)
  t.equal(req.decodeError, undefined, 'body gunzips')
  t.equal(req.endsWithNewline, true, 'every line ends with a newline')
  for (const line of req.lines) t.doesNotThrow(() => JSON.parse(line), 'each line is one JSON object')
})

t.test('reads the version for the user agent from package.json', async (t) => {
  const pkg = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8'))
  t.equal(VERSION, pkg.version)
  t.equal(USER_AGENT, `appfirewall-fastify/${pkg.version}`)
})

t.test('sends a full batch at once, without waiting for the interval', async (t) => {
  const { ingest, h } = await shipTo(t, healthy, { batchSize: 10, flushIntervalMs: 600000 })
  h.pushEvents(25)
  // With a 10-minute interval, only the batch-size trigger can deliver these.
  await ingest.waitForLines(20, 5000)
  t.same(ingest.accepted().map((r) => r.lines.length), [10, 10], 'two full batches; the partial one waits')
  t.equal(h.stats().queued, 5)
  t.ok(h.balanced())
})

t.test('sends a partial batch when the flush interval fires', async (t) => {
  const { ingest, h } = await shipTo(t, healthy, { batchSize: 500, flushIntervalMs: 40 })
  h.pushEvents(3)
  await ingest.waitForLines(3, 5000)
  t.same(numbers(ingest.lines()), [0, 1, 2])
})

t.test('reuses one keep-alive connection for successive batches', async (t) => {
  const { ingest, h } = await shipTo(t, healthy, { batchSize: 5 })
  for (let i = 0; i < 4; i++) {
    h.pushEvents(5)
    await ingest.waitForLines(5 * (i + 1), 5000)
  }
  t.equal(new Set(ingest.requests.map((r) => r.remotePort)).size, 1, 'every batch came over the same socket')
})

t.test('drops the oldest events when the queue is full, counts them as overflow and warns once', async (t) => {
  const { ingest, h } = await shipTo(t, healthy, { queueSize: 10, batchSize: 100, flushIntervalMs: 600000 })
  h.pushEvents(25)
  h.pushEvents(25)
  const s = h.stats()
  t.equal(s.dropped.overflow, 40)
  t.equal(s.queued, 10)
  t.ok(h.balanced())
  t.equal(h.warnings().length, 1, 'one warning for the first overflow, none for the next 39')
  t.match(h.warnings()[0]?.msg, /queue full/)
  t.equal(await h.sink.flush(5000), true)
  t.same(numbers(ingest.lines()), range(10, 40), 'the newest events are kept')
})

t.test('flush resolves true at once when nothing is queued', async (t) => {
  const { ingest, h } = await shipTo(t, healthy)
  t.equal(await h.sink.flush(), true)
  t.equal(ingest.requests.length, 0, 'no empty batch is posted')
})

t.test('flush resolves false, never rejects, when the ingest does not answer in time', async (t) => {
  const { h } = await shipTo(t, () => ({ hang: true }), { requestTimeoutMs: 5000 })
  h.pushEvents(4)
  t.equal(await h.sink.flush(150), false)
  const s = h.stats()
  t.equal(s.inFlight, 4, 'the batch is still in flight')
  t.equal(s.emitted, accountedFor(s))
})

t.test('flush waits only for what was pushed before it', async (t) => {
  const { ingest, h } = await shipTo(t, healthy, { batchSize: 50, flushIntervalMs: 600000 })
  h.pushEvents(120)
  const done = h.sink.flush(5000)
  h.pushEvents(10)
  t.equal(await done, true)
  t.ok(ingest.lines().length >= 120, 'everything pushed before flush arrived')
  t.same(numbers(ingest.lines()).slice(0, 120), range(120))
})

t.test('counts events pushed after close as dropped at shutdown', async (t) => {
  const { h } = await shipTo(t, healthy)
  h.pushEvents(2)
  await h.sink.close(1000)
  h.pushEvents(3)
  const s = h.stats()
  t.equal(s.sent, 2)
  t.equal(s.dropped.shutdown, 3)
  t.equal(s.emitted, accountedFor(s))
  t.equal(await h.sink.flush(100), true, 'flush after close has nothing to wait for')
})

t.test('refuses an endpoint that is not an http(s) URL with a coded error', async (t) => {
  const base = {
    apiKey: 'k',
    userAgent: USER_AGENT,
    counters: new Counters(),
    log: { warn: () => {}, info: () => {} },
    requestTimeoutMs: 1000,
    retryDeadlineMs: 1000,
    maxRetryAfterMs: 1000,
    breakerThreshold: 5,
    breakerCooldownMs: 1000,
    gzipLevel: 1
  }
  t.throws(() => new HttpExporter({ ...base, endpoint: 'not a url' }), { code: 'FST_APPFIREWALL_INVALID_ENDPOINT' })
  t.throws(() => new HttpExporter({ ...base, endpoint: 'ftp://127.0.0.1/x' }), { code: 'FST_APPFIREWALL_INVALID_ENDPOINT', message: /endpoint/ })
})

t.test('classifies ingest answers by the OTLP/HTTP response classes', async (t) => {
  for (const s of [200, 201, 202, 204, 299]) t.equal(classifyStatus(s), 'sent', String(s))
  for (const s of [0, 429, 502, 503, 504]) t.equal(classifyStatus(s), 'retry', String(s))
  t.equal(classifyStatus(413), 'split')
  for (const s of [301, 400, 401, 403, 404, 408, 422, 500, 501, 505]) t.equal(classifyStatus(s), 'reject', String(s))
})

t.test('a logger that throws does not stop shipping', async (t) => {
  const log = { warn: () => { throw new Error('logger down') }, info: () => {} }
  const { ingest, h } = await shipTo(t, healthy, { queueSize: 5, batchSize: 100, flushIntervalMs: 600000, log })
  t.doesNotThrow(() => h.pushEvents(12), 'the overflow warning throws inside the logger only')
  t.equal(await h.sink.flush(5000), true)
  t.same(numbers(ingest.lines()), range(5, 7))
})

t.test('flush(Infinity) waits for the events instead of timing out at once', async (t) => {
  const { ingest, h } = await shipTo(t, () => ({ hang: true }), { requestTimeoutMs: 60000 })
  h.pushEvents(3)
  let settled: boolean | undefined
  const done = h.sink.flush(Infinity).then((ok) => { settled = ok })
  await ingest.waitForRequests(1, 5000)
  await sleep(100)
  t.equal(settled, undefined, 'still pending while the POST hangs')
  await h.sink.close(0)
  await done
  t.equal(settled, true, 'settled once close counted the batch as dropped')
  t.equal(h.stats().dropped.shutdown, 3)
})

t.test('keeps one POST in flight: the next batch leaves only after the previous answer', async (t) => {
  const { ingest, h } = await shipTo(t, () => ({ delayMs: 30 }), { batchSize: 10 })
  h.pushEvents(60)
  t.equal(await h.sink.flush(5000), true)
  t.equal(ingest.requests.length, 6)
  for (let i = 1; i < ingest.requests.length; i++) {
    const prev = ingest.requests[i - 1]
    const next = ingest.requests[i]
    t.ok(prev !== undefined && next !== undefined && next.at >= prev.answeredAt, `batch ${i} sent after batch ${i - 1} was answered`)
  }
})

t.test('compresses at the configured gzip level', async (t) => {
  const sizes: number[] = []
  for (const gzipLevel of [0, 9]) {
    const ingest = await startIngest()
    const h = makeShipper(ingest.url, { gzipLevel })
    h.pushEvents(200)
    await h.sink.close(5000)
    t.equal(ingest.lines().length, 200, `level ${gzipLevel} decodes`)
    sizes.push(ingest.requests[0]?.bodyBytes ?? 0)
    await ingest.close()
  }
  t.ok((sizes[0] as number) > 3 * (sizes[1] as number), `level 0 stores (${sizes[0]} bytes), level 9 compresses (${sizes[1]} bytes)`)
})
