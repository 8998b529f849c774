'use strict'
// One server of the HTTP suite (benchmarks/http.bench.js):
//   node benchmarks/server.js <config> <ingest port>
// prints "port N" once listening on 127.0.0.1, then answers the parent over
// IPC (each message { id, cmd }, each answer { id, ... }):
//   mark     start a measured window: flush the plugin's queue (the shipping
//            of earlier requests stays outside), then read process.cpuUsage()
//   measure  end it: flush again (the window's own events are shipped inside
//            it), then the CPU time used since `mark`, user + system, all
//            threads (GC and compiler threads included), and the requests
//            served in the window
//   stats    flush, then app.appfirewall.stats() (null without the plugin)
//            and the requests served since start
//   close    app.close() (the plugin's flush on close is bounded), remove the
//            local-mode file, exit
// Every flush is bounded (10 s). The plugin is loaded from dist/ (npm run
// bench builds it first), or from APPFIREWALL_DIST (AFW_DIST, the name
// instructions.bench.js reads, also works) to measure a private build.
const { join, resolve } = require('node:path')
const { tmpdir } = require('node:os')
const { rmSync } = require('node:fs')

const DIST = resolve(process.env.APPFIREWALL_DIST || process.env.AFW_DIST || join(__dirname, '..', 'dist'))
const FLUSH_MS = 10_000

/**
 * The configurations: what each registers, and whether it trusts the peer as
 * a load balancer behind Cloudflare (the load generator then sends the
 * headers that path adds, see suite/workloads.js). Plugin options other than
 * the ones shown are the defaults, except that the ingest is the suite's own
 * on 127.0.0.1 and cloudflareRefreshMs is 0 (nothing leaves the machine).
 */
const CONFIGS = {
  bare: { doc: 'Fastify, hello world, no plugin' },
  off: { doc: 'plugin, mode off', plugin: { mode: 'off' } },
  local: { doc: 'plugin, mode local (NDJSON appended to a tmp file)', plugin: { mode: 'local' } },
  ship: { doc: 'plugin, mode ship, default options', plugin: { mode: 'ship' } },
  // What a site enforcing behind Cloudflare runs: Cloudflare -> its load
  // balancer (here 127.0.0.1) -> the app, default limits (10 scanner 404s a
  // minute per client IP). The clients are the 65 536 addresses the
  // generator puts in cf-connecting-ip, none of which reaches the limit.
  'ship+enforce': {
    doc: 'ship, enforceRateLimit: true, trustedProxies: cloudflare + 127.0.0.1 (the load balancer)',
    plugin: { mode: 'ship', enforceRateLimit: true, trustedProxies: ['cloudflare', '127.0.0.1'] },
    cf: true
  },
  // Not in the default set: ship+enforce without enforcement, to tell the
  // cost of resolving the forwarded client IP from the cost of enforcing.
  'ship+cf': {
    doc: 'ship, trustedProxies: cloudflare + 127.0.0.1, shadow mode',
    plugin: { mode: 'ship', trustedProxies: ['cloudflare', '127.0.0.1'] },
    cf: true
  },
  ratelimit: { doc: '@fastify/rate-limit, max 1e9 (never limits), in-memory store', rateLimit: { max: 1e9, timeWindow: 60_000 } }
}

async function main () {
  const name = process.argv[2] ?? 'bare'
  const config = CONFIGS[name]
  if (config === undefined) throw new Error(`unknown config ${name} (${Object.keys(CONFIGS).join(', ')})`)
  const ingestPort = process.argv[3] ?? '9'
  const localLogPath = join(tmpdir(), `afw-bench-${process.pid}.ndjson`)

  const app = require('fastify')()
  if (config.rateLimit !== undefined) await app.register(require('@fastify/rate-limit'), config.rateLimit)
  if (config.plugin !== undefined) {
    await app.register(require(join(DIST, 'index.js')), {
      apiKey: 'bench',
      endpoint: `http://127.0.0.1:${ingestPort}/v1/events`,
      localLogPath,
      cloudflareRefreshMs: 0,
      ...config.plugin
    })
  }
  app.get('/', async () => ({ hello: 'world' }))
  const address = await app.listen({ host: '127.0.0.1', port: 0 })
  // Requests served, counted where Node hands them to Fastify, the same way
  // in every configuration (one extra call per request): the denominator of
  // CPU per request and of shipped/served, independent of the plugin.
  // (A listener of its own: the server's listeners are left in their order,
  // the plugin's own 'request' listener first.)
  let served = 0
  app.server.prependListener('request', () => { served++ })

  const flush = () => app.appfirewall?.flush(FLUSH_MS)
  let cpu = process.cpuUsage()
  let servedAtMark = 0
  const handlers = {
    async mark () { await flush(); cpu = process.cpuUsage(); servedAtMark = served; return {} },
    async measure () {
      const flushed = await flush()
      const used = process.cpuUsage(cpu)
      return { cpuUs: used.user + used.system, served: served - servedAtMark, flushed: flushed !== false }
    },
    async stats () { await flush(); return { served, stats: app.appfirewall?.stats() ?? null } },
    async close () {
      await app.close()
      rmSync(localLogPath, { force: true })
      setImmediate(() => process.exit(0))
      return {}
    }
  }
  process.on('message', async ({ id, cmd }) => {
    process.send({ id, ...await handlers[cmd]() })
  })
  process.stdout.write(`port ${new URL(address).port}\n`)
}

if (require.main === module) main().catch((err) => { console.error(err); process.exit(1) })
module.exports = { CONFIGS, DIST }
