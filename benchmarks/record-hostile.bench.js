'use strict'

// What one record() call costs, whatever it is given: each hostile input is
// recorded ROUNDS x 100 times through the real plugin (local mode, one
// request per 100 calls, so the per-request cap never refuses one), each call
// timed on its own. Prints max, p99 and median in microseconds per input, and
// the max over the calls that no garbage collection ran into (a GC pause is
// the heap's, whoever allocated: a call that meets one is shown in `max`).
//
//   npm run build && node --expose-gc benchmarks/record-hostile.bench.js
//
// ONLY=<regexp> runs the inputs whose label matches. With --expose-gc, a
// full GC runs before each input, so that one input's garbage is not
// collected during the next one's calls.
// AFW_DIST=<dir> points at another compiled lib/ (default ../dist).
// A few inputs cost what V8 charges whoever reads them first, and are shown
// apart: a string built by concatenation (a "rope", such as 'x'.repeat(n)) is
// flattened on its first read, and an object's keys are all listed before the
// first can be read.

const path = require('node:path')
const os = require('node:os')
const fs = require('node:fs')
const { performance, PerformanceObserver } = require('node:perf_hooks')
const dist = path.resolve(process.env.AFW_DIST ?? path.join(__dirname, '..', 'dist'))
const Fastify = require('fastify')
const appFirewall = require(path.join(dist, 'index.js'))

const ROUNDS = Number(process.env.ROUNDS ?? 20)
const PER_REQUEST = 100

function busy (ms) {
  const end = Date.now() + ms
  while (Date.now() < end) { /* a slow trap or getter */ }
}

function sharedReferences () {
  const leaf = Array.from({ length: 100 }, () => 'x'.repeat(20))
  const mid = Array.from({ length: 100 }, () => leaf)
  const top = {}
  for (let i = 0; i < 50; i++) top['k' + i] = mid
  return top
}

function deep (n) {
  let o = { end: true }
  for (let i = 0; i < n; i++) o = { next: o }
  return o
}

function wide (n) {
  const o = {}
  for (let i = 0; i < n; i++) o['key' + i] = i
  return o
}

function body930k () {
  const o = {}
  for (let k = 0; k < 50; k++) o['k' + k] = Array.from({ length: 10 }, (_, j) => String.fromCharCode(97 + (k + j) % 26).repeat(1900))
  return JSON.parse(JSON.stringify(o))
}

function slowProxy () {
  const handler = {}
  for (const trap of ['get', 'has', 'ownKeys', 'getOwnPropertyDescriptor', 'getPrototypeOf']) {
    handler[trap] = (...args) => { busy(10); return Reflect[trap](...args) }
  }
  return { p: new Proxy({ a: 1, b: 2 }, handler), list: [new Proxy([1, 2, 3], handler)] }
}

function slowGetters () {
  const o = {}
  for (let i = 0; i < 50; i++) Object.defineProperty(o, 'g' + i, { enumerable: true, get () { busy(10); return i } })
  return o
}

class Slow {
  toString () { busy(10); return 'slow' }
  toJSON () { busy(10); return 'slow' }
}

function manyWideObjects () {
  // Distinct objects of 200 keys each, 50 of them under each of 50 keys.
  const o = {}
  for (let i = 0; i < 50; i++) o['k' + i] = Array.from({ length: 50 }, () => wide(200))
  return o
}

const inputs = {
  'small {user, attempts}': () => ({ user: 'bob', attempts: 3 }),
  'shared references (2 KB, 51 MB expanded)': sharedReferences,
  'deep chain of 10 000 objects': () => deep(10000),
  'wide: 1000 keys': () => wide(1000),
  '930 KB parsed JSON body': body930k,
  'huge flat string (100 MB)': () => ({ body: Buffer.alloc(100 * 1024 * 1024, 'x').toString('latin1') }),
  'huge array (10 000 000 items)': () => ({ list: new Array(10_000_000).fill(7) }),
  'sparse array (length 2^32-1)': () => ({ list: Object.assign([], { length: 2 ** 32 - 1 }) }),
  'Proxies with 10 ms traps': slowProxy,
  '50 getters of 10 ms each': slowGetters,
  'class with 10 ms toString/toJSON': () => ({ a: new Slow(), b: [new Slow()] }),
  '2 500 distinct objects of 200 keys': manyWideObjects,
  'unicode, escapes and lone surrogates': () => ({ s: '\u0001"\\é漢😀\ud800'.repeat(3000), k: { ['😀'.repeat(300)]: 'x' } }),
  'huge BigInt (10^100000)': () => ({ n: 10n ** 100000n }),
  'huge name (10 MB, flat)': () => ({}),
  'fields is a 1 000 000-item array': () => new Array(1_000_000).fill({ a: 1 })
}
// Shown apart: the first read costs O(size) in V8, whoever reads it.
const firstRead = {
  'rope string: x.repeat(100 MB), new each call': () => ({ body: 'x'.repeat(100 * 1024 * 1024) + String(Math.random()) }),
  'wide: 100 000 keys (V8 lists them all)': () => wide(100_000)
}

