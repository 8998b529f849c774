// Issue 9, item 1: evidence survives floods. A scanner probes the app, then
// another client makes one request whose handler calls record() in a loop.
// Before, the custom events pushed every probe's http_request event out of the
// drop-oldest queue, with a healthy ingest (0 of 300 probes arrived). Now a
// request records at most maxCustomEventsPerRequest events (the rest counted
// under ignored.overRequestCap, not emitted), and custom events never push an
// http_request event out of the queue. Through the real plugin, in both modes:
// ship (a real ingest on 127.0.0.1) and local (the file).
import t from 'tap'
import type { Test } from 'tap'
import Fastify from 'fastify'
import type { FastifyInstance } from 'fastify'
import appFirewall from '../lib/index'
import type { AppFirewallOptions } from '../lib/types'
import { accountedFor, localApp, readEvents, startIngest } from './fixtures'

const SCANNER = '198.51.100.9'
const FLOODER = '203.0.113.50'
const PROBES = ['/.env', '/wp-login.php', '/.git/config', '/phpmyadmin/index.php', '/xmlrpc.php', '/admin.php']

interface Site {
  app: FastifyInstance
  /** Flushes, then returns every event that reached the ingest (ship) or the file (local), parsed. */
  delivered: () => Promise<Array<Record<string, any>>>
  /** Identity checks made inside the flood handler, and how many failed. */
  checks: { made: number, broken: number }
}

async function site (t: Test, mode: 'ship' | 'local', opts: AppFirewallOptions = {}): Promise<Site> {
  let app: FastifyInstance
  let delivered: Site['delivered']
  if (mode === 'local') {
    const h = await localApp(t, opts)
    app = h.app
    delivered = async () => {
      t.equal(await app.appfirewall.flush(20_000), true, 'flushed')
      return readEvents(h.file)
    }
  } else {
    const ingest = await startIngest()
    t.teardown(() => ingest.close())
    app = Fastify()
    await app.register(appFirewall, { mode: 'ship', apiKey: 'k', endpoint: ingest.url, cloudflareRefreshMs: 0, ...opts })
    t.teardown(() => app.close())
    delivered = async () => {
      t.equal(await app.appfirewall.flush(20_000), true, 'flushed')
      return ingest.lines().map((l) => JSON.parse(l) as Record<string, any>)
    }
  }
  const checks = { made: 0, broken: 0 }
  app.get('/flood', async (request) => {
    const n = Number((request.query as { n: string }).n)
    for (let i = 0; i < n; i++) {
      request.appfirewall.record('export.item', { i, sku: 'A-' + i })
      if (i % 997 === 0) {
        // The accounting identity, checked while the flood is under way.
        const s = app.appfirewall.stats()
        checks.made++
        if (s.emitted !== accountedFor(s)) checks.broken++
      }
    }
    return 'ok'
  })
  return { app, delivered, checks }
}

async function probe (app: FastifyInstance, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    await app.inject({ url: `${PROBES[i % PROBES.length] as string}?i=${i}`, remoteAddress: SCANNER })
  }
}

function probesOf (events: Array<Record<string, any>>): number {
  return events.filter((e) => e.type === 'http_request' && e.ip === SCANNER).length
}

for (const mode of ['ship', 'local'] as const) {
  t.test(`${mode}: a scanner's 300 probes, then one request recording 100 000 items: every probe event is delivered`, async (t) => {
    const { app, delivered, checks } = await site(t, mode)
    await probe(app, 300)
    const res = await app.inject({ url: '/flood?n=100000', remoteAddress: FLOODER })
    t.equal(res.statusCode, 200)
    const events = await delivered()
    t.equal(probesOf(events), 300, 'every probe event reached the ingest')
    const custom = events.filter((e) => e.type === 'custom')
    t.equal(custom.length, 100, 'the request recorded up to its cap (maxCustomEventsPerRequest, default 100)')
    t.same(custom.map((e) => e.fields.i), Array.from({ length: 100 }, (_, i) => i), 'its first 100, in order')
    t.ok(custom.every((e) => e.ip === FLOODER && e.path === '/flood'))
    t.equal(events.filter((e) => e.type === 'http_request' && e.ip === FLOODER).length, 1, 'and its own http_request event')
    const s = app.appfirewall.stats()
    t.equal(s.ignored.overRequestCap, 99_900, 'the calls past the cap are counted under ignored.overRequestCap')
    t.equal(s.emitted, 300 + 1 + 100, 'and not emitted')
    t.equal(s.dropped.overflow, 0, 'nothing was dropped')
    t.equal(s.emitted, accountedFor(s), 'emitted = sent + dropped + queued + inFlight')
    t.same(checks.broken, 0, `the identity held at ${checks.made} moments during the flood`)
  })

  t.test(`${mode}: a full queue drops custom events first: the flood never pushes a probe out`, async (t) => {
    // 300 probes wait in a queue of 350 (a batch is 350 and the interval a
    // minute away), then the flood's 100 custom events arrive in one
    // synchronous loop: the last 50 find the queue full. Before, each pushed
    // out the oldest event, a probe.
    const { app, delivered, checks } = await site(t, mode, { queueSize: 350, batchSize: 350, flushIntervalMs: 60_000 })
    await probe(app, 300)
    t.equal(app.appfirewall.stats().queued, 300, 'the probes are queued')
    const res = await app.inject({ url: '/flood?n=100000', remoteAddress: FLOODER })
    t.equal(res.statusCode, 200)
    const events = await delivered()
    t.equal(probesOf(events), 300, 'every probe event reached the ingest')
    t.equal(events.filter((e) => e.type === 'http_request').length, 301, 'no http_request event was lost')
    const custom = events.filter((e) => e.type === 'custom')
    const s = app.appfirewall.stats()
    t.equal(s.ignored.overRequestCap, 99_900)
    t.equal(s.emitted, 300 + 1 + 100)
    t.ok(s.dropped.overflow >= 50, `the queue overflowed (${s.dropped.overflow} dropped)`)
    t.equal(custom.length + s.dropped.overflow, 100, 'every dropped event was a custom one, counted as overflow')
    const kept = custom.map((e) => e.fields.i as number)
    t.ok(kept.every((i, k) => k === 0 || i > (kept[k - 1] as number)), 'the custom events that arrived are in order')
    t.equal(kept[kept.length - 1], 99, 'the newest custom events were kept (drop-oldest among them)')
    t.equal(s.sent, events.length)
    t.equal(s.emitted, accountedFor(s), 'emitted = sent + dropped + queued + inFlight')
    t.same(checks.broken, 0, `the identity held at ${checks.made} moments during the flood`)
  })
}
