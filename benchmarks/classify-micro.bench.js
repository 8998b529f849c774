'use strict'

// Speed of the 404 classifier and the user-agent signal.
//
//   npm run build && node benchmarks/classify-micro.bench.js
//
// Typical: a mix of real-looking 404s (stale links, assets, probes, benign
// misses), cost per path as the median of many timed batches. Hostile: 10 kB
// inputs built to hurt a backtracking matcher or a naive decoder, each timed
// alone many times; median and max in microseconds. Numbers only, never
// asserted: compare them across runs on the same machine.
//
//   node benchmarks/classify-micro.bench.js --instructions [--windows 5] [--sets 'a|b'] [--detail] [--profile]
//
// counts instructions instead, with valgrind's callgrind: independent of how
// busy the machine is, unlike wall time on a shared VM (a few minutes). Method:
//   1. one process per input set runs under
//        valgrind --tool=callgrind --instr-atstart=no node --no-concurrent-recompilation
//      and warms up uninstrumented: tens of thousands of calls on that set,
//      so V8 has optimised what it will (Node 24 moved a 10 kB input's code
//      to its top tier only after about 10 000 calls).
//      Optimising on the main thread makes V8's choices (what to inline, when
//      to tier up) independent of how valgrind schedules threads: with the
//      background compiler, two runs of one build could settle in code 5%
//      apart; without it they agree within a few tenths of a percent;
//   2. the parent turns instrumentation on (`callgrind_control -i on`), then
//      per window zeroes the counters (`-z`), asks the child over its IPC
//      channel for N calls, waits for its answer and dumps (`-d`): a dump
//      holds exactly one window, startup and warm-up are in none;
//   3. the first two windows are thrown away (late compiles, valgrind
//      translating the newly instrumented code);
//      then measured windows alternate with empty ones (the same IPC round
//      trip, zero calls): per call = (window - median empty window) / N.
// Printed: the median over the windows (the figure to quote) and the spread
// min-max, which says how repeatable it was (within a few percent). The
// count covers every thread of the process in the window, so GC work the
// calls cause is charged to them, as it is in a server; the loop around the
// calls is included (a handful of instructions per call). --detail prints
// every window; --profile where the median window's instructions go;
// --sets takes names as printed, separated by '|'.
// APPFIREWALL_DIST=/path/to/dist measures a private build (default ../dist).

const path = require('node:path')

const dist = process.env.APPFIREWALL_DIST || path.join(__dirname, '..', 'dist')
const loadStart = process.hrtime.bigint()
const { classifyPathVerdict } = require(path.join(dist, 'classify/classify.js'))
const { classifyUserAgent } = require(path.join(dist, 'classify/user-agent.js'))
const loadMs = Number(process.hrtime.bigint() - loadStart) / 1e6
// The pattern automata are compiled on the first call.
const compileStart = process.hrtime.bigint()
classifyPathVerdict('/')
const compileMs = Number(process.hrtime.bigint() - compileStart) / 1e6

const typical = [
  '/favicon.ico', '/apple-touch-icon.png', '/robots.txt', '/sitemap.xml', '/.well-known/security.txt',
  '/api/v1/users/8d3c2b1a-4f5e-4a6b-9c7d-0e1f2a3b4c5d', '/api/products/123/reviews?page=3&sort=recent',
  '/blog/2021/05/why-we-moved-to-fastify', '/static/js/main.8a3f1c2e.chunk.js', '/assets/index-DkP3s8Qe.css',
  '/_next/static/chunks/pages/_app-6a1b2c3d4e5f6a7b.js', '/images/hero@2x.png', '/contact.php', '/about-us.html',
  '/wp-content/uploads/2020/11/product-brochure.pdf', '/docs/v2/getting-started', '/en/pricing',
  '/search?q=shell+jacket', '/.env', '/wp-login.php', '/.git/config', '/phpmyadmin/', '/xmlrpc.php',
  '/vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php', '/actuator/health', '/cgi-bin/luci/;stok=/locale',
  '/backup.zip', '/config.php', '/shell.php', '/index.php?s=/index/\\think\\app/invokefunction'
]

