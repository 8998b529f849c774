'use strict'
// The load generator of the HTTP suite (benchmarks/http.bench.js), in its own
// process so that it never shares an event loop with the server it measures
// nor with the ingest. The parent sends one job at a time over IPC and gets
// its result back:
//
//   { kind: 'saturate', ... }  closed loop: `connections` sockets, each
//                              sending its next request as soon as the
//                              previous answer arrives. Gives the most the
//                              server answers per second.
//   { kind: 'open', rate, ... } open loop: requests leave on a fixed schedule,
//                              one every 1/rate s, whatever the answers do.
//
// Both drive raw keep-alive TCP sockets to 127.0.0.1 with one request in
// flight per socket (no pipelining, as browsers and proxies do), send
// requests encoded once where the stream repeats, and parse answers only as
// far as their status and content-length, so the generator stays light next
// to the server. (autocannon, which the suite used before, rebuilds every
// request when they differ: side by side against bare Fastify on this
// machine it got 0.5-0.65 of this generator's throughput on the 404 mix,
// and 0.75 on GET /: it measured itself as much as the server.)
//
// Why the open loop. A closed-loop client (autocannon too, also with
// `overallRate`, which only paces it) waits for an answer before it sends
// again, so when the server stalls it stops sending: the requests that would
// have arrived during the stall are never sent, and the stall shows up in one
// sample instead of in every request it delayed ("coordinated omission").
// Here each request has a scheduled send time, and its latency is measured
// from that time to the last byte of its answer: a request that had to wait
// (for the server, or for a free socket: it then waits in a FIFO) is charged
// for the wait.
//
// JavaScript timers have 1 ms resolution, far coarser than the spacing at
// these rates (100-500 us), and polling the clock on every turn of the event
// loop would keep a core busy, stealing it from the server whenever anything
// else runs on this 2-core machine. So a worker thread keeps the schedule: it
// sleeps until each send time with Atomics.wait (fractional milliseconds; the
// kernel wakes it some tens of microseconds late) and then wakes this thread
// with a message, which sends every request that is due. Both threads sleep
// in between. The wake-up delay is charged to every configuration alike (it
// shows in `sendLagP99`, the time from a request's scheduled send to the
// moment the generator handled it: if that grows, the generator, not the
// server, was late). Latencies are kept, all of them,
// in a Float64Array and sorted at the end: exact percentiles, no histogram
// buckets.
const net = require('node:net')
const { performance } = require('node:perf_hooks')
const { Worker } = require('node:worker_threads')
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

// Milliseconds since the epoch, to the microsecond, the same in every thread
// (performance.now() alone counts from each thread's own start).
const now = () => performance.timeOrigin + performance.now()
// Answers still missing this long after the last send are counted as errors.
const GRACE_MS = 10_000

// ------------------------------------------------------------- the wire

/** The stream of a job: request number i as bytes, and the status it must get. */
function prepare ({ port, workload, cf }) {
  const stream = createWorkload(workload, { cf })
  // The request line and headers autocannon writes, then the stream's own.
  const encode = ({ path, headers }) => {
    let text = `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: keep-alive\r\n`
    for (const name in headers) text += `${name}: ${headers[name]}\r\n`
    return Buffer.from(text + '\r\n', 'latin1')
  }
  const expected = stream.paths.map(stream.status)
  const statusOf = (i) => expected[i % expected.length]
  // Without per-request headers the stream repeats every cycle: encode it once.
  if (!cf) {
    const cycle = stream.paths.map((_, i) => encode(stream.at(i)))
    return { request: (i) => cycle[i % cycle.length], statusOf }
  }
  return { request: (i) => encode(stream.at(i)), statusOf }
}

const HEADER_END = Buffer.from('\r\n\r\n')
const CONTENT_LENGTH = /\r\ncontent-length:[ \t]*(\d+)/i

/**
 * Opens `count` sockets; on each, `onAnswer(socket, status)` is called for
 * every complete answer and `onLost(socket)` once if it closes before the
 * job ends. One request in flight per socket: every byte belongs to its answer.
 */
