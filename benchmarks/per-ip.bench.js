'use strict'

// Per-IP verdicts on the development corpus: how many simulated scanner
// clients the default options mark, and how many users and crawlers.
//
//   npm run bench:classifier        (runs benchmarks/classifier.bench.js, then this)
//   node benchmarks/per-ip.bench.js [--clients N] [--seed S]
//
// A real Fastify app with the built plugin (dist/) in local mode and default
// options answers every request 404 (its not-found handler), through inject.
// A client is marked when onLimited fires for it (what makes its events
// carry `would_block`). The simulation, and where its numbers come from:
// - scanner clients send 1 probe (61 %), 2 to 4 (26 %) or 5 to 20 (13 %),
//   the shares the issue measured on observed traffic; probes are drawn from
//   ../shared/corpus/scanner-dev.txt. They are run twice: once with the
//   headers of an HTTP library (no Accept-Language, as most scanners send),
//   once with a browser's (the worst case: a scanner that mimics one).
// - users follow 1 to 3 links drawn from the legitimate misses of
//   ../shared/corpus/benign-dev.tsv with a browser's headers;
// - crawlers (Googlebot's user agent, no Accept-Language) each fetch 30 of them
//   within the window, and repeat some.
// This is a model, not observed traffic: the issue's held-out check replays
// real access logs. It shows what the policy does, per part of it.

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const dist = path.resolve(process.env.APPFIREWALL_DIST || path.join(__dirname, '..', 'dist'))
const appFirewall = require(path.join(dist, 'index.js')).default
const Fastify = require('fastify')

const corpus = path.join(__dirname, '..', '..', 'shared', 'corpus')
const arg = (name, dflt) => {
  const i = process.argv.indexOf(name)
  return i === -1 ? dflt : Number(process.argv[i + 1])
}
const CLIENTS = arg('--clients', 2000)
let seed = arg('--seed', 11)
// mulberry32: a seeded generator, so that runs compare.
function random () {
  seed = (seed + 0x6d2b79f5) | 0
  let t = seed
  t = Math.imul(t ^ (t >>> 15), t | 1)
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}
const pick = (list) => list[Math.floor(random() * list.length)]
const between = (lo, hi) => lo + Math.floor(random() * (hi - lo + 1))

if (!fs.existsSync(path.join(corpus, 'scanner-dev.txt'))) {
  // The development corpus lives beside the project (../shared/corpus), not in it.
  console.log(`(no development corpus at ${corpus}: the per-IP simulation needs it; skipped)`)
  process.exit(0)
}
const probes = fs.readFileSync(path.join(corpus, 'scanner-dev.txt'), 'utf8').split('\n').filter((l) => l !== '')
const benign = fs.readFileSync(path.join(corpus, 'benign-dev.tsv'), 'utf8').split('\n').filter((l) => l !== '')
  .map((l) => l.split('\t')[1]).filter((p) => p !== undefined && p.startsWith('/'))

const LIBRARY = { 'user-agent': 'python-requests/2.32.3' }
const BROWSER = { 'user-agent': 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0.0.0 Safari/537.36', 'accept-language': 'en-US,en;q=0.9' }
const CRAWLER = { 'user-agent': 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)' }

function probeCount () {
  const r = random()
  return r < 0.61 ? 1 : r < 0.87 ? between(2, 4) : between(5, 20)
}

let ipSeq = 0
function nextIp () {
  ipSeq++
  return `10.${(ipSeq >> 16) & 255}.${(ipSeq >> 8) & 255}.${ipSeq & 255}`
}

async function run (name, clients) {
  const marked = new Map()
  const app = Fastify()
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'afw-perip-'))
  await app.register(appFirewall, {
    mode: 'local',
    localLogPath: path.join(dir, 'e.ndjson'),
    cloudflareRefreshMs: 0,
    onLimited: (ip, info) => { if (!marked.has(ip)) marked.set(ip, info.classification) }
  })
  await app.ready()
  for (const c of clients) {
    for (const url of c.paths) await app.inject({ url, remoteAddress: c.ip, headers: c.headers })
  }
  await app.close()
  fs.rmSync(dir, { recursive: true, force: true })
  const by = {}
  for (const cls of marked.values()) by[cls] = (by[cls] ?? 0) + 1
  const share = (100 * marked.size / clients.length).toFixed(2)
  const buckets = [[1, 1], [2, 4], [5, 20], [21, Infinity]].map(([lo, hi]) => {
    const inB = clients.filter((c) => c.paths.length >= lo && c.paths.length <= hi)
    if (inB.length === 0) return null
    const m = inB.filter((c) => marked.has(c.ip)).length
    return `${lo === hi ? lo : `${lo}-${hi === Infinity ? '' : hi}`} requests: ${(100 * m / inB.length).toFixed(1)}% of ${inB.length}`
  }).filter((x) => x !== null)
  console.log(`${name.padEnd(44)} ${String(marked.size).padStart(5)} of ${String(clients.length).padStart(5)} marked (${share}%)  by class ${JSON.stringify(by)}`)
  console.log(`${''.padEnd(44)} ${buckets.join('; ')}`)
}

async function main () {
  const scannerPaths = Array.from({ length: CLIENTS }, () => Array.from({ length: probeCount() }, () => pick(probes)))
  console.log(`Per-IP verdicts, default options, ${CLIENTS} simulated scanner clients (seed ${arg('--seed', 11)})`)
  await run('scanners, HTTP library headers', scannerPaths.map((paths) => ({ ip: nextIp(), paths, headers: LIBRARY })))
  await run('scanners mimicking a browser (worst case)', scannerPaths.map((paths) => ({ ip: nextIp(), paths, headers: BROWSER })))
  await run('users following 1-3 stale links', Array.from({ length: CLIENTS }, () =>
    ({ ip: nextIp(), paths: Array.from({ length: between(1, 3) }, () => pick(benign)), headers: BROWSER })))
  await run('crawlers, 30 legitimate misses each', Array.from({ length: 50 }, () =>
    ({ ip: nextIp(), paths: Array.from({ length: 30 }, () => pick(benign)), headers: CRAWLER })))
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
