// Issue 11, item 4: probes answered by a catch-all. A single-page app served
// by a wildcard route answers 200 to every probe; its requests are still
// classified when the path is a probe (and only then), while requests matched
// by ordinary routes are never classified. A real Fastify app in local mode.
import { test, type Test } from 'tap'
import Fastify, { type FastifyInstance } from 'fastify'
import { join } from 'node:path'
import appFirewall from '../lib/index'
import type { AppFirewallOptions } from '../lib/types'
import { localApp, readEvents, tempDir, type LocalApp } from './fixtures'

const INDEX = '<!doctype html><title>app</title>'

function spa (app: FastifyInstance): void {
  // An SPA's fallback: every path is the app's index.html (as @fastify/static with wildcard: true serves /*).
  app.get('/*', async (_request, reply) => await reply.type('text/html').send(INDEX))
  app.get('/assets/*', async (request) => ({ asset: (request.params as Record<string, string>)['*'] }))
  app.get('/files/:path*', async () => ({ file: true }))
  // Ordinary routes, one of them at a path a scanner would probe.
  app.get('/api/health', async () => ({ ok: true }))
  app.get('/wp-login.php', async () => 'a real login page')
}

async function build (t: Test, opts: AppFirewallOptions = {}): Promise<LocalApp> {
  const h = await localApp(t, opts)
  spa(h.app)
  return h
}

async function eventOf (h: LocalApp, url: string, method: 'GET' | 'HEAD' = 'GET'): Promise<{ status: number, event: Record<string, any> }> {
  const before = readEvents(h.file).length
  const res = await h.app.inject({ method, url, remoteAddress: '203.0.113.40' })
  const events = await h.events()
  return { status: res.statusCode, event: events[before] as Record<string, any> }
}

test('a probe answered 200 by a /* route is classified scanner, with its rule and certainty', async (t) => {
  const h = await build(t)
  const { status, event } = await eventOf(h, '/.env')
  t.equal(status, 200, 'the app still answers its index page')
  t.equal(event.status, 200)
  t.equal(event.classification, 'scanner')
  t.equal(event.rule, 'dotfile')
  t.equal(event.certainty, 'certain')
})

test('a likely probe answered by the catch-all says so', async (t) => {
  const h = await build(t)
  const { event } = await eventOf(h, '/wp-admin/')
  t.equal(event.classification, 'scanner')
  t.equal(event.rule, 'wordpress')
  t.equal(event.certainty, 'likely')
})

test('a page of the app answered by the same route carries no classification', async (t) => {
  const h = await build(t)
  for (const url of ['/about', '/settings/profile', '/', '/favicon.ico']) {
    const { status, event } = await eventOf(h, url)
    t.equal(status, 200, url)
    t.notOk('classification' in event, `${url}: no classification`)
    t.notOk('rule' in event, `${url}: no rule`)
    t.notOk('certainty' in event, `${url}: no certainty`)
  }
})

test('other * routes serve data named by their path: not classified, unless the route opts in', async (t) => {
  const h = await build(t)
  h.app.get('/wiki/*', async () => 'a page')
  h.app.get('/:owner/:repo/blob/*', async () => 'a file')
  h.app.all('/proxy/*', async () => 'upstream')
  h.app.get('/app/*', { config: { appfirewall: { catchAll: true } } }, async () => 'an SPA under a prefix')
  for (const url of ['/assets/.git/config', '/files/.env']) {
    const { status, event } = await eventOf(h, url)
    t.equal(status, 200, url)
    t.notOk('classification' in event, `${url}: a file the route names, not a probe`)
  }
  for (const url of ['/wiki/Cmd.exe', '/wiki/Boot.ini', '/alice/repo/blob/main/.gitignore', '/proxy/wp-admin/admin-ajax.php']) {
    const { event } = await eventOf(h, url)
    t.notOk('classification' in event, `${url}: not classified`)
  }
  const opted = await eventOf(h, '/app/.env')
  t.equal(opted.event.classification, 'scanner', 'a route that says it is a catch-all is one')
})

