// Client IP resolution through the plugin and real sockets. The pure table
// of cases is in client-ip.test.ts; this file proves the wiring: the socket
// peer as Node reports it (IPv4-mapped on a dual-stack server), Cloudflare
// metadata only from Cloudflare, and the misconfiguration warnings.
import { test } from 'tap'
import Fastify from 'fastify'
import { join } from 'node:path'
import appFirewall from '../lib/index'
import { httpGet, logCapture, pluginLogs, readEvents, tempDir } from './fixtures'

const get = httpGet

async function listenDualStack (app: ReturnType<typeof Fastify>): Promise<number> {
  await app.listen({ host: '::', port: 0 })
  return (app.server.address() as { port: number }).port
}

test('a trusted IPv4 proxy is recognised when a dual-stack server reports it as ::ffff:127.0.0.1', async (t) => {
  const file = join(tempDir(), 'e.ndjson')
  const app = Fastify()
  await app.register(appFirewall, { mode: 'local', localLogPath: file, trustedProxies: ['127.0.0.1'], cloudflareRefreshMs: 0 })
  app.get('/', async (request) => ({ ip: request.appfirewall.ip, peer: request.raw.socket.remoteAddress }))
  const port = await listenDualStack(app)
  t.teardown(() => app.close())
  const res = await get(port, '/', { 'x-forwarded-for': '6.6.6.6, 198.51.100.23' })
  const body = JSON.parse(res.body)
  t.equal(body.peer, '::ffff:127.0.0.1', 'Node reports the mapped form')
  t.equal(body.ip, '198.51.100.23', 'rightmost untrusted hop, not the forged left part')
})

test('headers from an untrusted peer are ignored, cf-* metadata never reaches an event, and one warning says so', async (t) => {
  const file = join(tempDir(), 'e.ndjson')
  const { stream, lines } = logCapture()
  const app = Fastify({ logger: { level: 'warn', stream } })
  await app.register(appFirewall, { mode: 'local', localLogPath: file, cloudflareRefreshMs: 0 })
  app.get('/', async (request) => ({ ip: request.appfirewall.ip }))
  const port = await listenDualStack(app)
  t.teardown(() => app.close())
  const forged = { 'cf-connecting-ip': '1.2.3.4', 'cf-ipcountry': 'XX', 'cf-ray': 'forged-ray', 'cf-asn': '13335', 'x-forwarded-for': '5.6.7.8', 'x-real-ip': '9.9.9.9' }
  for (let i = 0; i < 3; i++) {
    const res = await get(port, '/', forged)
    t.same(JSON.parse(res.body), { ip: '127.0.0.1' })
  }
  await app.appfirewall.flush(2000)
  const events = readEvents(file)
  t.equal(events.length, 3)
  for (const e of events) {
    t.equal(e.ip, '127.0.0.1')
    t.notOk('cf_country' in e || 'cf_ray' in e || 'cf_asn' in e, 'no forged Cloudflare metadata')
  }
  const warnings = pluginLogs(lines).filter((l) => /forwarding headers .* were ignored/.test(l.msg))
  t.equal(warnings.length, 1, 'warned once per process, not per request')
})

test('a Cloudflare edge behind a trusted load balancer seen as ::ffff:127.0.0.1 gives cf-connecting-ip and its metadata', async (t) => {
  // A real socket here comes from 127.0.0.1, never from Cloudflare's ranges
  // (a refresh refuses loopback): the load balancer on 127.0.0.1 reports the
  // Cloudflare edge it got the request from (Cloudflare -> LB -> app).
  const file = join(tempDir(), 'e.ndjson')
  const app = Fastify()
  await app.register(appFirewall, { mode: 'local', localLogPath: file, cloudflareRefreshMs: 0, trustedProxies: ['cloudflare', '127.0.0.1'] })
  app.get('/', async (request) => ({ ip: request.appfirewall.ip }))
  const port = await listenDualStack(app)
  t.teardown(() => app.close())
  const headers = {
    'x-forwarded-for': '198.51.100.3, 173.245.48.10',
    'cf-connecting-ip': '203.0.113.77',
    'cf-ipcountry': 'NZ',
    'cf-ray': '8a1b2c3d4e5f-AKL',
    'cf-asn': '64500',
    'cf-worker': 'example.workers.dev'
  }
  t.equal(JSON.parse((await get(port, '/', headers)).body).ip, '203.0.113.77', 'the client Cloudflare names, not the forged left part')
  await app.appfirewall.flush(2000)
  const last = readEvents(file).at(-1) as Record<string, unknown>
  t.equal(last.ip, '203.0.113.77')
  t.equal(last.cf_country, 'NZ')
  t.equal(last.cf_ray, '8a1b2c3d4e5f-AKL')
  t.equal(last.cf_asn, '64500')
  t.equal(last.via, 'cf-worker', 'a Worker subrequest is marked, not trusted blindly')
})

test('every client resolving to a private address triggers the one-global-client warning once', async (t) => {
  const { stream, lines } = logCapture()
  const app = Fastify({ logger: { level: 'warn', stream } })
  await app.register(appFirewall, { mode: 'local', localLogPath: join(tempDir(), 'e.ndjson'), cloudflareRefreshMs: 0 })
  app.get('/', async () => 'ok')
  for (let i = 0; i < 250; i++) await app.inject({ url: '/', remoteAddress: '10.0.0.5' })
  t.equal(pluginLogs(lines).filter((l) => /look like one client/.test(l.msg)).length, 1)
  await app.close()
})

test('no warning when clients are public addresses', async (t) => {
  const { stream, lines } = logCapture()
  const app = Fastify({ logger: { level: 'warn', stream } })
  await app.register(appFirewall, { mode: 'local', localLogPath: join(tempDir(), 'e.ndjson'), cloudflareRefreshMs: 0 })
  app.get('/', async () => 'ok')
  for (let i = 0; i < 250; i++) await app.inject({ url: '/', remoteAddress: i === 3 ? '198.51.100.1' : '10.0.0.5' })
  t.equal(pluginLogs(lines).length, 0)
  await app.close()
})

test('a request with no socket peer resolves to 0.0.0.0 and never crashes', async (t) => {
  const file = join(tempDir(), 'e.ndjson')
  const app = Fastify()
  // Added before the plugin, so it runs first: a peer that is gone (socket
  // destroyed before anyone read its address).
  app.addHook('onRequest', (request, _reply, done) => {
    Object.defineProperty(request.raw.socket, 'remoteAddress', { value: undefined, configurable: true })
    done()
  })
  await app.register(appFirewall, { mode: 'local', localLogPath: file, cloudflareRefreshMs: 0 })
  app.get('/', async (request) => ({ ip: request.appfirewall.ip }))
  const res = await app.inject({ url: '/', headers: { 'x-forwarded-for': '1.2.3.4' } })
  t.equal(res.statusCode, 200)
  t.same(res.json(), { ip: '0.0.0.0' })
  await app.appfirewall.flush(2000)
  t.equal(readEvents(file)[0]?.ip, '0.0.0.0')
  await app.close()
})
