import { test } from 'tap'
import Fastify from 'fastify'
import { join } from 'node:path'
import { writeFileSync, chmodSync } from 'node:fs'
import appFirewall from '../lib/index'
import { logCapture, pluginLogs, readEvents, tempDir, sleep } from './fixtures'

test('local mode creates the parent folder and app.close() flushes what is queued', async (t) => {
  const file = join(tempDir(), 'a', 'b', 'c', 'events.ndjson')
  const app = Fastify()
  // A long interval: only close() can have written these events.
  await app.register(appFirewall, { mode: 'local', localLogPath: file, flushIntervalMs: 60_000, cloudflareRefreshMs: 0 })
  app.get('/', async () => 'ok')
  for (let i = 0; i < 25; i++) await app.inject({ url: '/' })
  t.equal(readEvents(file).length, 0, 'nothing written yet')
  t.equal(app.appfirewall.stats().queued, 25)
  await app.close()
  t.equal(readEvents(file).length, 25)
})

test('local mode writes a full batch without waiting for the interval', async (t) => {
  const file = join(tempDir(), 'events.ndjson')
  const app = Fastify()
  await app.register(appFirewall, { mode: 'local', localLogPath: file, flushIntervalMs: 60_000, batchSize: 10, cloudflareRefreshMs: 0 })
  app.get('/', async () => 'ok')
  t.teardown(() => app.close())
  for (let i = 0; i < 10; i++) await app.inject({ url: '/' })
  for (let i = 0; i < 100 && readEvents(file).length < 10; i++) await sleep(10)
  t.equal(readEvents(file).length, 10)
})

test('local mode appends to an existing file', async (t) => {
  const file = join(tempDir(), 'events.ndjson')
  writeFileSync(file, '{"type":"custom","name":"before"}\n')
  const app = Fastify()
  await app.register(appFirewall, { mode: 'local', localLogPath: file, cloudflareRefreshMs: 0 })
  app.get('/', async () => 'ok')
  await app.inject({ url: '/' })
  await app.close()
  const events = readEvents(file)
  t.equal(events.length, 2)
  t.equal(events[0]?.name, 'before')
})

test('an unwritable path warns once, counts the drops, and every request is still served', async (t) => {
  const dir = tempDir()
  const blocker = join(dir, 'not-a-dir')
  writeFileSync(blocker, 'x')
  chmodSync(blocker, 0o444)
  const { stream, lines } = logCapture()
  const app = Fastify({ logger: { level: 'info', stream } })
  await app.register(appFirewall, { mode: 'local', localLogPath: join(blocker, 'events.ndjson'), batchSize: 5, flushIntervalMs: 10, cloudflareRefreshMs: 0 })
  app.get('/', async () => ({ ok: true }))
  for (let round = 0; round < 4; round++) {
    for (let i = 0; i < 5; i++) {
      const res = await app.inject({ url: '/' })
      t.equal(res.statusCode, 200)
      t.same(res.json(), { ok: true })
    }
    t.equal(await app.appfirewall.flush(2000), true, 'flush settles even when writes fail')
  }
  const s = app.appfirewall.stats()
  t.equal(s.emitted, 20)
  t.equal(s.dropped.io, 20)
  t.equal(s.sent, 0)
  t.equal(pluginLogs(lines).filter((l) => /cannot write local event log/.test(l.msg)).length, 1)
  await app.close()
})

test('off mode adds no hooks yet request.appfirewall has ip and a no-op record', async (t) => {
  const app = Fastify()
  await app.register(appFirewall, { mode: 'off' })
  app.get('/', async (request) => {
    request.appfirewall.record('ignored')
    return { ip: request.appfirewall.ip }
  })
  await app.ready()
  const res = await app.inject({ url: '/', remoteAddress: '::ffff:192.0.2.1' })
  t.same(res.json(), { ip: '192.0.2.1' })
  t.notMatch(app.printRoutes({ includeHooks: true, commonPrefix: false }), /onRequest|onResponse|preHandler/)
  t.same(app.appfirewall.stats(), {
    mode: 'off',
    emitted: 0,
    sent: 0,
    dropped: { overflow: 0, rejected: 0, breaker: 0, shutdown: 0, serialization: 0, io: 0 },
    batches: 0,
    failures: 0,
    breaker: 'closed',
    queued: 0,
    inFlight: 0,
    ignored: { afterResponse: 0, outsideRequest: app.appfirewall.stats().ignored.outsideRequest, overRequestCap: 0 },
    clipped: 0,
    limiter: null,
    edge: null,
    lastStatus: null,
    lastSendAt: null
  })
  await app.close()
})