const hostile = {
  "'%25'.repeat(3400)": '%25'.repeat(3400),
  "'/..'.repeat(3400)": '/..'.repeat(3400),
  "'/a'.repeat(5000)": '/a'.repeat(5000),
  "'/.'.repeat(5000)": '/.'.repeat(5000),
  "'%c0%ae'.repeat(1700)": '/' + '%c0%ae'.repeat(1700),
  "'%u002e'.repeat(1700)": '/' + '%u002e'.repeat(1700),
  "'/' + ';'.repeat(10000)": '/' + ';'.repeat(10000),
  "'\\\\'.repeat(10000)": '\\'.repeat(10000),
  "'/x?' + 'a=../&'.repeat(1700)": '/x?' + 'a=../&'.repeat(1700),
  "'/x?' + '%2525'.repeat(2000)": '/x?' + '%2525'.repeat(2000),
  "'/' + 'wp-'.repeat(3400)": '/' + 'wp-'.repeat(3400),
  "'/' + 'phpmyad'.repeat(1500)": '/' + 'phpmyad'.repeat(1500),
  "'/' + '\\u00ef\\u00bc\\u008e'.repeat(3400)": '/' + '\u00ef\u00bc\u008e'.repeat(3400),
  "'/' + 'a.'.repeat(5000) + 'php'": '/' + 'a.'.repeat(5000) + 'php'
}

const chromeUa = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36'

// Input sets of the --instructions mode: name -> [function, inputs, calls per
// window, warm-up calls]. Each window is about 10-100 million instructions,
// so IPC and timer noise stay far below a percent of it. The warm-up is long
// enough that the windows agree (after shorter ones, a late optimising
// compile could land in a measured window).
const countSets = {
  'typical 404 paths': ['path', typical, 15000, 60000],
  ...Object.fromEntries(Object.entries(hostile).map(([name, input]) => [`hostile ${name}`, ['path', [input], 150, 30000]])),
  'classifyUserAgent, Chrome desktop, remembered': ['ua', [chromeUa], 20000, 200000],
  // More distinct user agents than are remembered: every call is a miss.
  'classifyUserAgent, a new user agent per call': ['ua', Array.from({ length: 2000 }, (_, i) => `${chromeUa} r/${i}`), 2000, 60000]
}

/** Child of the --instructions mode, under callgrind: warm up, then run windows on request. */
function windowChild (set) {
  const [kind, inputs, , warm] = countSets[set]
  const fn = kind === 'ua' ? classifyUserAgent : classifyPathVerdict
  let sink = 0
  const run = (calls) => {
    for (let i = 0, k = 0; i < calls; i++) {
      sink += fn(inputs[k]) === undefined ? 0 : 1
      if (++k === inputs.length) k = 0
    }
  }
  run(warm)
  process.on('message', (calls) => {
    run(calls)
    process.send(sink === -1 ? -1 : calls)
  })
  process.send('warm')
}

async function countInstructions () {
  const { spawn, execFileSync } = require('node:child_process')
  const { mkdtempSync, readFileSync, rmSync } = require('node:fs')
  const { tmpdir } = require('node:os')
  const arg = (name, dflt) => {
    const i = process.argv.indexOf(`--${name}`)
    return i === -1 ? dflt : process.argv[i + 1]
  }
  const windows = Number(arg('windows', 5))
  const detail = process.argv.includes('--detail')
  const sets = arg('sets', undefined)?.split('|').map((s) => s.trim()) ?? Object.keys(countSets)
  const outDir = mkdtempSync(path.join(tmpdir(), 'classify-icount-'))
  const control = (flags, pid) => execFileSync('callgrind_control', [...flags, String(pid)], { stdio: 'ignore', timeout: 120000 })
  const profile = process.argv.includes('--profile')
  // Dumps are numbered cg.<pid>.1, .2 ... in order.
  let dumps = 0
  const dumped = (pid) => {
    const file = path.join(outDir, `cg.${pid}.${++dumps}`)
    const m = /^(?:totals|summary): (\d+)/m.exec(readFileSync(file, 'utf8'))
    if (m === null) throw new Error(`no totals in ${file}`)
    return { total: Number(m[1]), file }
  }

  console.log(`node ${process.version}, dist ${path.resolve(dist)}`)
  console.log(`instructions per call (callgrind): warm process per set, ${windows} windows of N calls, each minus the median empty window`)
  console.log(`  ${'input set'.padEnd(60)} ${'N'.padStart(6)} ${'median'.padStart(8)}   spread (min-max)`)
  for (const set of sets) {
    if (countSets[set] === undefined) throw new Error(`unknown set ${set}; known: ${Object.keys(countSets).join(' | ')}`)
    const calls = countSets[set][2]
    const child = spawn('valgrind', ['--tool=callgrind', '--instr-atstart=no', `--callgrind-out-file=${path.join(outDir, 'cg.%p')}`,
      process.execPath, '--no-concurrent-recompilation', ...(profile ? ['--perf-basic-prof-only-functions'] : []), __filename, '--window-child', set],
    { stdio: ['ignore', 'ignore', 'pipe', 'ipc'], env: process.env })
    dumps = 0
    let err = ''
    child.stderr.on('data', (d) => { err += d })
    const exited = new Promise((resolve) => child.once('exit', resolve))
    const reply = () => new Promise((resolve, reject) => {
      const onExit = (code) => reject(new Error(`child for ${set} exited ${code}: ${err.slice(-500)}`))
      child.once('exit', onExit)
      child.once('message', (m) => { child.off('exit', onExit); resolve(m) })
    })
    const window = async (n) => {
      control(['-z'], child.pid)
      const answer = reply()
      child.send(n)
      await answer
      control(['-d'], child.pid)
      return dumped(child.pid)
    }
    try {
      if (await reply() !== 'warm') throw new Error(`child for ${set} did not warm up`)
      control(['-i', 'on'], child.pid)
      // Thrown away: late compiles, translation of newly instrumented code.
      await window(calls)
      await window(calls)
      const full = []
      const empty = []
      for (let w = 0; w < windows; w++) {
        full.push(await window(calls))
        empty.push(await window(0))
      }
      const base = median(empty.map((d) => d.total))
      const per = full.map((d) => (d.total - base) / calls)
      const m = median(per)
      if (detail) console.log(`    windows ${per.map(Math.round).join(' ')}; empty windows ${empty.map((d) => d.total).join(' ')}`)
      const spread = `${Math.round(Math.min(...per))}-${Math.round(Math.max(...per))} (${(100 * (Math.max(...per) - Math.min(...per)) / m).toFixed(1)}%)`
      console.log(`  ${set.padEnd(60)} ${String(calls).padStart(6)} ${String(Math.round(m)).padStart(8)}   ${spread}, empty window ${Math.round(base)}`)
      if (profile) printProfile(full[per.indexOf(m)].file, child.pid, calls, execFileSync, readFileSync)
    } finally {
      child.kill('SIGKILL')
      await exited
      if (profile) rmSync(`/tmp/perf-${child.pid}.map`, { force: true })
    }
  }
  rmSync(outDir, { recursive: true, force: true })
}

