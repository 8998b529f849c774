'use strict'
// Instructions per request of a hello-world Fastify app, bare and with the
// plugin, counted by valgrind's callgrind (this machine is a shared VM: wall
// clock is noisy and `perf stat -e instructions` is not supported, but an
// instruction count is deterministic to a fraction of a percent).
//
// Method. Each configuration runs in its own server process under
//   valgrind --tool=callgrind --instr-atstart=no
// so it runs uninstrumented (fast) until it is warm. The parent drives it over
// real HTTP on 127.0.0.1 with autocannon (10 connections, a browser user
// agent on every request, the same for every configuration):
//   1. warm-up: --warmup requests, uninstrumented, so V8 has optimised the hot path;
//   2. `callgrind_control -i on`, then per window `-z` (zero), --requests
//      requests, `-d` (dump); each dump holds only its window;
//   3. the first window is discarded (it still holds optimising compiles:
//      ~1.7x the steady count even after 40 000 warm-up requests), the next
//      --windows are reported: their mean (major GCs and recompiles
//      amortised: the honest cost) and their min (the steady state between
//      major GCs: steadier, for comparing cuts). A window with a major GC
//      can read 1.5x the others, so run several and read both.
// Instructions per request = the dump's total / requests. Everything the
// server process does in the window counts: Fastify, our hooks, GC, the event
// loop, and the out-of-band work of the sink (ring drain, gzip, the POST to
// the ingest, the appendFile of local mode), which is where a shipped event
// really costs. Startup is outside every window. The client and the ingest
// (a node:http server that answers 200) run in this, uninstrumented, process.
//
// Configurations (comma list in --configs):
//   bare        hello world
//   hooks       + no-op onRequest and onResponse hooks (DESIGN.md's +4k reference)
//   ratelimit   + @fastify/rate-limit, with a max no run reaches
//   als         + an onRequest that binds a fresh object with AsyncLocalStorage.run
//   off | local | ship   the plugin in that mode (ship POSTs to the local ingest)
//   ship~noals  ship with the plugin's storage.run replaced by a plain call
//               (AsyncLocalStorage never enabled): the price of record() by ALS
//   ship~nopre  ship without the plugin's preHandler hook
//   ship~noua   ship with classifyUserAgent stubbed out
//   ship~noip   ship with resolveClientIp stubbed out (fixed 127.0.0.1 result)
//   ship~noline ship with httpRequestLine returning a constant line
//   <config>~io any configuration, bare included, plus what most apps already
//               run beside their routes: an undici client that POSTs a
//               gzipped body to the ingest, five times 2 s apart from start
//               (during the warm-up, outside every measured window, so no
//               window holds its work). A hello world with no other socket
//               or stream in the process is the one app where Node's stream
//               and event internals keep monomorphic inline caches; a second
//               kind of socket and a zlib stream make them megamorphic for
//               good, which every request then pays. `bare~io` is the
//               baseline with that tax; ship brings its own client, so it
//               pays it anyway
//   <config>@DIR  that configuration against the build in DIR (e.g. ship@/tmp/old-dist
//               beside ship: a before/after in one run); --rounds N alternates them
// (The prototypes of the cuts measured in RESULTS.md, ~fastclock, ~uacache
// and ~fastline, became lib/events/clock.ts, the UA caches and lib/events/line.ts.)
// Suffixes combine: `ship~noals~nopre`. Stubs patch the compiled modules'
// exports (tsc emits `(0, mod.fn)(...)`, read at each call), never the source.
//
// Usage (build first: npm run build):
//   node benchmarks/instructions.bench.js [--configs bare,hooks,als,off,local,ship]
//     [--requests 5000] [--windows 4] [--warmup 30000] [--connections 10]
//     [--path /wp-admin]  (a 404 probe instead of GET /: every answer must be a
//                   404; with default options the plugin is in shadow mode, so
//                   past its limit the probes are marked would_block, not refused)
//   (~3 min per configuration on this 2-core VM)
//     [--native]   (no valgrind: a smoke run of the configurations; its req/s
//                   end on autocannon's 1 s ticks and mean little: use http.bench.js)
//     [--keep]     (keep the callgrind dumps for callgrind_annotate)
//     [--profile]  (also print, per configuration, where the instructions of
//                   the median window go: native functions by name, JIT code
//                   named through node's --perf-basic-prof map)
//     [--single-threaded] (V8 without background threads nor memory reducer:
//                   see startServer for why the figures do not use it)
//     [--profile-all] (with --profile: every function, not the top 40; for diffs)
//     [--inclusive] (with --profile: inclusive counts, callees included, of
//                   the plugin's own JS functions only)
// AFW_DIST=/path/to/dist overrides ../dist (a private build while others edit).
const { spawn, execFileSync } = require('node:child_process')
const { readFileSync, mkdtempSync, rmSync } = require('node:fs')
const { join, resolve } = require('node:path')
const { tmpdir } = require('node:os')
const http = require('node:http')

