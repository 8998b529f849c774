// Edge sync through the plugin: a real Fastify app in local mode, blocks of
// its limiter listed in a local stand-in of Cloudflare's Lists API (the real
// `cloudflare` client talks to it), and removed when they end.
import { test, type Test } from 'tap'
import Fastify from 'fastify'
import { createServer, type Server } from 'node:net'
import { once } from 'node:events'
import appFirewall from '../lib/index'
import type { AppFirewallOptions } from '../lib/types'
import { localApp, pluginLogs, waitFor, within } from './fixtures'
import { startFakeCloudflare, type FakeCloudflare } from './fixtures/cloudflare-lists'

const ACCOUNT = '0123456789abcdef0123456789abcdef'
const LIST = 'fedcba9876543210fedcba9876543210'

async function fake (t: Test, opts: Parameters<typeof startFakeCloudflare>[0] = {}): Promise<FakeCloudflare> {
  const cf = await startFakeCloudflare({ accountId: ACCOUNT, listId: LIST, ...opts })
  t.teardown(() => cf.close())
  return cf
}

function edge (cf: FakeCloudflare, extra: Record<string, unknown> = {}): AppFirewallOptions['edge'] {
  return { cloudflare: { accountId: ACCOUNT, listId: LIST, apiToken: cf.token, baseUrl: cf.url, syncIntervalMs: 1000, ...extra } }
}

/** IPs of every item the fake was asked to add, over its life, in order. */
function addedIps (cf: FakeCloudflare): string[] {
  return cf.requests.filter((r) => r.method === 'POST').flatMap((r) => (r.body as Array<{ ip: string }>).map((i) => i.ip))
}

test('a blocked IP is listed with a comment, an IPv6 client as its /64, and both leave the list when their block ends', async (t) => {
  const cf = await fake(t)
  const h = await localApp(t, {
    enforceRateLimit: true,
    rateLimit: { 'scanner-certain': { max: 0, windowMs: 4000 } },
    edge: edge(cf)
  })
  await h.app.ready()
  const started = Date.now()
  // max 0 marks at the first certain probe, refused before routing.
  t.equal((await h.app.inject({ url: '/.env', remoteAddress: '203.0.113.7' })).statusCode, 429)
  t.equal((await h.app.inject({ url: '/.git/config', remoteAddress: '2001:db8:1:2::5' })).statusCode, 429)
  t.equal((await h.app.inject({ url: '/.env', remoteAddress: '203.0.113.7' })).statusCode, 429, 'the block holds at the origin meanwhile')

  await waitFor(() => cf.items.size === 2, 8000, 'both keys listed')
  const v4 = cf.items.get('203.0.113.7')
  const v6 = cf.items.get('2001:db8:1:2::/64')
  t.ok(v4 !== undefined && v6 !== undefined, `listed as ${Array.from(cf.items.keys()).join(', ')}`)
  t.match(v4?.comment, /^appfirewall-fastify scanner-certain blocked \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ until \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, 'the comment names the rule and the times')
  t.equal(cf.requests.filter((r) => r.method === 'POST').length, 1, 'both went in one batch')
  const s = h.app.appfirewall.stats().edge
  t.equal(s?.leader, true)
  t.equal(s?.offered, 2)

  // The stand-in applies a removal when it answers the poll; the sync counts it when it reads that answer.
  await waitFor(() => cf.items.size === 0 && h.app.appfirewall.stats().edge?.removed === 2, 12_000, 'both keys removed when their block ended')
  t.ok(Date.now() - started >= 3500, 'not before the block ended')
  const after = h.app.appfirewall.stats().edge
  t.equal(after?.added, 2)
  t.equal(after?.removed, 2)
  t.equal(after?.listed, 0)
  t.equal(cf.maxPendingOps, 1, 'never two bulk operations pending at once')
  t.equal(cf.refusedWhilePending, 0, 'no write was sent while an operation was pending')
  t.same(addedIps(cf).sort(), ['2001:db8:1:2::/64', '203.0.113.7'], 'each added once')
})

