'use strict'
// The HTTP suite of DESIGN.md's performance contract: what the plugin adds to
// a Fastify app's throughput, latency and CPU, beside bare Fastify and
// @fastify/rate-limit, on this machine, in one run.
//
//   npm run bench [-- --rounds 3 --duration 4 --configs bare,off,local,ship,ship+enforce,ratelimit
//                     --workloads root,mix --rates 25,50,75 --connections 50 --warmup 2
//                     --out FILE --quick --no-pin]
//   APPFIREWALL_DIST=/path/to/dist node benchmarks/http.bench.js   (a private build)
//
// The default run takes about 15 minutes on the project's 2-core VM; --quick
// (1 round, 1.5 s runs, 1 s warm-up, one saturation run in the calibration)
// under 1, for a smoke test: its figures are too short to quote. --out FILE also writes the
// Markdown report (the part to paste into RESULTS.md) to FILE. --no-pin
// turns off the CPU pinning described at pinning() below.
//
// Configurations (benchmarks/server.js): bare (Fastify, no plugin), off,
// local (file exporter to a tmp file), ship (default options, to an ingest
// this process runs on 127.0.0.1 that answers 200), ship+enforce (ship with
// enforceRateLimit, behind a trusted load balancer that forwards Cloudflare's
// headers from 65 536 client IPs, so no client reaches the default limit),
// ratelimit (@fastify/rate-limit, max 1e9: counts, never limits); also
// ship+cf on request (ship+enforce without enforcing).
// Workloads (benchmarks/suite/workloads.js): root, GET / only; mix, half
// GET /, half 404s (scanner probes, benign misses, stale links), browser
// headers on every request.
//
// Method. The machine is shared and small (2 cores), so every figure is
// taken side by side in one run: within each round, for each workload, every
// configuration gets a fresh server process in turn (the order rotates from
// round to round), and the tables give medians over the rounds. Processes:
// this one (orchestration and the ingest, idle while a run is measured), the
// server, and the load generator (benchmarks/suite/load.js), each on its own
// event loop. Per server:
//   1. warm-up: --warmup s at saturation, unmeasured;
//   2. saturation: --duration s, closed loop (--connections sockets);
//   3. open loop at each of --rates percent of bare's capacity, --duration s
//      each: requests on a fixed schedule, latency from the scheduled send
//      time (no coordinated omission, see load.js). Bare's capacity is
//      measured first in the same run, per workload: the highest open-loop
//      rate it keeps up with (see calibrate()), so that every configuration
//      gets the same rates;
//   4. flush and read the plugin's stats(): events sent / requests served
//      over the server's life (every request makes one event: 1.000 means
//      all delivered, also at saturation), and drops.
// Around each measured window (2, 3) the server flushes the plugin's queue
// and reads process.cpuUsage(): CPU per request = its user + system time
// (all threads) / requests served in the window, out-of-band shipping
// included. Latencies are wall time and suffer from whatever else runs on
// the machine; CPU per request and shipped/served much less.
const { fork, execFileSync } = require('node:child_process')
const http = require('node:http')
const os = require('node:os')
const { writeFileSync } = require('node:fs')
const { join } = require('node:path')
const { CONFIGS, DIST } = require('./server')

// ------------------------------------------------------------------ options

function arg (name, dflt) {
  const i = process.argv.indexOf(`--${name}`)
  return i === -1 ? dflt : process.argv[i + 1]
}
const list = (text) => text.split(',').map((s) => s.trim()).filter(Boolean)