const DIST = process.env.AFW_DIST ? resolve(process.env.AFW_DIST) : join(__dirname, '..', 'dist')
const UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36'

if (process.argv[2] === '--serve') serve(process.argv[3], process.argv[4])
else main().catch((err) => { console.error(err); process.exit(1) })

// ---------------------------------------------------------------- server side

async function serve (spec, ingestPort) {
  const Fastify = require('fastify')
  const [config, ...allStubs] = spec.split('~')
  const stubs = allStubs.filter((s) => s !== 'io')
  if (allStubs.includes('io')) backgroundClient(ingestPort)
  const app = Fastify()

  if (config === 'hooks') {
    app.addHook('onRequest', (req, reply, done) => { done() })
    app.addHook('onResponse', (req, reply, done) => { done() })
  } else if (config === 'als') {
    const { AsyncLocalStorage } = require('node:async_hooks')
    const storage = new AsyncLocalStorage()
    app.addHook('onRequest', (req, reply, done) => { storage.run({ ip: '' }, done) })
    app.addHook('onResponse', (req, reply, done) => { done() })
  } else if (config === 'ratelimit') {
    // @fastify/rate-limit with a limit no run reaches: the cost of counting.
    await app.register(require('@fastify/rate-limit'), { max: 1e9, timeWindow: 60000 })
  } else if (config !== 'bare') {
    applyStubs(app, stubs)
    const appFirewall = require(join(DIST, 'index.js'))
    await app.register(appFirewall, {
      mode: config,
      apiKey: 'bench',
      endpoint: `http://127.0.0.1:${ingestPort}/v1/events`,
      localLogPath: join(tmpdir(), `afw-ibench-${process.pid}.ndjson`),
      cloudflareRefreshMs: 0
    })
  }
  app.get('/', async () => ({ hello: 'world' }))
  const address = await app.listen({ host: '127.0.0.1', port: 0 })
  process.stdout.write(`port ${new URL(address).port}\n`)
  process.on('message', async (msg) => {
    if (msg !== 'stats') return
    if (app.appfirewall === undefined) return process.send(null)
    await app.appfirewall.flush(60000)
    process.send(app.appfirewall.stats())
  })
}

/** The `~io` suffix: an undici client POSTing a gzipped body, at start and four more times 2 s apart. */
function backgroundClient (ingestPort) {
  const { request, Agent } = require('undici')
  const zlib = require('node:zlib')
  const agent = new Agent({ connections: 1 })
  const body = Buffer.from(('{"type":"x","v":"' + 'a'.repeat(200) + '"}\n').repeat(300))
  let left = 5
  const post = () => zlib.gzip(body, { level: 1 }, (err, gz) => {
    if (err !== null) return
    request(`http://127.0.0.1:${ingestPort}/v1/events`, { method: 'POST', body: gz, dispatcher: agent })
      .then((r) => r.body.dump(), () => {})
  })
  post()
  const timer = setInterval(() => {
    post()
    if (--left === 1) clearInterval(timer)
  }, 2000)
  timer.unref()
}

function applyStubs (app, stubs) {
  for (const stub of stubs) {
    if (stub === 'noals') {
      const { storage } = require(join(DIST, 'request/context.js'))
      storage.run = (store, fn, ...args) => fn(...args)
    } else if (stub === 'nopre') {
      const addHook = app.addHook
      app.addHook = function (name, fn) {
        return name === 'preHandler' && fn.name === 'preHandler' ? this : addHook.call(this, name, fn)
      }
    } else if (stub === 'noua') {
      require(join(DIST, 'classify/user-agent.js')).classifyUserAgent = () => undefined
    } else if (stub === 'noip') {
      require(join(DIST, 'ip/client-ip.js')).resolveClientIp = (peer, headers, trusted, out) => {
        out.ip = '127.0.0.1'; out.cloudflare = false; out.via = undefined; out.forwardedIgnored = false; out.privateClient = false
        return out
      }
    } else if (stub === 'noline') {
      const LINE = '{"type":"http_request","ts":"2026-01-01T00:00:00.000Z","ip":"127.0.0.1","method":"GET","path":"/","status":200}'
      require(join(DIST, 'events/line.js')).httpRequestLine = () => LINE
    } else {
      throw new Error(`unknown stub ${stub}`)
    }
  }
}

// ---------------------------------------------------------------- client side

function arg (name, dflt) {
  const i = process.argv.indexOf(`--${name}`)
  return i === -1 ? dflt : process.argv[i + 1]
}

function startIngest () {
  const server = http.createServer((req, res) => {
    // Delivery is read from the server's stats(): sent counts 2xx answers.
    req.resume()
    req.on('end', () => { res.end('{}') })
  })
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, port: server.address().port })))
}

