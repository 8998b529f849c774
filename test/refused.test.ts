// Requests answered before any Fastify hook runs: a malformed percent-encoding
// (Fastify's router answers 400) and whatever Node's HTTP parser refuses (400,
// 431). Over real HTTP (and HTTP/2) each still leaves one event, classified
// and counted like a 404 probe.
import { test } from 'tap'
import Fastify from 'fastify'
import { join } from 'node:path'
import appFirewall from '../lib/index'
import http2 from 'node:http2'
import type { LimitedInfo } from '../lib/types'
import { httpGet, listen, localApp, rawGet, rawRequest, readEvents, tempDir, waitFor } from './fixtures'

async function get (port: number, path: string): Promise<number> {
  return (await httpGet(port, path, { 'user-agent': 'probe/1.0' })).status
}

test('malformed percent-encodings answered 400 by the router are still recorded and classified', async (t) => {
  const file = join(tempDir(), 'e.ndjson')
  const app = Fastify()
  await app.register(appFirewall, { mode: 'local', localLogPath: file, cloudflareRefreshMs: 0 })
  app.get('/', async () => 'ok')
  app.get('/files/:name', async (req) => (req.params as { name: string }).name)
  await app.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(() => app.close())
  const port = (app.server.address() as { port: number }).port

  t.equal(await get(port, '/%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd'), 400)
  t.equal(await get(port, '/%%%'), 400)
  t.equal(await get(port, '/files/a%20b'), 200, 'a valid encoding is routed as usual')
  t.equal(await get(port, '/missing%2Fthing'), 404)
  await app.appfirewall.flush(2000)
  const events = readEvents(file)
  t.equal(events.length, 4, 'one event per request: none lost, none doubled')
  const [overlong, garbage, ok, miss] = events
  t.equal(overlong?.status, 400)
  t.equal(overlong?.path, '/%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd')
  t.equal(overlong?.classification, 'scanner')
  t.type(overlong?.rule, 'string')
  t.equal(overlong?.ip, '127.0.0.1')
  t.equal(overlong?.ua, 'probe/1.0')
  t.equal(garbage?.status, 400)
  t.type(garbage?.classification, 'string')
  t.equal(ok?.status, 200)
  t.notOk('classification' in (ok as object))
  t.equal(miss?.status, 404)
  t.equal(miss?.classification, 'unknown')
})

test('the raw listeners are removed on close', async (t) => {
  const app = Fastify()
  const before: [number, number] = [app.server.listenerCount('request'), app.server.listenerCount('clientError')]
  await app.register(appFirewall, { mode: 'local', localLogPath: join(tempDir(), 'e.ndjson'), cloudflareRefreshMs: 0 })
  await app.ready()
  t.same([app.server.listenerCount('request'), app.server.listenerCount('clientError')], [before[0] + 1, before[1] + 1])
  await app.close()
  t.same([app.server.listenerCount('request'), app.server.listenerCount('clientError')], before)
})

test('router-rejected probes are counted like any scanner 404', async (t) => {
  const limited: LimitedInfo[] = []
  const h = await localApp(t, { rateLimit: { scanner: { max: 5, windowMs: 60_000 } }, onLimited: (_ip, info) => { limited.push(info) } })
  const port = await listen(h.app)
  for (let i = 0; i < 15; i++) t.equal(await get(port, `/%c0%ae%c0%ae/etc/passwd${i}`), 400)
  const events = await h.events()
  t.equal(events.length, 15)
  t.ok(events.every((e) => e?.classification === 'scanner' && e?.status === 400))
  t.same(events.map((e) => e.would_block === true), [...Array(5).fill(false), ...Array(10).fill(true)], 'would_block from the sixth on')
  t.equal(limited.length, 1, 'onLimited ran once')
  t.match(limited[0], { classification: 'scanner', count: 6, max: 5 })
})