/**
 * Where the instructions of one window go, per call: native functions by
 * name, JIT code named through node's --perf-basic-prof map (TurboFan
 * inlines most helpers into their caller, so read it by optimised function).
 */
function printProfile (file, pid, calls, execFileSync, readFileSync) {
  const text = execFileSync('callgrind_annotate', ['--threshold=99', file], { encoding: 'utf8', maxBuffer: 1 << 28 })
  let ranges = []
  try {
    ranges = readFileSync(`/tmp/perf-${pid}.map`, 'utf8').split('\n').map((l) => {
      const [start, size, ...name] = l.split(' ')
      return [parseInt(start, 16), parseInt(size, 16), name.join(' ')]
    }).filter((r) => !Number.isNaN(r[0]))
  } catch {}
  // Code addresses are reused after GC: the latest entry that covers an address names it.
  const nameOf = (addr) => {
    for (let i = ranges.length - 1; i >= 0; i--) {
      const [start, size, name] = ranges[i]
      if (addr >= start && addr < start + size) return 'JS ' + name
    }
    return 'JIT code not in the perf map (stubs, regular expressions)'
  }
  const by = new Map()
  for (const line of text.split('\n')) {
    const r = /^\s*([\d,]+) \([\s\d.]+%\)\s+(.*)$/.exec(line)
    if (r === null || r[2].includes('PROGRAM TOTALS')) continue
    let fn = r[2].replace(/ \[[^\]]*\]$/, '')
    const jit = /^\?\?\?:0x([0-9a-f]+)/.exec(fn)
    fn = jit !== null ? nameOf(parseInt(jit[1], 16)) : fn.replace(/^\?\?\?:/, '').replace(/^.*\/[^:]*:/, '')
    by.set(fn, (by.get(fn) ?? 0) + Number(r[1].replace(/,/g, '')) / calls)
  }
  for (const [fn, n] of [...by].sort((a, b) => b[1] - a[1]).slice(0, 25)) {
    console.log(`      ${String(Math.round(n)).padStart(7)}  ${fn.slice(0, 120)}`)
  }
}

const uas = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1',
  'curl/8.5.0', 'python-requests/2.31.0', 'Go-http-client/1.1',
  'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
  'sqlmap/1.7.2#stable (https://sqlmap.org)', 'Mozilla/5.00 (Nikto/2.1.6) (Evasions:None) (Test:Port Check)'
]

function median (xs) {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]
}

