// The Batcher, shared by both modes, seen through the public plugin API: the
// local-mode faults it fixed (each test is named for the bug it pins down) and
// the accounting identity after close in both modes.
import t from 'tap'
import type { Test } from 'tap'
import Fastify from 'fastify'
import type { FastifyInstance } from 'fastify'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import appFirewall from '../lib/index'
import type { AppFirewallOptions, AppFirewallRequest } from '../lib/types'
import { accountedFor, localApp, readEvents, sleep, startIngest, tempDir, waitFor, within } from './fixtures'
import type { LocalApp } from './fixtures'

/** Collects TimeoutOverflowWarnings: Node's sign that a delay above 2^31-1 ms became 1 ms. */
function overflowWarnings (t: Test): string[] {
  const seen: string[] = []
  const onWarning = (w: Error): void => {
    if (w.name === 'TimeoutOverflowWarning') seen.push(w.message)
  }
  process.on('warning', onWarning)
  t.teardown(() => { process.off('warning', onWarning) })
  return seen
}

/** An app with `/` (one http_request event) and `/burst?n=` (n custom events from one request). */
async function burstApp (t: Test, opts: AppFirewallOptions = {}): Promise<LocalApp> {
  const h = await localApp(t, opts)
  h.app.get('/', async () => 'ok')
  h.app.get('/burst', async (request) => {
    const n = Number((request.query as { n: string }).n)
    for (let i = 0; i < n; i++) request.appfirewall.record('test.burst', { i })
    return 'ok'
  })
  return h
}

function balanced (app: FastifyInstance): boolean {
  const s = app.appfirewall.stats()
  return s.emitted === accountedFor(s)
}

t.test('local mode: flush(Infinity) waits for the queued events and resolves true (it resolved false after 1 ms)', async (t) => {
  const warnings = overflowWarnings(t)
  const { app, file } = await burstApp(t, { batchSize: 10, flushIntervalMs: 60_000 })
  for (let i = 0; i < 20; i++) await app.inject({ url: '/burst?n=25' })
  const queued = app.appfirewall.stats().queued
  t.ok(queued > 10, `${queued} events still queued when flush begins`)
  const started = Date.now()
  const ok = await app.appfirewall.flush(Infinity)
  t.equal(ok, true, `flush(Infinity) resolves true (took ${Date.now() - started} ms)`)
  t.equal(readEvents(file).length, 520, 'every event is in the file')
  const s = app.appfirewall.stats()
  t.equal(s.sent, 520)
  t.equal(s.queued + s.inFlight, 0)
  t.same(warnings, [], 'no timer delay overflowed')
})

t.test('local mode: an event recorded after app.close() is counted as dropped at shutdown (it stayed queued for ever)', async (t) => {
  const { app, file } = await burstApp(t, { flushIntervalMs: 60_000 })
  let late: (() => void) | undefined
  const recorded = new Promise<void>((resolve) => { late = resolve })
  // A job the handler started outlives the response, and the app's close: it
  // finishes when the test lets it, after close (a timer would race close).
  let finishJob: () => void = () => {}
  const jobMayFinish = new Promise<void>((resolve) => { finishJob = resolve })
  app.get('/job', async (request) => {
    const af: AppFirewallRequest = request.appfirewall
    jobMayFinish.then(() => {
      af.record('job.done', { ok: true })
      late?.()
    }, () => {})
    return 'started'
  })
  t.equal((await app.inject({ url: '/job' })).body, 'started')
  await app.close()
  t.equal(readEvents(file).length, 1, 'the request event was written at close')
  finishJob()
  await within(recorded, 5000, 'the job')
  const s = app.appfirewall.stats()
  t.equal(s.emitted, 2, 'the late event was emitted')
  t.equal(s.dropped.shutdown, 1, 'and counted as dropped at shutdown')
  t.equal(s.queued, 0, 'nothing stays queued after close')
  t.equal(s.inFlight, 0)
  t.equal(s.emitted, accountedFor(s), 'emitted = sent + dropped + queued + inFlight')
  t.equal(await app.appfirewall.flush(1000), true, 'flush after close has nothing to wait for')
  t.equal(readEvents(file).length, 1, 'nothing was written after close')
})

t.test('local mode: a flushIntervalMs at the timer limit does not become a 1 ms timer, and one above it is refused', async (t) => {
  await t.rejects(async () => { await burstApp(t, { flushIntervalMs: 2 ** 31 + 1000 }) },
    { code: 'FST_APPFIREWALL_INVALID_OPTIONS', message: /"flushIntervalMs" must be an integer of milliseconds from 1 to 2147483647/ })
  const warnings = overflowWarnings(t)
  const { app, file } = await burstApp(t, { flushIntervalMs: 2 ** 31 - 1 })
  for (let i = 0; i < 3; i++) await app.inject({ url: '/' })
  await sleep(200)
  t.equal(readEvents(file).length, 0, 'nothing written: the interval is weeks away, not 1 ms')
  t.equal(app.appfirewall.stats().queued, 3)
  t.same(warnings, [], 'no timer delay overflowed')
})

