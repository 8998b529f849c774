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
//   node benchmarks/classify-micro.bench.js --instructions
//
// counts instructions instead (valgrind's callgrind, two runs per input set
// that differ only in the number of calls): slow (minutes) but independent of
// how busy the machine is, unlike wall time on a shared VM.

const path = require('node:path')
const { spawnSync } = require('node:child_process')

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

// Input sets of the --instructions mode: [inputs, calls per run].
const countSets = {
  'typical 404 paths': [typical, 2000],
  "hostile '%c0%ae'.repeat(1700)": [[hostile["'%c0%ae'.repeat(1700)"]], 2000],
  "hostile '%25'.repeat(3400)": [[hostile["'%25'.repeat(3400)"]], 2000],
  "hostile '/' + 'a.'.repeat(5000) + 'php'": [[hostile["'/' + 'a.'.repeat(5000) + 'php'"]], 2000],
  'classifyUserAgent, Chrome desktop, remembered': [[chromeUa], 50000],
  // More distinct user agents than are remembered: every call is a miss.
  'classifyUserAgent, a new user agent per call': [Array.from({ length: 2000 }, (_, i) => `${chromeUa} r/${i}`), 20]
}

if (process.argv[2] === '--count') {
  // Child of the --instructions mode: warm up, then make `calls` more calls.
  const [inputs] = countSets[process.argv[3]]
  const fn = process.argv[3].startsWith('classifyUserAgent') ? classifyUserAgent : classifyPathVerdict
  const calls = Number(process.argv[4])
  let sink = 0
  const warm = Math.max(3, Math.ceil(60000 / inputs.length))
  for (let i = 0; i < warm; i++) for (const p of inputs) sink += fn(p) === undefined ? 0 : 1
  for (let i = 0; i < calls; i++) for (const p of inputs) sink += fn(p) === undefined ? 0 : 1
  process.exit(sink === -1 ? 1 : 0)
}

if (process.argv[2] === '--instructions') {
  // callgrind counts every thread; the two runs differ only in `calls`.
  const count = (set, calls) => {
    const r = spawnSync('valgrind', ['--tool=callgrind', '--callgrind-out-file=/dev/null', process.execPath,
      __filename, '--count', set, String(calls)], { encoding: 'utf8' })
    const m = /Collected : (\d+)/.exec(r.stderr ?? '')
    if (m === null) throw new Error(`no callgrind total for ${set}: ${String(r.stderr).slice(-300)}`)
    return Number(m[1])
  }
  console.log(`node ${process.version}; instructions per call (callgrind, difference of two runs)`)
  for (const [set, [inputs, calls]] of Object.entries(countSets)) {
    const base = count(set, 0)
    const more = count(set, calls)
    console.log(`  ${set.padEnd(44)} ${Math.round((more - base) / (calls * inputs.length)).toString().padStart(7)} instructions per call`)
  }
  process.exit(0)
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