function wallTime () {
  let sink = 0
  function perCallNs (fn, inputs, batches, rounds) {
    const samples = []
    for (let b = 0; b < batches; b++) {
      const t0 = process.hrtime.bigint()
      for (let r = 0; r < rounds; r++) {
        for (let i = 0; i < inputs.length; i++) sink += fn(inputs[i]) === undefined ? 0 : 1
      }
      samples.push(Number(process.hrtime.bigint() - t0) / (rounds * inputs.length))
    }
    return samples
  }

  // Warm up so that the optimising compiler has settled.
  perCallNs(classifyPathVerdict, typical, 50, 200)
  perCallNs(classifyUserAgent, uas, 50, 200)
  for (const v of Object.values(hostile)) for (let i = 0; i < 50; i++) classifyPathVerdict(v)

  console.log(`node ${process.version}, ${require('node:os').cpus().length} cpus (${require('node:os').cpus()[0].model}), load average ${require('node:os').loadavg().map((l) => l.toFixed(1)).join(' ')}`)

  // Calibration: how fast this machine runs the simplest loop right now. On a
  // shared or busy host every figure below scales with it.
  function charLoop (s) {
    let x = 0
    for (let i = 0; i < s.length; i++) x += s.charCodeAt(i)
    return x
  }
  const calib = 'a'.repeat(2048)
  for (let i = 0; i < 5000; i++) sink += charLoop(calib)
  const calibNs = median(Array.from({ length: 200 }, () => {
    const t0 = process.hrtime.bigint()
    sink += charLoop(calib)
    return Number(process.hrtime.bigint() - t0) / 2048
  }))
  console.log(`calibration: a plain charCodeAt loop runs at ${calibNs.toFixed(2)} ns per character right now (all figures below scale with it)`)
  console.log(`require of classify + user-agent: ${loadMs.toFixed(1)} ms; first call (compiles the automata): ${compileMs.toFixed(1)} ms`)

  const typicalNs = perCallNs(classifyPathVerdict, typical, 200, 100)
  console.log(`\nclassifyPath, typical 404 paths (${typical.length} paths, 200 batches of 100 rounds)`)
  console.log(`  median ${median(typicalNs).toFixed(0)} ns per path, best batch ${Math.min(...typicalNs).toFixed(0)} ns, worst batch ${Math.max(...typicalNs).toFixed(0)} ns`)

  const perPath = typical.map((p) => [p, median(perCallNs(classifyPathVerdict, [p], 30, 2000))])
  perPath.sort((a, b) => b[1] - a[1])
  console.log('  slowest typical paths (median ns):')
  for (const [p, ns] of perPath.slice(0, 5)) console.log(`    ${ns.toFixed(0).padStart(6)}  ${p}`)

  console.log('\nclassifyPath, hostile inputs (each timed alone, 300 runs)')
  let worst = 0
  for (const [name, input] of Object.entries(hostile)) {
    const us = []
    for (let i = 0; i < 300; i++) {
      const t0 = process.hrtime.bigint()
      sink += classifyPathVerdict(input) === undefined ? 0 : 1
      us.push(Number(process.hrtime.bigint() - t0) / 1000)
    }
    worst = Math.max(worst, median(us))
    console.log(`  ${name.padEnd(46)} len ${String(input.length).padStart(6)}  median ${median(us).toFixed(1).padStart(6)} us  max ${Math.max(...us).toFixed(1).padStart(7)} us`)
  }
  console.log(`  worst median ${worst.toFixed(1)} us`)

  // Each call gets a fresh string object, as the HTTP parser hands one over per request.
  const fresh = (s) => Buffer.from(s, 'latin1').toString('latin1')
  const repeated = Array.from({ length: 2000 }, (_, i) => fresh(uas[i % uas.length]))
  const uaNs = perCallNs(classifyUserAgent, repeated, 50, 5)
  console.log(`\nclassifyUserAgent, ${uas.length} user agents seen again and again (remembered)`)
  console.log(`  median ${median(uaNs).toFixed(0)} ns per user agent`)
  let rotation = 0
  const missNs = []
  for (let b = 0; b < 20; b++) {
    const unseen = Array.from({ length: 2000 }, () => fresh(`${uas[0]} r/${rotation++}`))
    missNs.push(...perCallNs(classifyUserAgent, unseen, 1, 1))
  }
  console.log(`  a different Chrome-like user agent on every call (never remembered): median ${median(missNs).toFixed(0)} ns`)
  const longUa = 'Mozilla/5.0 ' + 'x'.repeat(10_000)
  const longNs = median(perCallNs(classifyUserAgent, [longUa], 50, 200))
  console.log(`  10 kB user agent (examined up to 512 characters, not remembered): median ${(longNs / 1000).toFixed(2)} us`)

  if (sink === -1) console.log('')
}

if (process.argv[2] === '--window-child') windowChild(process.argv[3])
else if (process.argv[2] === '--instructions') countInstructions().catch((err) => { console.error(err); process.exit(1) })
else wallTime()