test('shadow mode lists nothing unless includeShadow is set; with it, would_block IPs are listed', async (t) => {
  const cf = await fake(t)
  const warnings: Array<{ code?: string, message: string }> = []
  const onWarning = (w: Error & { code?: string }): void => { warnings.push(w) }
  process.on('warning', onWarning)
  t.teardown(() => { process.off('warning', onWarning) })
  const quiet = await localApp(t, { rateLimit: { 'scanner-certain': { max: 0, windowMs: 60_000 } }, edge: edge(cf) })
  await quiet.app.ready()
  await new Promise((resolve) => setImmediate(resolve))
  t.ok(warnings.some((w) => w.code === 'APPFIREWALL_EDGE_IDLE' && /includeShadow is not set/.test(w.message)), 'and a process warning, for apps whose logger is off')
  t.match(pluginLogs(quiet.logs).map((l) => l.msg).join('\n'), /edge sync is configured but idle: enforceRateLimit is false/, 'one warning says why nothing will be listed')
  t.equal(quiet.app.appfirewall.stats().edge, null)

  const h = await localApp(t, { rateLimit: { 'scanner-certain': { max: 0, windowMs: 60_000 } }, edge: edge(cf, { includeShadow: true }) })
  await h.app.ready()
  t.equal((await h.app.inject({ url: '/.env', remoteAddress: '198.51.100.20' })).statusCode, 404)
  t.equal((await h.app.inject({ url: '/.env', remoteAddress: '198.51.100.20' })).statusCode, 404, 'shadow mode still answers')
  await waitFor(() => cf.items.has('198.51.100.20'), 8000, 'the shadow-marked IP listed')
  const events = await h.events()
  t.ok(events.some((e) => e.would_block === true), 'its events carry would_block')
})

test('classes: only the named classes are listed', async (t) => {
  const cf = await fake(t)
  const h = await localApp(t, {
    enforceRateLimit: true,
    rateLimit: { 'scanner-certain': { max: 0, windowMs: 60_000 }, probing: { max: 1, windowMs: 60_000 } },
    edge: edge(cf, { classes: ['scanner-certain'] })
  })
  await h.app.ready()
  for (const p of ['/a-missing-page', '/another-missing-page', '/third-missing-page']) await h.app.inject({ url: p, remoteAddress: '198.51.100.30' })
  await h.app.inject({ url: '/.env', remoteAddress: '198.51.100.31' })
  await waitFor(() => cf.items.has('198.51.100.31'), 8000, 'the certain probe listed')
  t.notOk(cf.items.has('198.51.100.30'), 'the probing block is not listed')
  t.equal(h.app.appfirewall.stats().edge?.offered, 1)
})

test('requests never wait on the edge sync: with Cloudflare unreachable or hanging, answers are as without it', async (t) => {
  // A server that accepts connections and never answers: every call hangs until its timeout.
  const sockets = new Set<import('node:net').Socket>()
  const hang: Server = createServer((s) => { sockets.add(s) })
  hang.listen(0, '127.0.0.1')
  await once(hang, 'listening')
  t.teardown(() => { for (const s of sockets) s.destroy(); hang.close() })
  const port = (hang.address() as { port: number }).port
  const h = await localApp(t, {
    enforceRateLimit: true,
    rateLimit: { 'scanner-certain': { max: 0, windowMs: 60_000 } },
    closeGraceMs: 500,
    edge: { cloudflare: { accountId: ACCOUNT, listId: LIST, apiToken: 'tok', baseUrl: `http://127.0.0.1:${port}/client/v4`, syncIntervalMs: 1000 } }
  })
  h.app.get('/ok', async () => 'ok')
  await h.app.ready()
  for (let i = 0; i < 50; i++) {
    const ip = `198.51.100.${i + 1}`
    t.equal((await within(h.app.inject({ url: '/.env', remoteAddress: ip }), 1000, 'an answer')).statusCode, 429, 'refused at the origin as without edge sync')
  }
  t.equal((await h.app.inject({ url: '/ok', remoteAddress: '198.51.100.1' })).statusCode, 200)
  await waitFor(() => sockets.size > 0, 5000, 'the sync calling the hanging server')
  t.equal(h.app.appfirewall.stats().edge?.offered, 50)
  const t0 = Date.now()
  await within(h.app.close(), 3000, 'close')
  t.ok(Date.now() - t0 < 2000, `close() stays bounded with a call hanging (${Date.now() - t0} ms)`)
})