function startServer (spec, ingestPort, native, outDir, profile) {
  // `ship@/some/dist` runs that configuration against another build (a before/after in one run).
  const [config, dist] = spec.split('@')
  // --single-threaded (opt-in): V8's background threads (concurrent
  // compiling and marking, parallel scavenges) on the main thread, and no
  // memory reducer (it starts major GCs on wall-clock timers). Tried as a cure
  // for window-to-window noise: bare's windows still spread 58k-87k, and it
  // raised every count (bare 57k -> 69k, @fastify/rate-limit's delta 13.7k ->
  // 17.6k, ship's 22.8k -> 39k), so it is not the method of the figures in
  // RESULTS.md, which run V8 as production does.
  const threads = !native && process.argv.includes('--single-threaded') ? ['--single-threaded', '--no-memory-reducer'] : []
  const script = [...threads, ...(profile ? ['--perf-basic-prof-only-functions'] : []), __filename, '--serve', config, String(ingestPort)]
  const cmd = native ? process.execPath : 'valgrind'
  const args = native
    ? script
    : ['--tool=callgrind', '--instr-atstart=no', `--callgrind-out-file=${join(outDir, 'cg.%p')}`, process.execPath, ...script]
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe', 'ipc'], env: dist === undefined ? { ...process.env } : { ...process.env, AFW_DIST: resolve(dist) } })
  let err = ''
  child.stderr.on('data', (d) => { err += d })
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { child.kill(); reject(new Error(`${spec}: server did not start\n${err}`)) }, 120000)
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`${spec}: server exited ${code}\n${err}`)) })
    child.stdout.on('data', (d) => {
      const m = /port (\d+)/.exec(String(d))
      if (m) { clearTimeout(timer); resolve({ child, port: Number(m[1]) }) }
    })
  })
}

async function drive (port, amount, connections) {
  const autocannon = require('autocannon')
  const path = arg('path', '/')
  const res = await autocannon({
    url: `http://127.0.0.1:${port}${path}`,
    connections,
    amount,
    timeout: 60,
    headers: { 'user-agent': UA, accept: 'application/json' }
  })
  // GET / answers 200; any other path is a probe that must answer 404 (never a 429: nothing may limit the run).
  const wrong = path === '/' ? res.non2xx : res.non2xx - res['4xx'] + (res['4xx'] - (res.statusCodeStats?.['404']?.count ?? 0))
  if (wrong !== 0 || res.errors !== 0 || res.timeouts !== 0) {
    throw new Error(`bad run: ${wrong} unexpected statuses, ${res.errors} errors, ${res.timeouts} timeouts`)
  }
  return res
}

function control (flags, pid) {
  execFileSync('callgrind_control', [...flags, String(pid)], { stdio: 'ignore', timeout: 60000 })
}

function totalOf (file) {
  const m = /^totals: (\d+)/m.exec(readFileSync(file, 'utf8')) ?? /^summary: (\d+)/m.exec(readFileSync(file, 'utf8'))
  if (m === null) throw new Error(`no totals in ${file}`)
  return Number(m[1])
}

function stats (child) {
  return new Promise((resolve) => { child.once('message', resolve); child.send('stats') })
}

/** Top functions of the median window, per request; JIT addresses named from /tmp/perf-<pid>.map. */
function printProfile (pid, outDir, counts, requests) {
  const m = median(counts)
  const w = counts.indexOf(counts.reduce((a, b) => Math.abs(b - m) < Math.abs(a - m) ? b : a)) + 2
  const inclusive = process.argv.includes('--inclusive')
  const text = execFileSync('callgrind_annotate', ['--threshold=100', ...(inclusive ? ['--inclusive=yes'] : []), join(outDir, `cg.${pid}.${w}`)], { encoding: 'utf8', maxBuffer: 1 << 28 })
  // Code addresses are reused after GC: the map is read in order and the
  // latest entry that covers an address names it.
  let ranges = []
  try {
    ranges = readFileSync(`/tmp/perf-${pid}.map`, 'utf8').split('\n').map((l) => {
      const [start, size, ...name] = l.split(' ')
      return [parseInt(start, 16), parseInt(size, 16), name.join(' ')]
    }).filter((r) => !Number.isNaN(r[0]))
  } catch {}
  const nameOf = (addr) => {
    for (let i = ranges.length - 1; i >= 0; i--) {
      const [start, size, name] = ranges[i]
      if (addr >= start && addr < start + size) return 'JS ' + name.replace(/^(LazyCompile|Function|JS):/, '')
    }
    return 'JIT code not in the perf map (regular expressions, stubs)'
  }
  const by = new Map()
  for (const line of text.split('\n')) {
    const r = /^\s*([\d,]+) \([\s\d.]+%\)\s+(.*)$/.exec(line)
    if (r === null || r[2].includes('PROGRAM TOTALS')) continue
    let fn = r[2].replace(/ \[[^\]]*\]$/, '')
    const jit = /^\?\?\?:0x([0-9a-f]+)/.exec(fn)
    if (jit !== null) fn = nameOf(parseInt(jit[1], 16))
    else fn = fn.replace(/^\?\?\?:/, '').replace(/^.*\/[^:]*:/, '')
    by.set(fn, (by.get(fn) ?? 0) + Number(r[1].replace(/,/g, '')) / requests)
  }
  // Inclusive: a function's callees are counted in it (and a function met at
  // several addresses is summed, so recursion and re-JITs overcount): read it
  // for this plugin's own functions, which are listed apart.
  const top = [...by].sort((a, b) => b[1] - a[1]).filter(([fn]) => !inclusive || fn.includes(DIST) || fn.includes('/lib/')).slice(0, process.argv.includes('--profile-all') ? Infinity : 40)
  for (const [fn, n] of top) console.log(`    ${String(Math.round(n)).padStart(6)}  ${fn.slice(0, 140)}`)
}

