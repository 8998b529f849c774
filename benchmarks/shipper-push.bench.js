'use strict'

// Cost of Batcher.push (the sink of both modes, here in front of the HTTP
// exporter), the only shipping work on the request path: a counter, a store
// into the preallocated ring and (once per full batch) a setImmediate. Measured synchronously, so no batch is sent meanwhile: first
// filling an empty queue, then pushing into a full one (drop-oldest, the
// overload case). The ring alone is shown for comparison.
//
//   npm run build && node benchmarks/shipper-push.bench.js
//
// AFW_DIST=<dir> points at another compiled lib/ (default ../dist).

const path = require('node:path')
const dist = process.env.AFW_DIST ?? path.join(__dirname, '..', 'dist')
const { Batcher } = require(path.join(dist, 'ship/batcher.js'))
const { HttpExporter } = require(path.join(dist, 'ship/http-exporter.js'))
const { Counters } = require(path.join(dist, 'counters.js'))
const { EventQueue } = require(path.join(dist, 'ship/queue.js'))

const ROUNDS = Number(process.env.ROUNDS ?? 5)
const N = Number(process.env.N ?? 2_000_000)
const line = '{"type":"http_request","ts":"2026-01-01T00:00:00.000Z","ip":"203.0.113.7","method":"GET","path":"/wp-login.php","status":404,"classification":"scanner"}'

function makeSink () {
  const counters = new Counters()
  const log = { warn () {}, info () {} }
  const exporter = new HttpExporter({
    // Nothing listens there; nothing is sent while the loop below runs anyway.
    endpoint: 'http://127.0.0.1:9/v1/events',
    apiKey: 'bench',
    userAgent: 'bench',
    counters,
    log,
    requestTimeoutMs: 5000,
    retryDeadlineMs: 30000,
    maxRetryAfterMs: 300000,
    breakerThreshold: 5,
    breakerCooldownMs: 30000,
    gzipLevel: 1
  })
  return new Batcher({ exporter, counters, log, queueSize: 10000, batchSize: 500, flushIntervalMs: 600000 })
}

function time (fn, n) {
  const t0 = process.hrtime.bigint()
  fn(n)
  return Number(process.hrtime.bigint() - t0) / n
}

async function main () {
  const rows = { 'push into an empty queue (10 000)': [], 'push into a full queue (drop oldest)': [], 'EventQueue.push alone, full': [] }
  for (let r = 0; r < ROUNDS; r++) {
    const s = makeSink()
    rows['push into an empty queue (10 000)'].push(time((n) => { for (let i = 0; i < n; i++) s.push(line) }, 10000))
    rows['push into a full queue (drop oldest)'].push(time((n) => { for (let i = 0; i < n; i++) s.push(line) }, N))
    await s.close(0)
    const ring = new EventQueue(10000, 16 * 1024 * 1024)
    for (let i = 0; i < 10000; i++) ring.push(line, false)
    rows['EventQueue.push alone, full'].push(time((n) => { for (let i = 0; i < n; i++) ring.push(line, false) }, N))
  }
  console.log(`shipper-push: node ${process.version}, ${ROUNDS} rounds, median ns per call`)
  for (const [name, v] of Object.entries(rows)) {
    v.sort((a, b) => a - b)
    console.log(`  ${name.padEnd(40)} ${v[Math.floor(v.length / 2)].toFixed(1)} ns`)
  }
}

main().catch((err) => {
  console.error(err)
  process.exitCode = 1
})