t.test('local mode: a closeGraceMs at the timer limit lets app.close() write everything (it gave up after 1 ms), and one above it is refused', async (t) => {
  await t.rejects(async () => { await burstApp(t, { closeGraceMs: 2 ** 31 }) },
    { code: 'FST_APPFIREWALL_INVALID_OPTIONS', message: /"closeGraceMs" must be an integer of milliseconds from 0 to 2147483647/ })
  const warnings = overflowWarnings(t)
  const { app, file } = await burstApp(t, { batchSize: 10, flushIntervalMs: 60_000, closeGraceMs: 2 ** 31 - 1 })
  for (let i = 0; i < 20; i++) await app.inject({ url: '/burst?n=25' })
  t.ok(app.appfirewall.stats().queued > 10, 'events still queued when close begins')
  await app.close()
  const s = app.appfirewall.stats()
  t.equal(s.dropped.shutdown, 0, 'nothing dropped at shutdown')
  t.equal(s.sent, 520)
  t.equal(readEvents(file).length, 520)
  t.same(warnings, [], 'no timer delay overflowed')
})

t.test('local mode: stats().batches counts each successful write (it stayed 0)', async (t) => {
  const { app, file } = await burstApp(t, { batchSize: 1000, flushIntervalMs: 60_000 })
  for (let i = 0; i < 25; i++) await app.inject({ url: '/' })
  t.equal(await app.appfirewall.flush(5000), true)
  t.equal(app.appfirewall.stats().batches, 1, 'one append of 25 lines is one batch')
  for (let i = 0; i < 10; i++) await app.inject({ url: '/' })
  t.equal(await app.appfirewall.flush(5000), true)
  const s = app.appfirewall.stats()
  t.equal(s.batches, 2)
  t.equal(s.sent, 35)
  t.equal(readEvents(file).length, 35)
})

t.test('local mode: a failed write is not counted as a batch, and counts as a failure', async (t) => {
  const dir = tempDir()
  const blocker = join(dir, 'not-a-dir')
  writeFileSync(blocker, 'x')
  const app = Fastify()
  await app.register(appFirewall, { mode: 'local', localLogPath: join(blocker, 'events.ndjson'), batchSize: 1000, flushIntervalMs: 60_000, cloudflareRefreshMs: 0 })
  app.get('/', async () => 'ok')
  t.teardown(() => app.close())
  for (let i = 0; i < 5; i++) await app.inject({ url: '/' })
  t.equal(await app.appfirewall.flush(5000), true)
  const s = app.appfirewall.stats()
  t.equal(s.batches, 0)
  t.equal(s.failures, 1, 'one failed append')
  t.equal(s.dropped.io, 5)
  t.ok(balanced(app))
})

t.test('the accounting identity holds after close in local mode, late events included', async (t) => {
  const { app } = await burstApp(t, { batchSize: 7, flushIntervalMs: 20 })
  const samples: boolean[] = []
  const stored: AppFirewallRequest[] = []
  app.get('/keep', async (request) => {
    stored.push(request.appfirewall)
    return 'ok'
  })
  for (let i = 0; i < 40; i++) {
    await app.inject({ url: i % 4 === 0 ? '/keep' : i % 4 === 1 ? '/burst?n=3' : '/nope' })
    samples.push(balanced(app))
  }
  const closing = app.close()
  // Events recorded while close runs, and after it.
  for (const af of stored) af.record('during.close')
  await closing
  for (const af of stored) af.record('after.close')
  const s = app.appfirewall.stats()
  t.same(samples.filter((ok) => !ok), [], 'balanced after every request')
  t.equal(s.queued + s.inFlight, 0, 'nothing left pending')
  t.equal(s.emitted, accountedFor(s), 'emitted = sent + dropped + queued + inFlight after close')
  t.ok(s.dropped.shutdown >= 10, 'the events recorded after close are counted as shutdown drops')
})

t.test('the accounting identity holds after close in ship mode, with a batch hung in flight and late events', async (t) => {
  const ingest = await startIngest((req) => req.index === 0 ? undefined : { hang: true })
  t.teardown(() => ingest.close())
  const app = Fastify()
  await app.register(appFirewall, { mode: 'ship', apiKey: 'k', endpoint: ingest.url, cloudflareRefreshMs: 0, batchSize: 10, flushIntervalMs: 20, closeGraceMs: 300 })
  const stored: AppFirewallRequest[] = []
  app.get('/keep', async (request) => {
    stored.push(request.appfirewall)
    return 'ok'
  })
  t.teardown(() => app.close())
  for (let i = 0; i < 35; i++) await app.inject({ url: i % 5 === 0 ? '/keep' : '/nope' })
  await waitFor(() => ingest.requests.length >= 2, 5000, 'a second POST, which hangs')
  t.ok(balanced(app), 'balanced while a batch is in flight')
  const started = Date.now()
  await app.close()
  t.ok(Date.now() - started < 300 + 1000, `closed in ${Date.now() - started} ms (grace 300 ms)`)
  for (const af of stored) af.record('after.close')
  const s = app.appfirewall.stats()
  t.equal(s.emitted, 35 + stored.length)
  t.ok(s.sent >= 10, 'the first batch was sent')
  t.equal(s.queued + s.inFlight, 0, 'nothing left pending')
  t.equal(s.emitted, accountedFor(s), 'emitted = sent + dropped + queued + inFlight after close')
  t.equal(s.dropped.shutdown, s.emitted - s.sent, 'the rest, late events included, counted as shutdown drops')
})
