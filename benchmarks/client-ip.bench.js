'use strict'
// Nanoseconds per resolveClientIp call for the request shapes that matter:
// the common direct case, Cloudflare, and a trusted load balancer.
//
// Header values are fresh strings for every call, as Node's HTTP parser makes
// them: reusing one string would let V8 keep its hash and flatter every Map
// lookup.
// Building them costs time too, so each scenario also runs a baseline loop
// that builds the same headers without resolving, and the report gives the
// difference. One result object is reused, as the plugin does. Scenarios
// alternate within each round and the median round is reported (the machine
// is shared and noisy, hence CPU time rather than wall time).
//
// Usage: npm run build && node benchmarks/client-ip.bench.js [--rounds 9 --iterations 1000000]
// AFW_DIST=/some/dir points it at another build of lib/.
const { join } = require('node:path')

const dist = process.env.AFW_DIST || join(__dirname, '..', 'dist')
const { compileTrustedProxies, resolveClientIp } = require(join(dist, 'ip/client-ip.js'))

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`)
  return i === -1 ? dflt : Number(process.argv[i + 1])
}
const rounds = arg('rounds', 9)
const iterations = arg('iterations', 1_000_000)

const cfOnly = compileTrustedProxies(['cloudflare'])
const withLb = compileTrustedProxies(['cloudflare', '10.0.0.0/8'])
const out = { ip: '0.0.0.0', cloudflare: false, via: undefined, forwardedIgnored: false, privateClient: false }

/**
 * Returns i => a new flat string equal to values[i % values.length], sliced
 * from a Buffer as Node's HTTP parser makes header values. (Concatenating in
 * the loop would give V8 cons strings, which are slower to read than anything
 * a real request carries.)
 */
function fresh (values) {
  const buf = Buffer.from(values.join(''), 'latin1')
  const offsets = [0]
  for (const v of values) offsets.push(offsets[offsets.length - 1] + v.length)
  const n = values.length
  return (i) => { const k = i % n; return buf.latin1Slice(offsets[k], offsets[k + 1]) }
}
const range = (n, f) => Array.from({ length: n }, (_, i) => f(i))
const ua = fresh(range(8, (i) => `curl/8.${i}`))
const client4 = fresh(range(256, (i) => `198.51.100.${i}`))
const client6 = fresh(range(256, (i) => `2001:db8:abcd::${i.toString(16)}`))
// More distinct clients than the cache holds, so every lookup misses.
const distinct6 = fresh(range(65536, (i) => `2001:db8:${(i >>> 8).toString(16)}:${(i & 255).toString(16)}::1`))
const xff3 = fresh(range(256, (i) => `6.6.6.6, 198.51.100.${i}, 10.1.2.3`))
const xffCf = fresh(range(256, (i) => `6.6.6.6, 173.245.48.${i}`))
const ray = fresh(['8c1e2f3a4b5c6d7e-FRA'])

// Peers are socket.remoteAddress: one string per connection, reused across
// keep-alive requests, so a constant is realistic for them.
const scenarios = [
  {
    name: 'untrusted peer, no forwarding headers',
    peer: '198.51.100.7',
    trusted: cfOnly,
    headers: (i) => ({ host: 'example.com', 'user-agent': ua(i) })
  },
  {
    name: 'untrusted IPv4-mapped peer (dual-stack socket), no forwarding headers',
    peer: '::ffff:198.51.100.7',
    trusted: cfOnly,
    headers: (i) => ({ host: 'example.com', 'user-agent': ua(i) })
  },
  {
    name: 'Cloudflare peer, cf-connecting-ip from 256 repeat IPv4 clients',
    peer: '173.245.48.5',
    trusted: cfOnly,
    headers: (i) => ({ host: 'example.com', 'cf-connecting-ip': client4(i), 'cf-ray': ray(i), 'cf-ipcountry': 'DE' })
  },
  {
    name: 'Cloudflare peer, cf-connecting-ip from 256 repeat IPv6 clients',
    peer: '2606:4700:10::6816:1',
    trusted: cfOnly,
    headers: (i) => ({ host: 'example.com', 'cf-connecting-ip': client6(i), 'cf-ray': ray(i) })
  },
  {
    name: 'Cloudflare peer, cf-connecting-ip from distinct IPv6 clients',
    peer: '2606:4700:10::6816:1',
    trusted: cfOnly,
    headers: (i) => ({ host: 'example.com', 'cf-connecting-ip': distinct6(i), 'cf-ray': ray(i) })
  },
  {
    name: 'trusted LB, 3-hop x-forwarded-for (client, proxy, proxy)',
    peer: '10.0.0.2',
    trusted: withLb,
    headers: (i) => ({ host: 'example.com', 'x-forwarded-for': xff3(i) })
  },
  {
    name: 'Cloudflare -> LB -> app (x-forwarded-for then cf-connecting-ip)',
    peer: '10.0.0.2',
    trusted: withLb,
    headers: (i) => ({ host: 'example.com', 'x-forwarded-for': xffCf(i), 'cf-connecting-ip': client4(i) })
  }
]

let sink = 0
function runResolve (s, n, offset) {
  for (let i = 0; i < n; i++) {
    const r = resolveClientIp(s.peer, s.headers(offset + i), s.trusted, out)
    sink += r.ip.length
  }
}
function runBaseline (s, n, offset) {
  for (let i = 0; i < n; i++) {
    const h = s.headers(offset + i)
    sink += h.host.length
  }
}

// CPU time of this process rather than wall time: on a shared machine the
// wall clock also counts the time other processes held the core.
function time (fn, s, n, offset) {
  const start = process.cpuUsage()
  fn(s, n, offset)
  const used = process.cpuUsage(start)
  return (used.user + used.system) * 1000 / n
}

const samples = scenarios.map(() => ({ total: [], base: [] }))
for (const s of scenarios) { runResolve(s, iterations / 10, 0); runBaseline(s, iterations / 10, 0) } // warm up
for (let r = 0; r < rounds; r++) {
  scenarios.forEach((s, k) => {
    // A fresh offset per round keeps "distinct clients" distinct.
    samples[k].total.push(time(runResolve, s, iterations, (r + 1) * iterations))
    samples[k].base.push(time(runBaseline, s, iterations, (r + 1) * iterations))
  })
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
console.log(`node ${process.version}, ${rounds} rounds x ${iterations} calls; median CPU ns per call (resolve = total - building headers)`)
scenarios.forEach((s, k) => {
  const diffs = samples[k].total.map((t, j) => t - samples[k].base[j])
  console.log(`${s.name.padEnd(72)} resolve ${median(diffs).toFixed(0).padStart(5)} ns   total ${median(samples[k].total).toFixed(0).padStart(5)} ns`)
})
if (sink === 0) console.log('')
