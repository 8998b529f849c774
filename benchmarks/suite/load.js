'use strict'
// The load generator of the HTTP suite (benchmarks/http.bench.js), in its own
// process so that it never shares an event loop with the server it measures
// nor with the ingest. The parent sends one job at a time over IPC and gets
// its result back:
//
//   { kind: 'saturate', ... }  closed loop with autocannon: `connections`
//                              sockets, each sending its next request as soon
//                              as the previous answer arrives. Gives the most
//                              the server answers per second.
//   { kind: 'open', rate, ... } open loop: requests leave on a fixed schedule,
//                              one every 1/rate s, whatever the answers do.
//
// Why the open loop is hand-written. A closed-loop client (autocannon, also
// with `overallRate`, which only paces it) waits for an answer before it
// sends again, so when the server stalls it stops sending: the requests that
// would have arrived during the stall are never sent, and the stall shows up
// in one sample instead of in every request it delayed ("coordinated
// omission"). Here each request has a scheduled send time, and its latency is
// measured from that time to the last byte of its answer: a request that had
// to wait (for the server, or for a free socket) is charged for the wait.
//
// How. Raw keep-alive TCP sockets to 127.0.0.1, one request in flight per
// socket (no pipelining, as browsers and proxies do); a request whose time
// has come while every socket is busy waits in a FIFO for the next free one.
// JavaScript timers have 1 ms resolution, far coarser than the spacing at
// these rates (100-500 us), and polling the clock on every turn of the event
// loop would keep a core busy, stealing it from the server whenever anything
// else runs on this 2-core machine. So a worker thread keeps the schedule: it
// sleeps until each send time with Atomics.wait (fractional milliseconds; the
// kernel wakes it some tens of microseconds late) and then wakes this thread
// with a message, which sends every request that is due. Both threads sleep
// in between. The wake-up delay is charged to every configuration alike (it
// shows in `sendLagP99`, the time from scheduled to real send: if that grows,
// the generator, not the server, was late). Requests are pre-built where the stream repeats and answers are
// parsed only as far as their status and content-length, so the generator
// stays light next to the server. Latencies are kept, all of them, in a
// Float64Array and sorted at the end: exact percentiles, no histogram
// buckets.
const net = require('node:net')
const { performance } = require('node:perf_hooks')
const { Worker } = require('node:worker_threads')
const autocannon = require('autocannon')
const { createWorkload } = require('./workloads')

process.on('message', async (job) => {
  try {
    const result = job.kind === 'saturate' ? await saturate(job) : await openLoop(job)
    process.send({ id: job.id, result })
  } catch (err) {
    process.send({ id: job.id, error: err.stack ?? String(err) })
  }
})
process.on('disconnect', () => process.exit(0))

// ------------------------------------------------------------- closed loop

async function saturate ({ port, duration, connections, workload, cf }) {
  const stream = createWorkload(workload, { cf })
  let n = 0
  const simple = workload === 'root' && !cf
  const res = await autocannon({
    url: `http://127.0.0.1:${port}/`,
    connections,
    duration,
    timeout: 10,
    headers: stream.at(0).headers,
    // One request whose setupRequest draws the next of the stream: autocannon
    // rebuilds it before every send. GET / alone keeps autocannon's fast path.
    requests: simple
      ? undefined
      : [{
          setupRequest (req) {
            const next = stream.at(n++)
            req.path = next.path
            req.headers = next.headers
            return req
          }
        }]
  })
  const allowed = new Set(stream.paths.map(stream.status))
  let bad = 0
  for (const [code, { count }] of Object.entries(res.statusCodeStats ?? {})) {
    if (!allowed.has(Number(code))) bad += count
  }
  return {
    requests: res.requests.total,
    seconds: res.duration,
    rps: res.requests.total / res.duration,
    bad,
    errors: res.errors,
    timeouts: res.timeouts
  }
}

// --------------------------------------------------------------- open loop

/** Request number i as bytes: the same request line and headers autocannon writes. */
function requestEncoder (stream, port, cf) {
  const encode = ({ path, headers }) => {
    let text = `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: keep-alive\r\n`
    for (const name in headers) text += `${name}: ${headers[name]}\r\n`
    return Buffer.from(text + '\r\n', 'latin1')
  }
  // Without per-request headers the stream repeats every cycle: encode it once.
  if (!cf) {
    const cycle = stream.paths.map((_, i) => encode(stream.at(i)))
    return (i) => cycle[i % cycle.length]
  }
  return (i) => encode(stream.at(i))
}

function connect (port) {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port, noDelay: true })
    socket.once('connect', () => { socket.removeListener('error', reject); resolve(socket) })
    socket.once('error', reject)
  })
}

// Milliseconds since the epoch, to the microsecond, the same in every thread
// (performance.now() alone counts from each thread's own start).
const now = () => performance.timeOrigin + performance.now()