test('over HTTP/2 a router-rejected probe carries the peer read when it arrived', async (t) => {
  const file = join(tempDir(), 'e.ndjson')
  const app = Fastify({ http2: true })
  await app.register(appFirewall, { mode: 'local', localLogPath: file, cloudflareRefreshMs: 0 })
  app.get('/', async () => 'ok')
  const port = await listen(app)
  t.teardown(() => app.close())
  const session = http2.connect(`http://127.0.0.1:${port}`)
  t.teardown(() => { session.close() })
  const status = await new Promise<number>((resolve, reject) => {
    const stream = session.request({ ':path': '/%c0%ae%c0%ae/etc/passwd', 'user-agent': 'h2probe' })
    stream.on('response', (headers) => { resolve(Number(headers[':status'])) })
    stream.on('error', reject)
    stream.resume()
    stream.end()
  })
  t.equal(status, 400)
  // Recorded when the stream closes, a moment after the client has its answer.
  await waitFor(() => app.appfirewall.stats().emitted === 1, 2000, 'the event')
  await app.appfirewall.flush(2000)
  const events = readEvents(file)
  t.equal(events.length, 1)
  t.match(events[0], { status: 400, ip: '127.0.0.1', classification: 'scanner', ua: 'h2probe' })
})

test('requests Node\'s parser refuses leave one event each, classified and counted', async (t) => {
  const limited: LimitedInfo[] = []
  const h = await localApp(t, { rateLimit: { scanner: { max: 1, windowMs: 60_000 } }, onLimited: (_ip, info) => { limited.push(info) } })
  h.app.get('/', async () => 'ok')
  const port = await listen(h.app)
  const space = await rawRequest(port, 'GET /a b/.env HTTP/1.1\r\nHost: x\r\nUser-Agent: sqlmap/1.8\r\n\r\n')
  t.equal(space.status, 400, 'a space inside the target: 400')
  const big = await rawRequest(port, rawGet('/wp-login.php', { 'x-pad': 'a'.repeat(20_000) }))
  t.equal(big.status, 431, 'headers too large: 431')
  const badHeader = await rawRequest(port, 'GET /phpmyadmin/ HTTP/1.1\r\nHost: x\r\nBad Header: x\r\n\r\n')
  t.equal(badHeader.status, 400, 'a header name with a space: 400')
  t.equal((await rawRequest(port, rawGet('/'))).status, 200, 'the server still serves')
  const events = await h.events()
  t.equal(events.length, 4, 'one event per request, refused or not')
  t.match(events[0], { status: 400, method: 'GET', path: '/a b/.env', ip: '127.0.0.1', classification: 'scanner', ua: 'sqlmap/1.8', ua_class: 'sqlmap' })
  t.match(events[1], { status: 431, path: '/wp-login.php', classification: 'scanner', would_block: true })
  t.match(events[2], { status: 400, path: '/phpmyadmin/', classification: 'scanner', would_block: true })
  t.match(events[3], { status: 200, path: '/' })
  t.equal(limited.length, 1, 'counted like any 404 probe: the second passed max: 1')
})

test('a refused request from a trusted proxy is attributed to the client its headers name, and only a bounded head is read', async (t) => {
  const h = await localApp(t, { trustedProxies: ['127.0.0.1'] })
  const port = await listen(h.app)
  const target = '/' + 'x'.repeat(20_000) + '/.env'
  const res = await rawRequest(port, `GET /wp-login.php HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 198.51.100.23\r\nX-Pad: ${'p'.repeat(20_000)}\r\n\r\n`)
  t.equal(res.status, 431)
  const long = await rawRequest(port, `GET ${target} HTTP/1.1\r\nHost: x\r\n\r\n`)
  t.equal(long.status, 431, 'a request line past Node\'s header limit')
  const events = await h.events()
  t.equal(events.length, 2)
  t.equal(events[0]?.ip, '198.51.100.23', 'x-forwarded-for from a trusted peer is believed')
  t.equal(events[1]?.ip, '127.0.0.1')
  t.ok((events[1]?.path as string).length <= 4096, `what is read of the target is capped (${(events[1]?.path as string).length} characters)`)
})
