// What the hooks do at the edges of a 404: an SPA's not-found handler that
// answers 200 (still a probe, still counted and refused), the 429 that
// replaces a 404 some earlier hook already described (compressed, cached),
// registrations in sibling encapsulated plugins, and record() calls that come
// after the response.
import { test, type Test } from 'tap'
import Fastify from 'fastify'
import type { FastifyInstance } from 'fastify'
import { join } from 'node:path'
import { gunzipSync, gzipSync } from 'node:zlib'
import appFirewall, { record } from '../lib/index'
import type { AppFirewallOptions } from '../lib/types'
import { httpGet, listen, localApp, readEvents, tempDir, waitFor } from './fixtures'
import type { LocalApp } from './fixtures'

const PAGE = '<!doctype html><html><body><div id="app"></div></body></html>'
const IP = '198.51.100.44'

/** A local-mode app whose not-found handler serves the SPA's page with 200, counting its calls. */
async function spa (t: Test, opts: AppFirewallOptions): Promise<LocalApp & { pages: () => number }> {
  const h = await localApp(t, { rateLimit: { scanner: { max: 2, windowMs: 60_000 } }, ...opts })
  let pages = 0
  h.app.get('/api/health', async () => ({ ok: true }))
  h.app.setNotFoundHandler(async (_request, reply) => {
    pages++
    return reply.code(200).type('text/html; charset=utf-8').send(PAGE)
  })
  return { ...h, pages: () => pages }
}

test('an SPA fallback answering 200 still classifies and counts the probes it serves (shadow mode)', async (t) => {
  const h = await spa(t, { enforceRateLimit: false })
  const statuses: number[] = []
  for (const url of ['/.env', '/settings/profile', '/wp-login.php', '/api/health', '/.git/config', '/.aws/credentials']) {
    const res = await h.app.inject({ url, remoteAddress: IP })
    statuses.push(res.statusCode)
    if (url !== '/api/health') t.equal(res.body, PAGE, `${url} gets the page`)
  }
  t.same(statuses, [200, 200, 200, 200, 200, 200], 'shadow mode refuses nothing')
  const events = await h.events()
  t.equal(events.length, 6)
  t.match(events[0], { type: 'http_request', path: '/.env', status: 200, ip: IP, classification: 'scanner', rule: 'dotfile' })
  t.equal(events[1]?.path, '/settings/profile')
  t.type(events[1]?.classification, 'string', 'an app route served by the fallback is classified too')
  t.not(events[1]?.classification, 'scanner')
  t.match(events[2], { path: '/wp-login.php', status: 200, classification: 'scanner' })
  t.notOk('classification' in (events[3] as object), 'a matched route is no 404')
  t.match(events[4], { path: '/.git/config', status: 200, classification: 'scanner', would_block: true })
  t.match(events[5], { path: '/.aws/credentials', status: 200, classification: 'scanner', would_block: true })
  t.same(events.map((e) => e.would_block === true), [false, false, false, false, true, true], 'would_block from the third scanner probe on (max: 2)')
  t.equal(h.pages(), 5)
})

test('with enforcement the SPA fallback\'s 200 becomes the 429 for the probe past the limit, and later probes never reach it', async (t) => {
  const h = await spa(t, { enforceRateLimit: true })
  const res = []
  for (const url of ['/.env', '/wp-login.php', '/.git/config', '/.env', '/settings/profile']) res.push(await h.app.inject({ url, remoteAddress: IP }))
  t.same(res.map((r) => r.statusCode), [200, 200, 429, 429, 429])
  t.equal(h.pages(), 3, 'the third probe ran the handler (only then was it known to be a probe); the later ones did not')
  const past = res[2]
  t.match(past?.headers['content-type'], /^application\/json/)
  t.ok(Number(past?.headers['retry-after']) >= 1)
  t.same(past?.json(), { statusCode: 429, error: 'Too Many Requests', message: `Rate limit exceeded, retry in ${String(past?.headers['retry-after'])} seconds` })
  t.notOk(past?.body.includes('<html'), 'none of the page is sent')
  t.equal((await h.app.inject({ url: '/api/health', remoteAddress: IP })).statusCode, 200, 'matched routes still serve the IP')
  t.equal((await h.app.inject({ url: '/.env', remoteAddress: '198.51.100.45' })).statusCode, 200, 'another IP still gets the page')
  const events = (await h.events()).filter((e) => e.ip === IP)
  t.same(events.map((e) => [e.path, e.status, e.blocked === true]), [
    ['/.env', 200, false], ['/wp-login.php', 200, false], ['/.git/config', 429, true], ['/.env', 429, true], ['/settings/profile', 429, true], ['/api/health', 200, false]
  ])
  t.notOk(events.some((e) => e.would_block === true), 'nothing over the limit went unrefused')
})

/**
 * An app whose own onSend hook (registered before the plugin, so it runs
 * first) compresses and describes every response, as a compression or cache
 * plugin does.
 */
async function describedApp (t: Test): Promise<{ app: FastifyInstance, file: string }> {
  const file = join(tempDir(), 'events.ndjson')
  const app = Fastify()
  t.teardown(() => app.close())
  app.addHook('onSend', async (_request, reply, payload) => {
    reply.header('content-encoding', 'gzip')
    reply.header('content-language', 'fr')
    reply.header('content-disposition', 'inline; filename="page.html"')
    reply.header('etag', '"page-v1"')
    reply.header('last-modified', 'Mon, 01 Jan 2024 00:00:00 GMT')
    reply.header('vary', 'accept-encoding')
    reply.header('cache-control', 'public, max-age=3600')
    reply.header('x-app', 'kept')
    return gzipSync(typeof payload === 'string' ? payload : '')
  })
  await app.register(appFirewall, { mode: 'local', localLogPath: file, cloudflareRefreshMs: 0, enforceRateLimit: true, rateLimit: { scanner: { max: 1, windowMs: 60_000 } } })
  app.setNotFoundHandler(async (_request, reply) => reply.code(404).type('text/html').send('<html>not here</html>'))
  return { app, file }
}