test('a root catch-all that also takes POST (a proxy) is not one; a root catch-all can opt out', async (t) => {
  const h = await localApp(t)
  h.app.all('/*', async () => 'proxied')
  const proxied = await eventOf(h, '/wp-admin/admin-ajax.php')
  t.notOk('classification' in proxied.event)
  const other = await localApp(t)
  other.app.get('/*', { config: { appfirewall: { catchAll: false } } }, async () => 'a file server')
  const out = await eventOf(other, '/.env')
  t.notOk('classification' in out.event)
})

test('a HEAD request answered by the catch-all is classified like its GET', async (t) => {
  const h = await build(t)
  const { status, event } = await eventOf(h, '/.git/HEAD', 'HEAD')
  t.equal(status, 200)
  t.equal(event.classification, 'scanner')
})

test('a request matched by an ordinary route is never classified, even at a probe\'s path', async (t) => {
  const h = await build(t)
  for (const url of ['/api/health', '/wp-login.php']) {
    const { status, event } = await eventOf(h, url)
    t.equal(status, 200, url)
    t.notOk('classification' in event, `${url}: no classification`)
  }
})

test('a wildcard route\'s own onRequest hooks still run, and its requests are still classified', async (t) => {
  const h = await localApp(t)
  const ran: string[] = []
  const config = { appfirewall: { catchAll: true } }
  h.app.get('/one/*', { config, onRequest: (_request, _reply, done) => { ran.push('one'); done() } }, async () => 'one')
  h.app.get('/two/*', { config, onRequest: [async () => { ran.push('two-a') }, async () => { ran.push('two-b') }] }, async () => 'two')
  const one = await eventOf(h, '/one/.env')
  const two = await eventOf(h, '/two/.env')
  t.same(ran, ['one', 'two-a', 'two-b'])
  t.equal(one.status, 200)
  t.equal(one.event.classification, 'scanner')
  t.equal(two.event.classification, 'scanner')
})

test('a wildcard route that answers 401 to a probe: classified, and an auth signal', async (t) => {
  const h = await localApp(t)
  h.app.get('/*', { onRequest: async (_request, reply) => await reply.code(401).send({ error: 'sign in' }) }, async () => 'never')
  const { status, event } = await eventOf(h, '/.env')
  t.equal(status, 401)
  t.equal(event.classification, 'scanner')
  t.equal(event.signal, 'auth')
})

test('a catch-all that passes a path on to the not-found handler is a 404 probe, as before', async (t) => {
  const h = await localApp(t)
  // What @fastify/static does for a file that is not there.
  h.app.get('/*', async (_request, reply) => { reply.callNotFound() })
  const { status, event } = await eventOf(h, '/.env')
  t.equal(status, 404)
  t.equal(event.classification, 'scanner')
  t.equal(event.certainty, 'certain')
})

test('an SPA fallback through setNotFoundHandler is classified as before (its requests are 404s to Fastify)', async (t) => {
  const h = await localApp(t)
  h.app.setNotFoundHandler(async (_request, reply) => await reply.code(200).type('text/html').send(INDEX))
  const probe = await eventOf(h, '/.env')
  t.equal(probe.status, 200)
  t.equal(probe.event.classification, 'scanner')
  const page = await eventOf(h, '/about')
  t.equal(page.event.classification, 'unknown', 'every not-found request is classified, as today')
})

test('a catch-all registered before the plugin is still recognised', async (t) => {
  const file = join(tempDir(), 'events.ndjson')
  const app = Fastify()
  app.get('/*', async () => INDEX)
  app.get('/api/health', async () => ({ ok: true }))
  await app.register(appFirewall, { mode: 'local', localLogPath: file, cloudflareRefreshMs: 0 })
  t.teardown(() => app.close())
  for (const url of ['/.env', '/about', '/api/health']) t.equal((await app.inject({ url })).statusCode, 200, url)
  await app.appfirewall.flush(2000)
  const [probe, page, health] = readEvents(file)
  t.equal(probe?.classification, 'scanner')
  t.equal(probe?.certainty, 'certain')
  t.notOk('classification' in (page as object))
  t.notOk('classification' in (health as object))
})