const quick = process.argv.includes('--quick')
const opts = {
  rounds: Number(arg('rounds', quick ? 1 : 3)),
  duration: Number(arg('duration', quick ? 1.5 : 4)),
  warmup: Number(arg('warmup', quick ? 1 : 2)),
  connections: Number(arg('connections', 50)),
  configs: list(arg('configs', 'bare,off,local,ship,ship+enforce,ratelimit')),
  workloads: list(arg('workloads', 'root,mix')),
  rates: list(arg('rates', '25,50,75')).map(Number),
  out: arg('out', undefined),
  pin: !process.argv.includes('--no-pin')
}
for (const c of opts.configs) if (CONFIGS[c] === undefined) throw new Error(`unknown config ${c} (${Object.keys(CONFIGS).join(', ')})`)
// Bare is the reference of every delta, and its capacity sets the open-loop rates.
if (!opts.configs.includes('bare')) opts.configs.unshift('bare')

const WORKLOAD_TITLE = { root: 'GET / (hello world)', mix: '404-heavy mix (50% GET /, 25% probes, 15% benign misses, 10% stale links)' }
const START_MS = 15_000
const IPC_MS = 30_000

// -------------------------------------------------------------- processes

let lastId = 0
/** Sends `msg` with an id and resolves with the answer carrying that id; bounded by `ms`. */
function ask (child, msg, ms, what) {
  const id = ++lastId
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { child.removeListener('message', onMessage); reject(new Error(`${what}: no answer in ${ms} ms`)) }, ms)
    function onMessage (answer) {
      if (answer?.id !== id) return
      clearTimeout(timer)
      child.removeListener('message', onMessage)
      if (answer.error !== undefined) reject(new Error(`${what}: ${answer.error}`))
      else resolve(answer.result ?? answer)
    }
    child.on('message', onMessage)
    child.send({ id, ...msg })
  })
}

function startIngest () {
  // Answers every POST with 200 once its body is read: a healthy ingest.
  const server = http.createServer((req, res) => {
    req.resume()
    req.on('end', () => { res.end('{}') })
  })
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)))
}

/**
 * CPU pinning (Linux `taskset`, all threads): the server on one core, the
 * load generator and this process (the ingest) on the others this process
 * may use. Without it, on this 2-core machine, the generator and the server
 * take turns on both cores, and bare Fastify answers more than one Node
 * process can send on a schedule: the 50% and 75% rows measured the
 * generator's lateness as much as the server. Pinned, bare's capacity is
 * that of one core, and the generator has a core of its own (shared with
 * the ingest, which only ship configurations use); the generator-health
 * line of the report says whether it kept its schedule. Threads a process
 * starts later (libuv's pool for gzip, GC helpers) inherit the pinning.
 * Returns { server, others } (taskset core lists), or { off: reason }.
 */
function pinning () {
  if (!opts.pin) return { off: '--no-pin' }
  const run = (args) => execFileSync('taskset', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 5000 })
  let allowed
  try {
    // The cores this process may run on (a container's cpuset, or a taskset
    // the bench was started under), not every core of the host.
    const list = /:\s*([\d,-]+)\s*$/.exec(run(['-pc', String(process.pid)]))?.[1] ?? ''
    allowed = list.split(',').flatMap((part) => {
      const [from, to = from] = part.split('-').map(Number)
      return Array.from({ length: to - from + 1 }, (_, i) => from + i)
    })
  } catch (err) {
    return { off: `taskset unusable (${String(err.message).split('\n')[0]})` }
  }
  if (allowed.length < 2) return { off: `only ${allowed.length} core allowed` }
  const server = String(allowed[allowed.length - 1])
  const others = allowed.slice(0, -1).join(',')
  try {
    run(['-a', '-p', '-c', others, String(process.pid)])
  } catch (err) {
    return { off: `taskset failed (${String(err.stderr || err.message).trim().split('\n')[0]})` }
  }
  return { server, others }
}
const PIN = pinning()

/** Pins every thread of `pid` to `cores`; throws with taskset's message. */
function pin (pid, cores) {
  execFileSync('taskset', ['-a', '-p', '-c', cores, String(pid)], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 5000 })
}