// Garbage collections, as [start, end] in performance.now() milliseconds.
const gcs = []
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcs.push([e.startTime, e.startTime + e.duration])
}).observe({ entryTypes: ['gc'] })

/** samples: [µs, start ms, end ms] per call. */
function stats (samples) {
  const clean = samples.filter(([, a, b]) => !gcs.some(([s, e]) => s < b && e > a)).map(([us]) => us)
  const all = samples.map(([us]) => us).sort((a, b) => a - b)
  const at = (q) => all[Math.min(all.length - 1, Math.floor(q * all.length))]
  return { max: all[all.length - 1], p99: at(0.99), median: at(0.5), cleanMax: clean.length === 0 ? NaN : Math.max(...clean) }
}

async function main () {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'afw-record-')), 'events.ndjson')
  const app = Fastify()
  await app.register(appFirewall, { mode: 'local', localLogPath: file, cloudflareRefreshMs: 0, queueSize: 1_000_000, maxQueueBytes: 1024 ** 3 })
  const hugeName = Buffer.alloc(10 * 1024 * 1024, 'n').toString('latin1')
  let calls = PER_REQUEST
  let next = null // () => [name, fields], made outside the timed call
  let times = []
  app.get('/', async (request) => {
    for (let i = 0; i < calls; i++) {
      const [name, fields] = next()
      const a = performance.now()
      const t0 = process.hrtime.bigint()
      request.appfirewall.record(name, fields)
      const us = Number(process.hrtime.bigint() - t0) / 1000
      times.push([us, a, performance.now()])
    }
    return 'ok'
  })
  const run = async (label, make, requests, perRequest, fresh) => {
    const value = fresh ? null : make()
    const name = label.startsWith('huge name') ? hugeName : 'bench'
    next = fresh ? () => [name, make()] : () => [name, value]
    calls = perRequest
    times = []
    for (let r = 0; r < requests; r++) {
      await app.inject({ url: '/' })
      await app.appfirewall.flush(10_000)
    }
    await new Promise((resolve) => setTimeout(resolve, 20)) // the observer's last GC entries
    return stats(times)
  }
  await run('warm-up', inputs['small {user, attempts}'], 5, PER_REQUEST, false)
  const fmt = (x) => x.toFixed(1).padStart(9)
  const row = (label, s) => console.log(`  ${label.padEnd(46)} ${fmt(s.max)} ${fmt(s.p99)} ${fmt(s.median)} ${fmt(s.cleanMax)}`)
  console.log(`record-hostile: node ${process.version}, ${ROUNDS * PER_REQUEST} calls per input, µs per call`)
  console.log(`  ${'input'.padEnd(46)} ${'max'.padStart(9)} ${'p99'.padStart(9)} ${'median'.padStart(9)} ${'max no GC'.padStart(9)}`)
  const only = new RegExp(process.env.ONLY ?? '')
  for (const [label, make] of Object.entries(inputs)) {
    if (!only.test(label)) continue
    globalThis.gc?.()
    await run(label, make, 1, PER_REQUEST, false) // warm-up: the JIT meets the shape of this input
    row(label, await run(label, make, ROUNDS, PER_REQUEST, false))
  }
  console.log('  paid once by whoever reads the value first (5 calls, a new value each):')
  for (const [label, make] of Object.entries(firstRead)) if (only.test(label)) row(label, await run(label, make, 1, 5, true))
  const s = app.appfirewall.stats()
  console.log(`  (emitted ${s.emitted}, clipped ${s.clipped}, ignored over the cap ${s.ignored.overRequestCap})`)
  await app.close()
}

main().catch((err) => {
  console.error(err)
  process.exitCode = 1
})