test('a proxy\'s root catch-all (all methods), registered before the plugin, is not taken for an SPA', async (t) => {
  for (const add of [(app: FastifyInstance) => app.all('/*', async () => 'proxied')]) {
    const file = join(tempDir(), 'events.ndjson')
    const app = Fastify()
    add(app)
    await app.register(appFirewall, { mode: 'local', localLogPath: file, cloudflareRefreshMs: 0 })
    t.teardown(() => app.close())
    t.equal((await app.inject({ url: '/.env' })).statusCode, 200)
    await app.appfirewall.flush(2000)
    t.notOk('classification' in (readEvents(file)[0] as object))
  }
})

test('a catch-all registered before the plugin, not awaited, is still recognised', async (t) => {
  const file = join(tempDir(), 'events.ndjson')
  const app = Fastify()
  app.register(appFirewall, { mode: 'local', localLogPath: file, cloudflareRefreshMs: 0 })
  app.get('/*', async () => INDEX) // registered at once, before the plugin has loaded
  t.teardown(() => app.close())
  t.equal((await app.inject({ url: '/.git/config' })).statusCode, 200)
  await app.appfirewall.flush(2000)
  t.equal(readEvents(file)[0]?.classification, 'scanner')
})

test('a probe answered by a catch-all counts against its client\'s limits like a 404 probe', async (t) => {
  const h = await build(t, { rateLimit: { 'scanner-certain': { max: 0, windowMs: 86_400_000 } } })
  await h.app.inject({ url: '/.env', remoteAddress: '198.51.100.50' })
  await h.app.inject({ url: '/about', remoteAddress: '198.51.100.51' })
  const events = await h.events()
  t.equal(events[0]?.would_block, true, 'the certain probe marks its IP')
  t.notOk('would_block' in (events[1] as object), 'a page does not')
})

test('with classify404 off, nothing answered by a catch-all is classified', async (t) => {
  const h = await build(t, { classify404: false })
  const { event } = await eventOf(h, '/.env')
  t.notOk('classification' in event)
})

test('with enforcement, a probe answered by a catch-all is refused like the 404 it stands for; the app\'s pages are not', async (t) => {
  const h = await build(t, { enforceRateLimit: true })
  const ip = '203.0.113.77'
  const browser = { 'accept-language': 'en', 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0' }
  const get = async (url: string): Promise<number> => (await h.app.inject({ url, remoteAddress: ip, headers: browser })).statusCode
  t.equal(await get('/about'), 200)
  t.equal(await get('/.git/config'), 429, 'a certain probe passes scanner-certain (max 0): its own answer becomes the 429')
  t.equal(await get('/.env'), 429, 'and so does every later probe of the IP')
  t.equal(await get('/about'), 200, 'a page of the app still serves it (enforceScope "not-found")')
  t.equal(await get('/api/health'), 200)
  const events = (await h.events()).filter((e) => e.ip === ip)
  t.same(events.map((e) => [e.status, e.blocked === true]), [[200, false], [429, true], [429, true], [200, false], [200, false]])
})

test('only the path of a request a catch-all answered is classified: a search on an SPA page is the app\'s query', async (t) => {
  const h = await build(t)
  for (const url of ['/search?q=%3Cscript%3Ealert(1)%3C/script%3E', '/search?q=java.lang.Runtime', "/search?q=' or 1=1--", '/files?path=../../etc/passwd']) {
    const { status, event } = await eventOf(h, url)
    t.equal(status, 200, url)
    t.notOk('classification' in event, `${url}: not classified`)
  }
  const { event } = await eventOf(h, '/.env?x=1')
  t.equal(event.classification, 'scanner', 'a probe path with a query still is one')
})

test('a root catch-all that also answers OPTIONS (a CORS preflight) is still an SPA\'s', async (t) => {
  const h = await localApp(t)
  h.app.route({ method: ['GET', 'HEAD', 'OPTIONS'], url: '/*', handler: async () => INDEX })
  const { event } = await eventOf(h, '/.env')
  t.equal(event.classification, 'scanner')
})