function startServer (config, ingestPort) {
  // A private build outside the checkout (APPFIREWALL_DIST) resolves its
  // dependencies (fastify-plugin, undici...) from the checkout's node_modules.
  const env = { ...process.env, NODE_PATH: [join(__dirname, '..', 'node_modules'), process.env.NODE_PATH].filter(Boolean).join(require('node:path').delimiter) }
  const child = fork(join(__dirname, 'server.js'), [config, String(ingestPort)], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'], env })
  if (PIN.server !== undefined) {
    try {
      pin(child.pid, PIN.server)
    } catch (err) {
      child.kill('SIGKILL')
      throw new Error(`${config}: could not pin the server to core ${PIN.server}: ${String(err.stderr || err.message).trim()} (run with --no-pin)`)
    }
  }
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`${config}: server did not start in ${START_MS} ms`)) }, START_MS)
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`${config}: server exited (${code})`)) })
    child.stdout.on('data', (d) => {
      const m = /port (\d+)/.exec(String(d))
      if (m) { clearTimeout(timer); child.removeAllListeners('exit'); resolve({ child, port: Number(m[1]) }) }
    })
  })
}

async function stopServer (child) {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise((resolve) => child.once('exit', resolve))
  try {
    await ask(child, { cmd: 'close' }, 10_000, 'close')
  } catch {}
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
  await exited
  clearTimeout(timer)
}

// ------------------------------------------------------------ measurement

const median = (xs) => {
  if (xs.length === 0) return NaN
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}

/** Runs one load job against `port`; the server's CPU and served count are read around it. */
async function measured (load, server, job) {
  await ask(server, { cmd: 'mark' }, IPC_MS, 'mark')
  const result = await ask(load, job, job.duration * 1000 + 60_000, job.kind)
  const { cpuUs, served } = await ask(server, { cmd: 'measure' }, IPC_MS, 'measure')
  return { ...result, cpuUs, served, cpuPerReq: cpuUs / served }
}

/**
 * Open-loop capacity: bare keeps up at a rate when its p99 stays under this
 * (a backlog that grows through a run pushes the p99 to hundreds of ms; a
 * server that keeps up stays within a few ms, timer jitter included).
 */
const KEEPS_UP_P99_MS = 10

/**
 * Bare's capacity per workload, measured first in the same run: its
 * saturation (closed loop, the best of two runs), then the highest open-loop
 * rate it keeps up with, tried from 100% of saturation down in steps of 10%.
 * A closed loop answers more than an open one (each read finds many sockets
 * ready, and a backlog never builds), and the generator itself has a
 * ceiling: rates set from the closed-loop figure put the top rows past what
 * bare or the generator sustain, and then they measured an overload. The
 * open-loop rates are percentages of the sustained rate.
 */
async function calibrate (load, ingestPort) {
  const capacity = {}
  for (const workload of opts.workloads) {
    const { child, port } = await startServer('bare', ingestPort)
    try {
      const job = { port, connections: opts.connections, workload, cf: false }
      await ask(load, { ...job, kind: 'saturate', duration: opts.warmup }, opts.warmup * 1000 + 60_000, 'warm-up')
      const runs = []
      for (let i = 0; i < (quick ? 1 : 2); i++) {
        runs.push((await ask(load, { ...job, kind: 'saturate', duration: opts.duration }, opts.duration * 1000 + 60_000, 'saturate')).rps)
      }
      const saturation = Math.max(...runs)
      const tried = []
      let sustained
      const keepsUp = async (rate) => {
        const r = await ask(load, { ...job, kind: 'open', rate, duration: opts.duration }, opts.duration * 1000 + 60_000, 'open')
        const problems = r.bad + r.errors
        tried.push(`${thousands(rate)}/s: p99 ${r.p99.toFixed(1)} ms${problems > 0 ? `, ${problems} bad or lost` : ''}`)
        return r.p99 <= KEEPS_UP_P99_MS && problems === 0
      }
      // A rate counts once two runs in a row keep up: one short run on a
      // shared machine can pass by luck.
      for (let step = 10; step >= 1 && sustained === undefined; step--) {
        const rate = saturation * step / 10
        if (rate > 0 && await keepsUp(rate) && await keepsUp(rate)) sustained = rate
      }
      if (sustained === undefined) throw new Error(`calibration ${workload}: bare kept up with no rate down to 10% of its saturation (${tried.join('; ')})`)
      capacity[workload] = { saturation, sustained, tried }
      console.log(`calibration ${workload.padEnd(4)} bare saturation ${runs.map(Math.round).join(', ')} req/s; open loop ${tried.join('; ')} -> ` +
        `sustained ${Math.round(sustained)} req/s, rates ${opts.rates.map((r) => Math.round(sustained * r / 100)).join(', ')} req/s`)
    } finally {
      await stopServer(child)
    }
  }
  return capacity
}

