'use strict'
// What edge sync costs an app (run by hand: `npm run bench:edge`):
//  1. loading the `cloudflare` client, once per process, when `edge` is set:
//     wall time of require() and the RSS and heap it adds, median of 5 fresh
//     processes, beside the same process without it;
//  2. a flood of blocks on the request path: offer() of 1 000 000 distinct
//     keys (a /48 rotating attacker blocked once per /64) while the sync cannot
//     hand them over. Time per offer, and what stays held (bounded by MAX_OFFERS).
// Nothing here talks to Cloudflare: the sync is never started.
const { execFileSync } = require('node:child_process')
const path = require('node:path')

const dist = path.join(__dirname, '..', 'dist')

function child (withClient) {
  const code = `
    globalThis.gc(); const a = process.memoryUsage(); const t = process.hrtime.bigint()
    ${withClient ? "const C = require('cloudflare'); new C({ apiToken: 'x', maxRetries: 0 }).rules.lists.items" : ''}
    const ms = Number(process.hrtime.bigint() - t) / 1e6; globalThis.gc(); const b = process.memoryUsage()
    process.stdout.write(JSON.stringify({ ms, rss: b.rss - a.rss, heap: b.heapUsed - a.heapUsed }))`
  return JSON.parse(execFileSync(process.execPath, ['--expose-gc', '-e', code], { cwd: path.join(__dirname, '..') }).toString())
}

const median = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)]

function loadCost () {
  const runs = { without: [], with: [] }
  for (let i = 0; i < 5; i++) {
    runs.without.push(child(false))
    runs.with.push(child(true))
  }
  const row = (name, rs) => console.log(`${name.padEnd(22)} ${median(rs.map((r) => r.ms)).toFixed(1).padStart(8)} ms ${(median(rs.map((r) => r.rss)) / 1048576).toFixed(1).padStart(7)} MB RSS ${(median(rs.map((r) => r.heap)) / 1048576).toFixed(1).padStart(7)} MB heap`)
  console.log('loading the client (median of 5 processes)')
  row('without', runs.without)
  row("require('cloudflare')", runs.with)
}

function offerFlood () {
  const { EdgeSync } = require(path.join(dist, 'edge', 'sync.js'))
  const { LocalCoordinator } = require(path.join(dist, 'edge', 'coordinator.js'))
  const never = () => new Promise(() => {})
  const sync = new EdgeSync({
    api: { add: never, remove: never, operation: never, page: never },
    coordinator: new LocalCoordinator(2000),
    maxItems: 1000,
    intervalMs: 10_000,
    minListedMs: 0,
    classes: undefined,
    log: { warn () {}, info () {} }
  })
  const N = 1_000_000
  const key = (i) => `2001:db8:${(i >> 16).toString(16)}:${(i & 0xffff).toString(16)}::/64`
  globalThis.gc()
  const before = process.memoryUsage().heapUsed
  const now = Date.now()
  const t = process.hrtime.bigint()
  // The key is made in the loop, as the limiter makes it per request: its cost is in the figure.
  for (let i = 0; i < N; i++) sync.offer(key(i), 'scanner-certain', 60_000, now)
  const ns = Number(process.hrtime.bigint() - t) / N
  globalThis.gc()
  const s = sync.stats()
  console.log(`\noffer() of ${N} distinct keys (each made in the loop): ${ns.toFixed(0)} ns each; queued ${s.queued}, dropped ${s.dropped}; heap held afterwards ${((process.memoryUsage().heapUsed - before) / 1048576).toFixed(1)} MB`)
}

console.log(`node ${process.version}, ${require('node:os').cpus()[0].model}, ${require('node:os').cpus().length} cores`)
loadCost()
offerFlood()
