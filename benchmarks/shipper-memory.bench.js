'use strict'

// 1 000 000 events pushed into the ship-mode sink (a Batcher in front of the
// HttpExporter) while the ingest (a child process on 127.0.0.1) answers each
// POST only after DELAY_MS. Samples RSS and heapUsed every 20 ms and prints
// their peaks, what was sent (checked against what the ingest counted) and
// what was dropped, by reason. The point: a slow ingest costs events
// (counted), never memory.
//
//   npm run build && node benchmarks/shipper-memory.bench.js
//   N=1000000 RATE=100000 DELAY_MS=200 node benchmarks/shipper-memory.bench.js
//
// RATE: events per second pushed (0 = as fast as the loop allows, in bursts
// of 1000 per macrotask, so the sink's I/O still runs in between).
// AFW_DIST=<dir> points at another compiled lib/ (default ../dist).

const path = require('node:path')
const { fork } = require('node:child_process')

if (process.argv[2] === '--ingest') {
  runIngest(Number(process.env.DELAY_MS ?? 200))
} else {
  main().catch((err) => {
    console.error(err)
    process.exitCode = 1
  })
}

function runIngest (delayMs) {
  const http = require('node:http')
  const zlib = require('node:zlib')
  let lines = 0
  let requests = 0
  const server = http.createServer((req, res) => {
    const chunks = []
    req.on('data', (c) => chunks.push(c))
    req.on('end', () => {
      const text = zlib.gunzipSync(Buffer.concat(chunks)).toString('utf8')
      let n = 0
      for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) n++
      setTimeout(() => {
        lines += n
        requests++
        res.end()
      }, delayMs)
    })
  })
  server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }))
  process.on('message', (m) => {
    if (m === 'count') process.send({ lines, requests })
    if (m === 'exit') process.exit(0)
  })
}

async function main () {
  const dist = process.env.AFW_DIST ?? path.join(__dirname, '..', 'dist')
  const { Batcher } = require(path.join(dist, 'ship/batcher.js'))
  const { HttpExporter } = require(path.join(dist, 'ship/http-exporter.js'))
  const { Counters } = require(path.join(dist, 'counters.js'))
  const { USER_AGENT } = require(path.join(dist, 'version.js'))

  const N = Number(process.env.N ?? 1_000_000)
  const RATE = Number(process.env.RATE ?? 0)
  const DELAY_MS = Number(process.env.DELAY_MS ?? 200)

  const ingest = fork(__filename, ['--ingest'], { env: { ...process.env, DELAY_MS: String(DELAY_MS) } })
  const ask = (msg) => new Promise((resolve) => {
    ingest.once('message', resolve)
    ingest.send(msg)
  })
  const { port } = await new Promise((resolve) => ingest.once('message', resolve))

  const counters = new Counters()
  const log = { warn: (o, m) => console.log(`  [warn] ${m}`), info () {} }
  // Plugin defaults, apart from the endpoint.
  const exporter = new HttpExporter({
    endpoint: `http://127.0.0.1:${port}/v1/events`,
    apiKey: 'bench',
    userAgent: USER_AGENT,
    counters,
    log,
    requestTimeoutMs: 5000,
    retryDeadlineMs: 30000,
    maxRetryAfterMs: 300000,
    breakerThreshold: 5,
    breakerCooldownMs: 30000,
    gzipLevel: 1
  })
  const sink = new Batcher({ exporter, counters, log, queueSize: 10000, batchSize: 500, flushIntervalMs: 2000 })

  const mem0 = process.memoryUsage()
  let peakRss = mem0.rss
  let peakHeap = mem0.heapUsed
  const sampler = setInterval(() => {
    const m = process.memoryUsage()
    if (m.rss > peakRss) peakRss = m.rss
    if (m.heapUsed > peakHeap) peakHeap = m.heapUsed
  }, 20)

  // A realistic http_request line (~230 bytes), varied so gzip has work to do.
  const line = (i) => `{"type":"http_request","ts":"${new Date().toISOString()}","ip":"203.0.${(i >> 8) & 255}.${i & 255}","method":"GET","path":"/wp-login.php?i=${i}","status":404,"ua":"Mozilla/5.0 (bench)","cf_country":"NL","cf_ray":"8f${i.toString(16)}-AMS","classification":"scanner","rule":"cms"}`

  const started = Date.now()
  let i = 0
  await new Promise((resolve) => {
    const burst = () => {
      const target = RATE > 0 ? Math.min(N, Math.floor((Date.now() - started) * RATE / 1000)) : Math.min(N, i + 1000)
      while (i < target) sink.push(line(i++))
      if (i >= N) resolve()
      else if (RATE > 0) setTimeout(burst, 1)
      else setImmediate(burst)
    }
    burst()
  })
  const pushMs = Date.now() - started
  const flushed = await sink.flush(30000)
  await sink.close(5000)
  clearInterval(sampler)
  const s = counters.snapshot('ship', sink.queued(), sink.inFlight(), null)
  const got = await ask('count')
  ingest.send('exit')

  const mb = (b) => (b / 1024 / 1024).toFixed(1)
  const dropped = Object.entries(s.dropped).filter(([, v]) => v > 0).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'
  console.log(`shipper-memory: N=${N} RATE=${RATE || 'max'} ingest delay ${DELAY_MS} ms/request, node ${process.version}`)
  console.log(`  pushed in ${pushMs} ms (${Math.round(N / pushMs * 1000)} events/s), flush ${flushed ? 'completed' : 'timed out'}, total ${Date.now() - started} ms`)
  console.log(`  emitted ${s.emitted}, sent ${s.sent} in ${s.batches} batches (ingest counted ${got.lines} in ${got.requests} requests), dropped: ${dropped}`)
  console.log(`  accounted: ${s.sent + Object.values(s.dropped).reduce((a, b) => a + b, 0) + s.queued + s.inFlight === s.emitted ? 'yes' : 'NO'} (emitted = sent + dropped + queued + inFlight)`)
  console.log(`  RSS: start ${mb(mem0.rss)} MB, peak ${mb(peakRss)} MB; heapUsed: start ${mb(mem0.heapUsed)} MB, peak ${mb(peakHeap)} MB`)
}