/** One server's life: warm-up, saturation, the open-loop rates, stats. */
async function runServer (load, ingestPort, config, workload, capacity) {
  const cf = CONFIGS[config].cf === true
  const { child, port } = await startServer(config, ingestPort)
  try {
    const job = { port, connections: opts.connections, workload, cf }
    await ask(load, { ...job, kind: 'saturate', duration: opts.warmup }, opts.warmup * 1000 + 60_000, 'warm-up')
    const sat = await measured(load, child, { ...job, kind: 'saturate', duration: opts.duration })
    const open = {}
    for (const pct of opts.rates) {
      open[pct] = await measured(load, child, { ...job, kind: 'open', rate: capacity.sustained * pct / 100, duration: opts.duration })
    }
    const { served, stats } = await ask(child, { cmd: 'stats' }, IPC_MS, 'stats')
    return { sat, open, served, stats }
  } finally {
    await stopServer(child)
  }
}

/** Requests of a server's runs that got another status than their path's, or no answer. */
const problemsOf = (r) => [r.sat, ...Object.values(r.open)].reduce((n, x) => n + x.bad + x.errors, 0)

function logRun (round, workload, config, r) {
  const ms = (x) => x.toFixed(3)
  const problems = problemsOf(r)
  let line = `round ${round} ${workload.padEnd(4)} ${config.padEnd(12)} sat ${String(Math.round(r.sat.rps)).padStart(6)} req/s ${r.sat.cpuPerReq.toFixed(1)} us/req |` +
    Object.entries(r.open).map(([pct, o]) => ` ${pct}%: ${ms(o.p50)}/${ms(o.p99)}/${ms(o.p999)} ms ${o.cpuPerReq.toFixed(1)} us lag99 ${ms(o.sendLagP99)}${o.waitedForSocket ? ` waited ${o.waitedForSocket}` : ''}`).join(' |')
  if (r.stats !== null) {
    const s = r.stats
    const dropped = Object.values(s.dropped).reduce((a, b) => a + b, 0)
    line += ` | served ${r.served} emitted ${s.emitted} sent ${s.sent} dropped ${dropped}`
    if (s.limiter !== null) line += ` limiter tracked ${s.limiter.tracked} blocked ${s.limiter.blocked}`
  }
  if (problems > 0) line += ` | UNEXPECTED: ${problems} wrong statuses or lost requests`
  console.log(line)
}

// ----------------------------------------------------------------- report

const signed = (x, digits) => Number.isNaN(x) ? '' : (x >= 0 ? '+' : '') + x.toFixed(digits)
const thousands = (x) => Math.round(x).toLocaleString('en-US').replace(/,/g, ' ')