async function openSockets (port, count, onAnswer, onLost) {
  const connect = () => new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port, noDelay: true })
    socket.once('connect', () => { socket.removeListener('error', reject); resolve(socket) })
    socket.once('error', reject)
  })
  const sockets = await Promise.all(Array.from({ length: count }, connect))
  for (const socket of sockets) {
    socket.current = -1 // the request in flight
    let head = null // the header read so far
    let bodyLeft = -1 // bytes of body still to come; -1 while reading the header
    let status = 0
    socket.on('data', (chunk) => {
      if (bodyLeft < 0) {
        const bytes = head === null ? chunk : Buffer.concat([head, chunk])
        const end = bytes.indexOf(HEADER_END)
        if (end === -1) { head = bytes; return }
        const text = bytes.toString('latin1', 0, end)
        const length = CONTENT_LENGTH.exec(text)
        // Fastify sets content-length on these answers; anything else (chunked) is not expected here.
        if (length === null) { socket.destroy(); return }
        status = Number(text.slice(9, 12))
        head = null
        bodyLeft = Number(length[1]) - (bytes.length - end - 4)
      } else {
        bodyLeft -= chunk.length
      }
      if (bodyLeft === 0) {
        bodyLeft = -1
        onAnswer(socket, status)
      } else if (bodyLeft < 0) {
        socket.destroy() // bytes nobody asked for
      }
    })
    socket.on('error', () => {})
    socket.on('close', () => { if (!socket.ended) onLost(socket) })
  }
  const close = () => { for (const socket of sockets) { socket.ended = true; socket.destroy() } }
  return { sockets, close }
}

function percentile (sorted, p) {
  if (sorted.length === 0) return NaN
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]
}

// ------------------------------------------------------------- closed loop

async function saturate ({ port, duration, connections, workload, cf }) {
  const { request, statusOf } = prepare({ port, workload, cf })
  let next = 0
  let inFlight = 0
  let answered = 0 // before the end of the window: the throughput
  let bad = 0
  let errors = 0
  let stopAt = Infinity
  let drained
  const allDone = new Promise((resolve) => { drained = resolve })

  const send = (socket) => {
    socket.current = next++
    inFlight++
    socket.write(request(socket.current))
  }
  const { sockets, close } = await openSockets(port, connections, (socket, status) => {
    inFlight--
    if (status !== statusOf(socket.current)) bad++
    socket.current = -1
    if (now() < stopAt) {
      answered++
      send(socket)
    } else if (inFlight === 0) {
      drained()
    }
  }, (socket) => {
    if (socket.current >= 0) { errors++; inFlight-- }
    if (inFlight === 0 && now() >= stopAt) drained()
  })

  const start = now()
  stopAt = start + duration * 1000
  for (const socket of sockets) send(socket)
  await new Promise((resolve) => setTimeout(resolve, duration * 1000))
  // The answers of requests still in flight are waited for (bounded), so that
  // the next job starts on an idle server; they are not counted.
  if (inFlight > 0) await Promise.race([allDone, new Promise((resolve) => setTimeout(resolve, GRACE_MS).unref())])
  errors += inFlight
  close()
  return { requests: answered, seconds: duration, rps: answered / duration, bad, errors }
}

// --------------------------------------------------------------- open loop

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

async function openLoop ({ port, rate, duration, connections, workload, cf }) {
  const { request, statusOf } = prepare({ port, workload, cf })
  const total = Math.max(1, Math.round(rate * duration))
  const interval = 1000 / rate // ms
  const latency = new Float64Array(total).fill(NaN)
  const sendLag = new Float64Array(total)
  let completed = 0 // answered or lost
  let bad = 0
  let errors = 0
  let waitedForSocket = 0
  let finish
  const finished = new Promise((resolve) => { finish = resolve })

  const free = []
  // Scheduled requests that found every socket busy, oldest first.
  const backlog = []
  let backlogHead = 0
  let start = 0
  const due = (i) => start + i * interval

  const send = (socket, i) => {
    socket.current = i
    socket.write(request(i))
  }
  const { sockets, close } = await openSockets(port, connections, (socket, status) => {
    const i = socket.current
    latency[i] = now() - due(i)
    if (status !== statusOf(i)) bad++
    socket.current = -1
    if (++completed === total) finish()
    if (backlogHead < backlog.length) {
      send(socket, backlog[backlogHead++])
      if (backlogHead === backlog.length) { backlog.length = 0; backlogHead = 0 }
    } else {
      free.push(socket)
    }
  }, (socket) => {
    // A lost socket's request counts as done (with no latency), so that the run still ends.
    if (socket.current >= 0) { errors++; socket.current = -1; if (++completed === total) finish() }
    const at = free.indexOf(socket)
    if (at !== -1) free.splice(at, 1)
  })
  free.push(...sockets)

  let next = 0
  const tick = () => {
    const t = now()
    while (next < total && due(next) <= t) {
      // How late the generator itself is (waiting for a socket is the server's doing, not counted here).
      sendLag[next] = t - due(next)
      const socket = free.pop()
      if (socket !== undefined) send(socket, next)
      else { backlog.push(next); waitedForSocket++ }
      next++
    }
  }
  start = now() + 50 // time for the clock thread to start
  const clock = new Worker(CLOCK, { eval: true, workerData: { start, interval, total } })
  clock.on('message', tick)

  const grace = new Promise((resolve) => setTimeout(resolve, 50 + duration * 1000 + GRACE_MS).unref())
  await Promise.race([finished, grace])
  await clock.terminate()
  close()
  errors += total - completed

  const measured = latency.filter((x) => !Number.isNaN(x)).sort()
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
