// Whoever answers a request, it leaves one event: an app hook registered
// before the plugin may answer before the plugin's onRequest ever runs.
import { test } from 'tap'
import Fastify from 'fastify'
import { join } from 'node:path'
import appFirewall from '../lib/index'
import { listen, rawGet, rawRequest, readEvents, sleep, tempDir, waitFor, within } from './fixtures'

test('a request answered by an app onRequest hook registered before the plugin still leaves its event', async (t) => {
  const file = join(tempDir(), 'e.ndjson')
  const app = Fastify()
  app.addHook('onRequest', async (request, reply) => {
    if (request.headers.authorization === undefined) return reply.code(401).send({ error: 'no token' })
  })
  await app.register(appFirewall, { mode: 'local', localLogPath: file, cloudflareRefreshMs: 0, trustedProxies: ['10.0.0.0/8'] })
  app.get('/private', async (request) => ({ ip: request.appfirewall.ip }))
  t.teardown(() => app.close())

  const refused = await app.inject({ url: '/private', remoteAddress: '10.1.1.1', headers: { 'x-forwarded-for': '203.0.113.40', 'user-agent': 'curl/8' } })
  t.equal(refused.statusCode, 401, 'the app answered')
  const probe = await app.inject({ url: '/.env', remoteAddress: '10.1.1.1', headers: { 'x-forwarded-for': '203.0.113.41' } })
  t.equal(probe.statusCode, 401)
  const served = await app.inject({ url: '/private', remoteAddress: '10.1.1.1', headers: { authorization: 'x', 'x-forwarded-for': '203.0.113.42' } })
  t.same(served.json(), { ip: '203.0.113.42' })
  await app.appfirewall.flush(2000)
  const events = readEvents(file)
  t.equal(events.length, 3, 'one event per request')
  t.match(events[0], { status: 401, path: '/private', ip: '203.0.113.40', ua: 'curl/8' })
  t.match(events[1], { status: 401, path: '/.env', ip: '203.0.113.41' })
  t.equal(events[1]?.classification, 'scanner', 'headed for the not-found handler: classified and counted, whoever answered')
  t.match(events[2], { status: 200, ip: '203.0.113.42' })
})

test('skip still applies to a context made late', async (t) => {
  const file = join(tempDir(), 'e.ndjson')
  const app = Fastify()
  app.addHook('onRequest', async (request, reply) => {
    if (request.url === '/health') return reply.send('up')
  })
  await app.register(appFirewall, { mode: 'local', localLogPath: file, cloudflareRefreshMs: 0, skip: (request) => request.url === '/health' })
  t.teardown(() => app.close())
  t.equal((await app.inject('/health')).body, 'up')
  await app.appfirewall.flush(2000)
  t.equal(readEvents(file).length, 0, 'the skipped request left no event')
})

test('a hook before the plugin that records through request.appfirewall and answers still leaves the request\'s event', async (t) => {
  const file = join(tempDir(), 'e.ndjson')
  const app = Fastify()
  app.addHook('onRequest', async (request, reply) => {
    request.appfirewall.record('auth.failed', { reason: 'no token' })
    return reply.code(401).send({ error: 'no token' })
  })
  await app.register(appFirewall, { mode: 'local', localLogPath: file, cloudflareRefreshMs: 0 })
  app.get('/private', async () => 'secret')
  t.teardown(() => app.close())
  t.equal((await app.inject({ url: '/private', remoteAddress: '203.0.113.50' })).statusCode, 401)
  await app.appfirewall.flush(2000)
  const events = readEvents(file)
  t.same(events.map((e) => e.type).sort(), ['custom', 'http_request'], 'the record() and the request')
  t.match(events.find((e) => e.type === 'http_request'), { status: 401, path: '/private', ip: '203.0.113.50' })
})

test('a client that leaves while an async hook before the plugin runs still leaves its aborted event', async (t) => {
  const file = join(tempDir(), 'e.ndjson')
  const app = Fastify()
  let entered: () => void = () => {}
  let release: () => void = () => {}
  let handled = 0
  app.addHook('onRequest', async () => {
    entered()
    await new Promise<void>((resolve) => { release = resolve })
  })
  await app.register(appFirewall, { mode: 'local', localLogPath: file, cloudflareRefreshMs: 0 })
  app.get('/slow-auth', async () => { handled++; return 'late' })
  t.teardown(() => app.close())
  const port = await listen(app)
  const inHook = new Promise<void>((resolve) => { entered = resolve })
  const closed = new Promise<void>((resolve) => { app.server.once('connection', (s) => { s.once('close', () => { resolve() }) }) })
  const exchange = rawRequest(port, rawGet('/slow-auth'), { hangUp: inHook })
  t.equal((await exchange).status, 0, 'the client left before any answer')
  await within(closed, 5000, 'the server to see the connection close')
  release() // the app's hook finishes after the client has gone
  await waitFor(() => handled === 1, 5000, 'the handler')
  await sleep(50)
  await app.appfirewall.flush(2000)
  const events = readEvents(file)
  t.equal(events.length, 1, 'one event')
  t.match(events[0], { path: '/slow-auth', status: 499, aborted: true })
})

test('requests a middleware or a hook before the plugin ends on the raw response (no done, no onSend) still leave their events, over real HTTP', async (t) => {
  const file = join(tempDir(), 'e.ndjson')
  const app = Fastify()
  // What @fastify/middie does when a middleware ends the response: the hook never calls done.
  app.addHook('onRequest', (request, reply, done) => {
    if (request.method === 'OPTIONS') {
      reply.raw.writeHead(204, { 'access-control-allow-origin': '*' })
      reply.raw.end()
      return
    }
    if (request.url.startsWith('/admin') || request.url === '/.env') {
      reply.raw.statusCode = 401
      reply.raw.end('no')
      return
    }
    if (request.url === '/hijacked') {
      reply.hijack()
      reply.raw.writeHead(403)
      reply.raw.end('no')
      return
    }
    done()
  })
  await app.register(appFirewall, { mode: 'local', localLogPath: file, cloudflareRefreshMs: 0 })
  app.get('/', async () => 'ok')
  app.get('/admin/users', async () => 'secret')
  t.teardown(() => app.close())
  const port = await listen(app)
  const statuses: number[] = []
  for (const text of [
    'OPTIONS / HTTP/1.1\r\nHost: x\r\nOrigin: https://a.example\r\nConnection: close\r\n\r\n',
    rawGet('/admin/users'),
    rawGet('/.env', { 'user-agent': 'sqlmap/1.8' }),
    rawGet('/hijacked'),
    rawGet('/')
  ]) statuses.push((await rawRequest(port, text)).status)
  t.same(statuses, [204, 401, 401, 403, 200], 'the app answered as it chose')
  await waitFor(() => app.appfirewall.stats().emitted === 5, 5000, 'five events')
  await app.appfirewall.flush(2000)
  const events = readEvents(file)
  t.equal(events.length, 5, 'one event per request, whoever answered')
  t.match(events[0], { method: 'OPTIONS', path: '/', status: 204 })
  t.match(events[1], { path: '/admin/users', status: 401 })
  t.notOk('classification' in (events[1] as object), 'a route exists: no 404')
  t.match(events[2], { path: '/.env', status: 401, classification: 'scanner', ua_class: 'sqlmap' }, 'headed for the not-found handler: classified, whoever answered')
  t.match(events[3], { path: '/hijacked', status: 403 })
  t.match(events[4], { path: '/', status: 200 })
})