const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2 }

async function main () {
  const configs = arg('configs', 'bare,hooks,als,off,local,ship').split(',')
  const requests = Number(arg('requests', 5000))
  const windows = Number(arg('windows', 4))
  const warmup = Number(arg('warmup', 30000))
  const connections = Number(arg('connections', 10))
  // Rounds run the configurations again, alternating, and pool their windows.
  const rounds = Number(arg('rounds', 1))
  const native = process.argv.includes('--native')
  const profile = !native && process.argv.includes('--profile')
  const outDir = mkdtempSync(join(tmpdir(), 'afw-ibench-'))
  const ingest = await startIngest()
  const perRequest = {}
  console.log(`${native ? 'native' : 'callgrind'}: ${requests} requests x ${windows} windows after ${warmup} warm-up, ${connections} connections, dist ${DIST}`)
  for (let round = 0; round < rounds; round++) {
    for (const spec of configs) {
      const { child, port } = await startServer(spec, ingest.port, native, outDir, profile)
      child.removeAllListeners('exit')
      try {
        await drive(port, warmup, connections)
        perRequest[spec] ??= []
        if (!native) control(['-i', 'on'], child.pid)
        // Window 0 is thrown away: the first instrumented window still pays for
        // optimising compiles and GC sizing (~1.7x bare), whatever the warm-up.
        for (let w = native ? 1 : 0; w <= windows; w++) {
          if (native) {
            const res = await drive(port, requests, connections)
            perRequest[spec].push(requests / ((res.finish - res.start) / 1000))
            continue
          }
          control(['-z'], child.pid)
          await drive(port, requests, connections)
          control(['-d'], child.pid)
          const file = join(outDir, `cg.${child.pid}.${w + 1}`)
          if (w > 0) perRequest[spec].push(totalOf(file) / requests)
        }
        if (profile) {
          printProfile(child.pid, outDir, perRequest[spec], requests)
          rmSync(`/tmp/perf-${child.pid}.map`, { force: true })
        }
        const s = await stats(child)
        const tail = s ? `  emitted ${s.emitted} sent ${s.sent} queued ${s.queued} dropped ${JSON.stringify(s.dropped)}` : ''
        console.log(`${spec.padEnd(18)} ${perRequest[spec].map((x) => Math.round(x)).join(' ')}${native ? ' req/s' : ' instr/req'}${tail}`)
      } finally {
        child.kill('SIGKILL')
        rmSync(join(tmpdir(), `afw-ibench-${child.pid}.ndjson`), { force: true }) // local mode's log
      }
    }
  }
  ingest.server.close()
  if (process.argv.includes('--keep')) console.log(`callgrind dumps kept in ${outDir} (callgrind_annotate <file>)`)
  else rmSync(outDir, { recursive: true, force: true })
  if (native) return
  // Mean: every window's GC and recompiles amortised, the honest cost. Min:
  // the steady state between major GCs, steadier for comparing small cuts.
  const bare = perRequest.bare ? { mean: mean(perRequest.bare), min: Math.min(...perRequest.bare) } : undefined
  const signed = (d) => (d >= 0 ? '+' : '') + Math.round(d)
  console.log('\nconfig             mean instr/req  vs bare   min instr/req  vs bare')
  for (const spec of configs) {
    const a = mean(perRequest[spec])
    const b = Math.min(...perRequest[spec])
    console.log(`${spec.padEnd(18)} ${String(Math.round(a)).padStart(14)}  ${(bare ? signed(a - bare.mean) : '').padStart(7)}   ${String(Math.round(b)).padStart(13)}  ${(bare ? signed(b - bare.min) : '').padStart(7)}`)
  }
}