function report (header, capacity, results) {
  const lines = [...header, '']
  for (const workload of opts.workloads) {
    const byConfig = results[workload]
    const bare = byConfig.bare
    const bareRps = median(bare.sat.map((x) => x.rps))
    const bareCpu = median(bare.sat.map((x) => x.cpuPerReq))
    lines.push(`### ${WORKLOAD_TITLE[workload] ?? workload}: saturation`, '')
    lines.push(`Closed loop (${opts.connections} connections, one request in flight on each), ${opts.duration} s per run, medians of ${opts.rounds} round(s). ` +
      'CPU: server user + system time per request served, out-of-band shipping included. ' +
      'Shipped/served: stats().sent (local: lines written) / requests served over the server\'s life (warm-up, saturation, open loop), all rounds.', '')
    lines.push('| config | req/s | vs bare | CPU µs/req | Δ bare | shipped/served | dropped |', '|---|---:|---:|---:|---:|---:|---:|')
    for (const config of opts.configs) {
      const r = byConfig[config]
      const rps = median(r.sat.map((x) => x.rps))
      const cpu = median(r.sat.map((x) => x.cpuPerReq))
      const shipping = r.served > 0 && (CONFIGS[config].plugin?.mode === 'ship' || CONFIGS[config].plugin?.mode === 'local')
      lines.push(`| ${config} | ${thousands(rps)} | ${(rps / bareRps).toFixed(3)} | ${cpu.toFixed(1)} | ${config === 'bare' ? '' : signed(cpu - bareCpu, 1)} | ` +
        `${shipping ? (r.sent / r.served).toFixed(3) : ''} | ${shipping ? thousands(r.dropped) : ''} |`)
    }
    lines.push('', `### ${WORKLOAD_TITLE[workload] ?? workload}: open loop`, '')
    lines.push(`Fixed rates of ${opts.rates.join('/')}% of bare's capacity, measured first: the highest open-loop rate bare kept up with ` +
      `(p99 at most ${KEEPS_UP_P99_MS} ms in two runs in a row), ${thousands(capacity[workload].sustained)} req/s, tried down from its saturation of ${thousands(capacity[workload].saturation)} req/s in steps of 10% ` +
      `(${capacity[workload].tried.join('; ')}); bare's saturation in the rounds: ${bare.sat.map((x) => thousands(x.rps)).join(', ')} req/s (where far lower, the machine was busier and the top rate was an overload). ` +
      `${opts.duration} s per rate, latency from the scheduled send to the last byte of the answer, in ms; medians of ${opts.rounds} round(s); ` +
      'Δ = the configuration\'s median minus bare\'s.', '')
    lines.push('| rate | config | p50 | Δ | p99 | Δ | p99.9 | Δ | CPU µs/req | Δ |', '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|')
    for (const pct of opts.rates) {
      const m = (config, key) => median(byConfig[config].open[pct].map((x) => x[key]))
      for (const config of opts.configs) {
        const cells = ['p50', 'p99', 'p999', 'cpuPerReq'].map((key) => {
          const digits = key === 'cpuPerReq' ? 1 : 3
          const v = m(config, key)
          return `${v.toFixed(digits)} | ${config === 'bare' ? '' : signed(v - m('bare', key), digits)}`
        })
        lines.push(`| ${pct}% (${thousands(capacity[workload].sustained * pct / 100)}/s) | ${config} | ${cells.join(' | ')} |`)
      }
    }
    // How late the generator itself sent: latency it adds to every configuration alike.
    const lag = opts.rates.map((pct) => median(opts.configs.flatMap((c) => byConfig[c].open[pct].map((x) => x.sendLagP99))))
    lines.push('', `Generator health: p99 of its own lateness (scheduled send to the moment it sent or queued the request), median over runs, at ${opts.rates.join('/')}%: ` +
      `${lag.map((x) => x.toFixed(3)).join('/')} ms (added to every configuration's latency alike; large values mean the machine, not the server, was busy).`, '')
  }
  return lines.join('\n')
}