// The schedule keeper (see the header): wakes the main thread at each send time.
const CLOCK = `
const { parentPort, workerData: { start, interval, total } } = require('node:worker_threads')
const { performance } = require('node:perf_hooks')
const cell = new Int32Array(new SharedArrayBuffer(4))
for (let i = 0; i < total; i++) {
  const wait = start + i * interval - (performance.timeOrigin + performance.now())
  if (wait > 0) Atomics.wait(cell, 0, 0, wait)
  parentPort.postMessage(i)
}`

const HEADER_END = Buffer.from('\r\n\r\n')
const CONTENT_LENGTH = /\r\ncontent-length:[ \t]*(\d+)/i

function percentile (sorted, p) {
  if (sorted.length === 0) return NaN
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]
}

async function openLoop ({ port, rate, duration, connections, workload, cf }) {
  const stream = createWorkload(workload, { cf })
  const encode = requestEncoder(stream, port, cf)
  const expected = stream.paths.map(stream.status)
  const total = Math.max(1, Math.round(rate * duration))
  const interval = 1000 / rate // ms
  const latency = new Float64Array(total)
  const sendLag = new Float64Array(total)
  let completed = 0
  let bad = 0
  let errors = 0
  let waitedForSocket = 0

  const sockets = await Promise.all(Array.from({ length: connections }, () => connect(port)))
  const free = []
  // Scheduled requests that found every socket busy, oldest first.
  const backlog = []
  let backlogHead = 0
  const start = now() + 50 // let the connections settle and the clock thread start
  const due = (i) => start + i * interval

  let finish
  const finished = new Promise((resolve) => { finish = resolve })
  const send = (socket, i) => {
    socket.current = i
    socket.head = null
    socket.bodyLeft = -1
    sendLag[i] = now() - due(i)
    socket.write(encode(i))
  }
  const answered = (socket, status) => {
    const i = socket.current
    latency[i] = now() - due(i)
    if (status !== expected[i % expected.length]) bad++
    socket.current = -1
    if (++completed === total) finish()
    if (backlogHead < backlog.length) {
      send(socket, backlog[backlogHead++])
      if (backlogHead === backlog.length) { backlog.length = 0; backlogHead = 0 }
    } else {
      free.push(socket)
    }
  }
  const failed = (socket) => {
    // The socket is lost; its request counts as answered (with no latency) so the run still ends.
    if (socket.current >= 0) { errors++; latency[socket.current] = NaN; socket.current = -1; if (++completed === total) finish() }
    const at = free.indexOf(socket)
    if (at !== -1) free.splice(at, 1)
  }

  for (const socket of sockets) {
    socket.current = -1
    socket.on('data', (chunk) => {
      // One request in flight per socket: every byte belongs to its answer.
      if (socket.bodyLeft < 0) {
        const head = socket.head === null ? chunk : Buffer.concat([socket.head, chunk])
        const end = head.indexOf(HEADER_END)
        if (end === -1) { socket.head = head; return }
        const text = head.toString('latin1', 0, end)
        const length = CONTENT_LENGTH.exec(text)
        // Fastify sets content-length on these answers; anything else (chunked) is not expected here.
        if (length === null) { socket.destroy(); return }
        socket.status = Number(text.slice(9, 12))
        socket.head = null
        socket.bodyLeft = Number(length[1]) - (head.length - end - 4)
      } else {
        socket.bodyLeft -= chunk.length
      }
      if (socket.bodyLeft === 0) answered(socket, socket.status)
      else if (socket.bodyLeft < 0) socket.destroy() // bytes nobody asked for
    })
    socket.on('error', () => {})
    socket.on('close', () => failed(socket))
    free.push(socket)
  }

  let next = 0
  const tick = () => {
    const t = now()
    while (next < total && due(next) <= t) {
      const socket = free.pop()
      if (socket !== undefined) send(socket, next)
      else { backlog.push(next); waitedForSocket++ }
      next++
    }
  }
  const clock = new Worker(CLOCK, { eval: true, workerData: { start, interval, total } })
  clock.on('message', tick)

  // Bounded: answers still missing this long after the last send are counted as errors.
  const grace = new Promise((resolve) => setTimeout(resolve, duration * 1000 + 50 + 10_000).unref())
  await Promise.race([finished, grace])
  await clock.terminate()
  for (const socket of sockets) socket.destroy()
  errors += total - completed

  const measured = latency.filter((x) => !Number.isNaN(x) && x > 0).sort()
  const lag = sendLag.slice(0, next).sort()
  return {
    requests: measured.length,
    rate,
    seconds: duration,
    p50: percentile(measured, 0.5),
    p99: percentile(measured, 0.99),
    p999: percentile(measured, 0.999),
    max: measured.length > 0 ? measured[measured.length - 1] : NaN,
    sendLagP99: percentile(lag, 0.99),
    waitedForSocket,
    bad,
    errors
  }
}
