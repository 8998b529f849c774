import { test, type Test } from 'tap'
import Fastify, { type FastifyInstance } from 'fastify'
import { Readable } from 'node:stream'
import { join } from 'node:path'
import appFirewall from '../lib/index'
import { readEvents, tempDir } from './fixtures'

const TS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/
const HTTP_FIELDS = new Set(['type', 'ts', 'ip', 'method', 'path', 'status', 'ua', 'referer', 'cf_country', 'cf_ray', 'cf_asn',
  'classification', 'environment', 'rule', 'ua_class', 'would_block', 'blocked', 'via'])

async function app (t: Test, extra: Record<string, unknown> = {}): Promise<{ app: FastifyInstance, file: string }> {
  const file = join(tempDir(), 'nested', 'dir', 'events.ndjson')
  const a = Fastify()
  await a.register(appFirewall, { mode: 'local', localLogPath: file, cloudflareRefreshMs: 0, ...extra })
  a.get('/ok', async () => ({ hello: 'world' }))
  a.get('/boom', async () => { throw new Error('handler failed') })
  a.get('/stream', async (_req, reply) => {
    reply.type('text/plain')
    return Readable.from(['a', 'b', 'c'])
  })
  a.get('/old', async (_req, reply) => reply.redirect('/ok'))
  t.teardown(() => a.close())
  return { app: a, file }
}

test('every request yields exactly one http_request event with the wire fields', async (t) => {
  const { app: a, file } = await app(t, { environment: 'staging' })
  const calls = [
    { method: 'GET' as const, url: '/ok?secret=1', status: 200 },
    { method: 'GET' as const, url: '/boom', status: 500 },
    { method: 'GET' as const, url: '/stream', status: 200 },
    { method: 'GET' as const, url: '/old', status: 302 },
    { method: 'HEAD' as const, url: '/ok', status: 200 },
    { method: 'GET' as const, url: '/nope', status: 404 }
  ]
  for (const c of calls) {
    const res = await a.inject({ method: c.method, url: c.url, remoteAddress: '203.0.113.5', headers: { 'user-agent': 'Mozilla/5.0 test', referer: 'https://example.com/' } })
    t.equal(res.statusCode, c.status, `${c.method} ${c.url}`)
  }
  t.ok(await a.appfirewall.flush(2000))
  const events = readEvents(file)
  t.equal(events.length, calls.length)
  for (const [i, c] of calls.entries()) {
    const e = events[i] as Record<string, any>
    t.equal(e.type, 'http_request')
    t.match(e.ts, TS)
    t.equal(e.ip, '203.0.113.5')
    t.equal(e.method, c.method)
    t.equal(e.path, c.url.split('?')[0], 'path has no query string')
    t.equal(e.status, c.status)
    t.equal(e.ua, 'Mozilla/5.0 test')
    t.equal(e.referer, 'https://example.com/')
    t.equal(e.environment, 'staging')
    for (const k of Object.keys(e)) t.ok(HTTP_FIELDS.has(k), `known field ${k}`)
    t.notOk('cf_ray' in e, 'no Cloudflare fields from a non-Cloudflare peer')
  }
  t.equal(events[5]?.classification, 'unknown')
  t.notOk('classification' in (events[0] as object), 'only 404s are classified')
  const stats = a.appfirewall.stats()
  t.equal(stats.emitted, calls.length)
  t.equal(stats.sent, calls.length)
  t.equal(stats.mode, 'local')
})

test('a 404 probe is classified scanner with the rule that matched, and request.appfirewall.classification is set', async (t) => {
  const { app: a, file } = await app(t)
  let seen: string | undefined
  a.addHook('onResponse', async (request) => { seen = request.appfirewall.classification })
  await a.inject({ url: '/.env' })
  await a.inject({ url: '/favicon.ico' })
  await a.inject({ url: '/products/123' })
  await a.appfirewall.flush(2000)
  const [probe, favicon, miss] = readEvents(file)
  t.equal(probe?.classification, 'scanner')
  t.type(probe?.rule, 'string')
  t.equal(favicon?.classification, 'benign-miss')
  t.notOk('rule' in (favicon as object))
  t.equal(miss?.classification, 'unknown')
  t.equal(seen, 'unknown')
})

test('classify404: false leaves 404s unclassified', async (t) => {
  const { app: a, file } = await app(t, { classify404: false })
  await a.inject({ url: '/.env' })
  await a.appfirewall.flush(2000)
  const [e] = readEvents(file)
  t.equal(e?.status, 404)
  t.notOk('classification' in (e as object))
})

test('custom events carry name, sanitised fields and the request\'s ip, path, method', async (t) => {
  const { app: a, file } = await app(t, { environment: 'prod' })
  a.post('/login', async (request, reply) => {
    request.appfirewall.record('auth.login_failed', { user: 'bob', attempts: 3, when: new Date(0) })
    return reply.code(401).send({ error: 'nope' })
  })
  const res = await a.inject({ method: 'POST', url: '/login?next=/x', payload: { u: 'bob' }, remoteAddress: '2001:DB8::0:1' })
  t.equal(res.statusCode, 401)
  await a.appfirewall.flush(2000)
  const events = readEvents(file)
  const custom = events.find((e) => e.type === 'custom') as Record<string, any>
  t.same(Object.keys(custom).sort(), ['environment', 'fields', 'ip', 'method', 'name', 'path', 'ts', 'type'])
  t.equal(custom.name, 'auth.login_failed')
  t.same(custom.fields, { user: 'bob', attempts: 3, when: '1970-01-01T00:00:00.000Z' })
  t.equal(custom.ip, '2001:db8::1', 'IPv6 written in RFC 5952 form')
  t.equal(custom.path, '/login')
  t.equal(custom.method, 'POST')
  t.equal(custom.environment, 'prod')
  t.match(custom.ts, TS)
  const http = events.find((e) => e.type === 'http_request')
  t.equal(http?.status, 401)
})

test('hostile header values are escaped, clipped and never break the line', async (t) => {
  const { app: a, file } = await app(t)
  const res = await a.inject({ url: '/ok', headers: { 'user-agent': 'a"b\\c\u0001' + 'z'.repeat(5000), referer: '\ud800' } })
  t.equal(res.statusCode, 200)
  await a.appfirewall.flush(2000)
  const [e] = readEvents(file)
  t.equal(e?.ua.slice(0, 6), 'a"b\\c\u0001')
  t.equal(e?.ua.length, 2048)
})