function machine () {
  let uname = `${os.type()} ${os.release()} ${os.arch()}`
  let commit = 'unknown'
  const run = (cmd, args) => execFileSync(cmd, args, { cwd: __dirname, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 }).trim()
  try { uname = run('uname', ['-a']) } catch {}
  try {
    commit = run('git', ['rev-parse', '--short', 'HEAD'])
    if (run('git', ['status', '--porcelain', '--', '../lib']) !== '') commit += ' (lib/ modified)'
  } catch {}
  const cpus = os.cpus()
  const busy = os.loadavg()[0] > cpus.length / 2
  return [
    ...(quick ? ['- **--quick: runs too short to quote; a smoke test only**'] : []),
    ...(busy ? [`- **the machine was busy at start (load ${os.loadavg()[0].toFixed(2)} on ${cpus.length} cores): latencies and req/s are not fit to quote**`] : []),
    `- command: \`node ${process.argv.slice(1).map((a) => a.replace(process.cwd() + '/', '')).join(' ')}\`${process.env.APPFIREWALL_DIST ? ` with APPFIREWALL_DIST=${process.env.APPFIREWALL_DIST}` : ''}`,
    `- node ${process.version}; ${cpus.length} × ${cpus[0]?.model ?? 'unknown CPU'}, ${Math.round(os.totalmem() / 2 ** 30)} GB; load average at start ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`,
    `- \`${uname}\``,
    `- ${new Date().toISOString()}; checkout at ${commit}; plugin from ${DIST}`,
    `- ${PIN.off !== undefined ? `no CPU pinning (${PIN.off}): the generator shares the cores with the server` : `CPU pinning (taskset): server on core ${PIN.server}, load generator and ingest on core(s) ${PIN.others}`}`,
    `- ${opts.rounds} round(s); per server: ${opts.warmup} s warm-up, ${opts.duration} s saturation, ${opts.duration} s at each open-loop rate; configurations: ` +
      opts.configs.map((c) => `${c} (${CONFIGS[c].doc})`).join('; ')
  ]
}

// ------------------------------------------------------------------- main

async function main () {
  const began = Date.now()
  const header = ['## HTTP suite (`benchmarks/http.bench.js`)', '', ...machine()]
  console.log(header.join('\n') + '\n')
  const ingest = await startIngest()
  const ingestPort = ingest.address().port
  const load = fork(join(__dirname, 'suite', 'load.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  if (PIN.others !== undefined) {
    try {
      pin(load.pid, PIN.others)
    } catch (err) {
      load.kill('SIGKILL')
      throw new Error(`could not pin the load generator to core(s) ${PIN.others}: ${String(err.stderr || err.message).trim()} (run with --no-pin)`)
    }
  }
  try {
    const capacity = await calibrate(load, ingestPort)
    const results = {}
    for (const workload of opts.workloads) {
      results[workload] = Object.fromEntries(opts.configs.map((c) => [c, {
        sat: [], open: Object.fromEntries(opts.rates.map((p) => [p, []])), served: 0, sent: 0, dropped: 0
      }]))
    }
    let problems = 0
    for (let round = 1; round <= opts.rounds; round++) {
      // Rotate the order so that no configuration always runs first in a round.
      const order = opts.configs.map((_, i) => opts.configs[(i + round - 1) % opts.configs.length])
      for (const workload of opts.workloads) {
        for (const config of order) {
          const r = await runServer(load, ingestPort, config, workload, capacity[workload])
          logRun(round, workload, config, r)
          const acc = results[workload][config]
          acc.sat.push(r.sat)
          for (const pct of opts.rates) acc.open[pct].push(r.open[pct])
          if (r.stats !== null) {
            acc.served += r.served
            acc.sent += r.stats.sent
            acc.dropped += Object.values(r.stats.dropped).reduce((a, b) => a + b, 0)
          }
          problems += problemsOf(r)
        }
      }
    }
    header.push(`- took ${((Date.now() - began) / 60000).toFixed(1)} min`)
    const markdown = report(header, capacity, results)
    console.log('\n' + markdown)
    if (opts.out !== undefined) writeFileSync(opts.out, markdown + '\n')
    if (problems > 0) {
      console.error(`${problems} requests got an unexpected status or no answer: the figures above are suspect`)
      process.exitCode = 1
    }
  } finally {
    if (load.connected) load.disconnect()
    ingest.close()
  }
}

main().catch((err) => { console.error(err); process.exit(1) })