test('the 429 that replaces a 404 carries none of the headers that described the 404\'s body', async (t) => {
  const { app, file } = await describedApp(t)
  const first = await app.inject({ url: '/.env', remoteAddress: IP })
  t.equal(first.statusCode, 404)
  t.equal(first.headers['content-encoding'], 'gzip', 'the app\'s hook ran')
  t.equal(gunzipSync(first.rawPayload).toString(), '<html>not here</html>')

  const refused = await app.inject({ url: '/wp-login.php', remoteAddress: IP })
  t.equal(refused.statusCode, 429, 'the probe past max: 1 is refused in onSend, after the app\'s hook described its 404')
  for (const name of ['content-encoding', 'content-language', 'content-disposition', 'etag', 'last-modified', 'vary']) {
    t.notOk(name in refused.headers, `no ${name}`)
  }
  t.equal(refused.headers['cache-control'], 'no-store')
  t.match(refused.headers['content-type'], /^application\/json/)
  t.ok(Number(refused.headers['retry-after']) >= 1)
  t.equal(refused.headers['x-app'], 'kept', 'headers that do not describe the body stay')
  t.equal(Number(refused.headers['content-length']), refused.rawPayload.length, 'content-length is the 429 body\'s')
  t.match(refused.json(), { statusCode: 429, error: 'Too Many Requests' }, 'the body is plain JSON, not announced as gzip')

  await app.appfirewall.flush(2000)
  const events = readEvents(file)
  t.same(events.map((e) => [e.path, e.status, e.blocked === true]), [['/.env', 404, false], ['/wp-login.php', 429, true]])
})

test('the same 429 over real HTTP is readable by a client that believes its headers', async (t) => {
  const { app } = await describedApp(t)
  const port = await listen(app)
  // fetch decodes what content-encoding announces: a stale "gzip" would fail the read of a plain JSON body.
  const get = (path: string): Promise<Response> => fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(5000) })
  const first = await get('/.env')
  t.equal(first.status, 404)
  t.equal(await first.text(), '<html>not here</html>', 'the 404 was compressed and announced so')
  const refused = await get('/wp-login.php')
  t.equal(refused.status, 429)
  t.match(await refused.json(), { statusCode: 429, error: 'Too Many Requests' })
})

const opts = (): AppFirewallOptions => ({ mode: 'local', localLogPath: join(tempDir(), 'e.ndjson'), cloudflareRefreshMs: 0 })

test('two sibling encapsulated registrations on one server: the second fails with FST_APPFIREWALL_ALREADY_REGISTERED', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  let registered = 0
  app.register(async (child) => {
    await child.register(appFirewall, opts())
    registered++
  })
  app.register(async (child) => {
    await child.register(appFirewall, opts())
    registered++
  })
  await t.rejects(async () => { await app.ready() }, { code: 'FST_APPFIREWALL_ALREADY_REGISTERED', message: /register it once/ })
  t.equal(registered, 1, 'the first sibling registered, the second did not')

  // The mark is per server: another app registers as usual.
  const other = Fastify()
  t.teardown(() => other.close())
  await other.register(appFirewall, opts())
  await other.ready()
  t.equal(other.appfirewall.stats().mode, 'local')
})

test('a module-level record() from the app\'s onResponse hook makes no event and is counted afterResponse', async (t) => {
  const h = await localApp(t)
  const calls: string[] = []
  h.app.addHook('onResponse', async (request) => {
    calls.push(request.url)
    record('late.on_response', { n: 1 })
  })
  h.app.get('/login', async () => {
    record('auth.login_failed', { user: 'x' })
    return 'no'
  })
  const res = await h.app.inject({ url: '/login', remoteAddress: IP })
  t.equal(res.statusCode, 200)
  await waitFor(() => calls.length === 1, 2000, 'the app\'s onResponse hook')
  const s = h.app.appfirewall.stats()
  t.equal(s.ignored.afterResponse, 1)
  t.equal(s.emitted, 2, 'the request and the record() made in its handler, nothing else')
  const events = await h.events()
  t.same(events.map((e) => e.type === 'custom' ? e.name : e.type).sort(), ['auth.login_failed', 'http_request'])
  t.equal(events.find((e) => e.type === 'custom')?.ip, IP)
})

test('a module-level record() from the response\'s finish event (real HTTP) makes no event and is counted afterResponse', async (t) => {
  const h = await localApp(t)
  let finished = 0
  h.app.get('/upload', async (_request, reply) => {
    reply.raw.on('finish', () => {
      record('late.finish')
      finished++
    })
    record('upload.accepted')
    return 'ok'
  })
  const port = await listen(h.app)
  t.equal((await httpGet(port, '/upload')).status, 200)
  await waitFor(() => finished === 1, 2000, 'the finish listener')
  const s = h.app.appfirewall.stats()
  t.equal(s.ignored.afterResponse, 1)
  t.equal(s.emitted, 2)
  const events = await h.events()
  t.same(events.map((e) => e.type === 'custom' ? e.name : e.type).sort(), ['http_request', 'upload.accepted'])
})