test('edge options: coded errors that name the option, never the token', async (t) => {
  const bad = async (opts: Record<string, unknown>, env: Record<string, string | undefined> = {}): Promise<Error & { code?: string }> => {
    const saved = { ...process.env }
    Object.assign(process.env, env)
    for (const [k, v] of Object.entries(env)) if (v === undefined) Reflect.deleteProperty(process.env, k)
    const app = Fastify()
    try {
      await app.register(appFirewall, { mode: 'local', localLogPath: '/tmp/afw-edge-opts.ndjson', cloudflareRefreshMs: 0, ...opts })
      await app.ready()
      throw new Error('register did not fail')
    } catch (err) {
      return err as Error & { code?: string }
    } finally {
      process.env = saved
      await app.close()
    }
  }
  const listName = await bad({ edge: { cloudflare: { accountId: ACCOUNT, listId: 'appfirewall_blocked', apiToken: 'secret-token-123' } } })
  t.equal(listName.code, 'FST_APPFIREWALL_INVALID_OPTIONS')
  t.match(listName.message, /"edge\.cloudflare\.listId" must be the list's id \(32 hex characters\), got "appfirewall_blocked", which looks like a list name; GET \/accounts\/\{account_id\}\/rules\/lists shows the id/)
  t.notMatch(listName.message, /secret-token-123/, 'the token is not in the message')

  const noToken = await bad({ edge: { cloudflare: { accountId: ACCOUNT, listId: LIST } } }, { CLOUDFLARE_API_TOKEN: undefined })
  t.equal(noToken.code, 'FST_APPFIREWALL_INVALID_OPTIONS')
  t.match(noToken.message, /"edge\.cloudflare\.apiToken" is required .*CLOUDFLARE_API_TOKEN/)

  const badToken = await bad({ edge: { cloudflare: { accountId: ACCOUNT, listId: LIST, apiToken: 'has a space\n' } } })
  t.match(badToken.message, /"edge\.cloudflare\.apiToken" must be visible ASCII/)
  t.notMatch(badToken.message, /has a space/)

  const typo = await bad({ edge: { cloudflare: { accountId: ACCOUNT, listId: LIST, apiToken: 'x', maxItem: 5 } } })
  t.match(typo.message, /unknown key "maxItem" in "edge\.cloudflare"/)

  const cls = await bad({ rateLimit: { scanner: { max: 1, windowMs: 1000 } }, edge: { cloudflare: { accountId: ACCOUNT, listId: LIST, apiToken: 'x', classes: ['scanner-certain'] } } })
  t.match(cls.message, /"edge\.cloudflare\.classes" must name classes that rateLimit limits \(scanner\), got "scanner-certain"/)

  const url = await bad({ edge: { cloudflare: { accountId: ACCOUNT, listId: LIST, apiToken: 'x', baseUrl: 'ftp://x' } } })
  t.match(url.message, /"edge\.cloudflare\.baseUrl" must be an http\(s\) URL/)
})

test('the token may come from CLOUDFLARE_API_TOKEN', async (t) => {
  const cf = await fake(t)
  const saved = process.env.CLOUDFLARE_API_TOKEN
  process.env.CLOUDFLARE_API_TOKEN = cf.token
  t.teardown(() => { if (saved === undefined) delete process.env.CLOUDFLARE_API_TOKEN; else process.env.CLOUDFLARE_API_TOKEN = saved })
  const h = await localApp(t, {
    enforceRateLimit: true,
    rateLimit: { 'scanner-certain': { max: 0, windowMs: 60_000 } },
    edge: { cloudflare: { accountId: ACCOUNT, listId: LIST, baseUrl: cf.url, syncIntervalMs: 1000 } }
  })
  await h.app.ready()
  await h.app.inject({ url: '/.env', remoteAddress: '198.51.100.40' })
  await waitFor(() => cf.items.has('198.51.100.40'), 8000, 'listed with the token from the environment')
  t.ok(cf.requests.every((r) => r.authorization === `Bearer ${cf.token}`))
})
