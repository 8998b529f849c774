'use strict'

// 1 000 000 distinct one-shot client IPs (half IPv4, half IPv6 /64s, each in
// a /48 of its own) hitting the scanner limit once each, interleaved with one
// hot offender, against the in-process limiter at its default cap
// (maxTrackedIps 100 000) and /48 factor (ipv6SiteFactor 5: an IPv6 hit
// counts for its /64 and its /48): its counter store (LocalStore) and its
// block table. Reports the records held (must stay <= cap), heap used by the
// limiter, whether the offender stayed blocked from its 11th hit to the end,
// whether its counter record survived the flood (its carry blocks it again at
// once in the next window), and ns per hit, also with a shared store beside
// the local one (a synchronous one, and one that answers through a resolved
// promise: the cost of the call itself), and for an IPv6 key. Then the table
// filled with keys at 6 of 10 hits: at which probe a new scanner is blocked.
//
//   npm run build && node --expose-gc benchmarks/limiter-memory.bench.js
//
// AFW_DIST=<dir> points at another compiled lib/ (default ../dist); SITE=<n>
// sets the /48 factor (0: per /64 only; a build without it ignores it).

const path = require('node:path')
const dist = process.env.AFW_DIST ?? path.join(__dirname, '..', 'dist')
const { RateLimiter } = require(path.join(dist, 'limit/limiter.js'))
const { limiterKey } = require(path.join(dist, 'limit/key.js'))

const N = Number(process.env.N ?? 1_000_000)
const CAP = Number(process.env.CAP ?? 100_000)
const OFFENDER_EVERY = 1000
const WINDOW = 60_000
const T0 = WINDOW * 30_000_000 // a window boundary: the whole run fits in one window
const log = { warn () {}, info () {} }
// RULES=default: every class of the default rateLimit (seven since issue 11:
// a record holds 24 bytes per class), the flood still counted as scanner hits.
const RULES = process.env.RULES === 'default'
  ? require(path.join(dist, 'option-table.js')).DEFAULT_RATE_LIMIT
  : { scanner: { max: 10, windowMs: WINDOW } }
const SITE = Number(process.env.SITE ?? 5)

const gc = typeof global.gc === 'function' ? global.gc : () => {}

function ipOf (i) {
  // Even: IPv4 spread over 10.0.0.0/8 and 172.16.0.0/12; odd: one /64 each.
  if ((i & 1) === 0) {
    const n = i >>> 1
    return `${n < 8_000_000 ? 10 : 172}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`
  }
  // One /48 each: one-shot clients at /48 too (rotating /64s inside one /48 is the attack /48 counting catches).
  return `2001:${(i >>> 16).toString(16)}:${(i & 0xffff).toString(16)}:1::${(i % 7) + 1}`
}

function flood (rl, withHits) {
  const offender = '192.0.2.66'
  let offenderHits = 0
  let firstBlockedAt = -1
  let unblockedAfter = 0
  let maxSize = 0
  let sink = 0
  const start = process.hrtime.bigint()
  for (let i = 0; i < N; i++) {
    const now = T0 + 1000 + Math.floor(i / 100) // 100 hits per simulated ms: 10 s for 1M
    if (i % OFFENDER_EVERY === 0) {
      offenderHits++
      if (withHits) {
        const ms = rl.hit(offender, offender, 'scanner', now)
        if (ms > 0 && firstBlockedAt < 0) firstBlockedAt = offenderHits
        if (firstBlockedAt > 0 && rl.blockedFor(offender, now) === 0) unblockedAfter++
      }
    }
    const ip = ipOf(i)
    const key = limiterKey(ip)
    if (withHits) {
      rl.hit(key, ip, 'scanner', now)
      if ((i & 1023) === 0 && rl.size() > maxSize) maxSize = rl.size()
    } else {
      sink += key.length
    }
  }
  const ns = Number(process.hrtime.bigint() - start)
  return { ns, offenderHits, firstBlockedAt, unblockedAfter, maxSize, sink }
}

/** ns per hit of one hot key, answers of an async store landing between chunks of 128 hits (under the cap of 256 pending). */
async function hitNs (store, key = '203.0.113.9') {
  const rl = new RateLimiter({ rules: { scanner: { max: 1e9, windowMs: WINDOW } }, maxTrackedIps: CAP, enforce: true, store, siteFactor: SITE, log })
  const M = 2_000_000
  let ns = 0
  for (let i = 0; i < M; i += 128) {
    const t = process.hrtime.bigint()
    for (let j = i; j < i + 128; j++) rl.hit(key, '203.0.113.9', 'scanner', T0 + 1000 + (j >> 10))
    ns += Number(process.hrtime.bigint() - t)
    if (store !== undefined) await new Promise(setImmediate)
  }
  const shared = rl.stats().shared
  await rl.close()
  // A dist whose limiter takes no store ignores it: nothing to report then.
  if (store !== undefined && (shared === undefined || shared.sent !== M)) return undefined
  return ns / M
}

async function hotPath () {
  const rl = new RateLimiter({ rules: { scanner: { max: 10, windowMs: WINDOW } }, maxTrackedIps: CAP, enforce: true, siteFactor: SITE, log })
  const M = 2_000_000
  const hitOnlyNs = await hitNs(undefined)
  const hitV6Ns = await hitNs(undefined, '2001:db8:1:2::/64')
  const answer = { count: 1 }
  const syncNs = await hitNs({ incr: () => 1, close () {} })
  const asyncNs = await hitNs({ incr: () => Promise.resolve(answer), close () {} })
  let t
  t = process.hrtime.bigint()
  let s = 0
  for (let i = 0; i < M; i++) s += rl.blockedFor('203.0.113.9', T0 + 1000)
  const lookupNs = Number(process.hrtime.bigint() - t) / M
  t = process.hrtime.bigint()
  for (let i = 0; i < M; i++) s += rl.blockedFor('2001:db8:1:2::/64', T0 + 1000)
  const lookupV6Ns = Number(process.hrtime.bigint() - t) / M
  // The same while a /48 is blocked (another one): the /48 of each IPv6 key is then derived and looked up.
  for (let k = 0; k < 100; k++) rl.hit(`2001:db8:9:${k.toString(16)}::/64`, '2001:db8:9::1', 'scanner', T0 + 1000)
  const siteBlocked = rl.blockedFor('2001:db8:9:ffff::/64', T0 + 1000) > 0
  t = process.hrtime.bigint()
  for (let i = 0; i < M; i++) s += rl.blockedFor('2001:db8:1:2::/64', T0 + 1000)
  const lookupV6SiteNs = Number(process.hrtime.bigint() - t) / M
  t = process.hrtime.bigint()
  for (let i = 0; i < M; i++) s += limiterKey('2001:db8:1:2:3:4:5:6').length
  const keyV6Ns = Number(process.hrtime.bigint() - t) / M
  return { hitNs: hitOnlyNs, hitV6Ns, syncNs, asyncNs, lookupNs, lookupV6Ns, lookupV6SiteNs: siteBlocked ? lookupV6SiteNs : undefined, keyV6Ns, s }
}

/** The table filled with CAP keys at 6 of 10 hits, then a new scanner: the probe that blocks it (0: none in 1000). */
function fillThenScan () {
  const rl = new RateLimiter({ rules: RULES, maxTrackedIps: CAP, enforce: true, siteFactor: SITE, log })
  for (let k = 0; k < CAP; k++) {
    const ip = `10.${(k >> 16) & 255}.${(k >> 8) & 255}.${k & 255}`
    for (let i = 0; i < 6; i++) rl.hit(ip, ip, 'scanner', T0 + 1000)
  }
  for (let p = 1; p <= 1000; p++) if (rl.hit('198.51.100.7', '198.51.100.7', 'scanner', T0 + 2000) > 0) return p
  return 0
}

async function main () {
  // Baseline: the same loop building the same IP strings and keys, without the limiter.
  flood(null, false)
  const base = flood(null, false)

  // The counters live in a Float64Array, whose bytes V8 keeps off the heap (arrayBuffers): both count.
  const held = () => { const m = process.memoryUsage(); return m.heapUsed + m.arrayBuffers }
  gc(); gc()
  const heapBefore = held()
  const rl = new RateLimiter({ rules: RULES, maxTrackedIps: CAP, enforce: true, siteFactor: SITE, log })
  const run = flood(rl, true)
  gc(); gc()
  const heapAfter = held()
  const stats = rl.stats()
  const end = T0 + 1000 + Math.floor(N / 100)
  const stillBlocked = rl.blockedFor('192.0.2.66', end) > 0
  const recordKept = rl.blockedFor('192.0.2.66', T0 + WINDOW) === 0 && rl.hit('192.0.2.66', '192.0.2.66', 'scanner', T0 + WINDOW + 1) > 0
  const hot = await hotPath()
  const fillScannerBlockedAtProbe = fillThenScan()

  const mb = (b) => (b / 1048576).toFixed(1)
  const out = {
    node: process.version,
    oneShotIps: N,
    cap: CAP,
    siteFactor: SITE,
    recordsAtEnd: stats.tracked,
    largestSeen: run.maxSize,
    evicted: stats.evicted,
    untracked: stats.untracked,
    blocks: stats.blocked,
    limiterHeapMB: mb(heapAfter - heapBefore),
    bytesPerRecord: Math.round((heapAfter - heapBefore) / Math.max(1, stats.tracked)),
    offenderHits: run.offenderHits,
    offenderBlockedFromHit: run.firstBlockedAt,
    offenderUnblockedChecks: run.unblockedAfter,
    offenderBlockedAtEnd: stillBlocked,
    offenderRecordKept: recordKept,
    floodNsPerHit: ((run.ns - base.ns) / N).toFixed(0),
    floodNsPerIteration: (run.ns / N).toFixed(0),
    baselineNsPerIteration: (base.ns / N).toFixed(0),
    hotKeyNsPerHit: hot.hitNs.toFixed(1),
    hotKeyNsPerHitSyncStore: hot.syncNs === undefined ? 'n/a' : hot.syncNs.toFixed(1),
    hotKeyNsPerHitAsyncStore: hot.asyncNs === undefined ? 'n/a' : hot.asyncNs.toFixed(1),
    hotKeyNsPerHitV6: hot.hitV6Ns.toFixed(1),
    blockedForNs: hot.lookupNs.toFixed(1),
    blockedForV6Ns: hot.lookupV6Ns.toFixed(1),
    blockedForV6WhileA48IsBlockedNs: hot.lookupV6SiteNs === undefined ? 'n/a' : hot.lookupV6SiteNs.toFixed(1),
    limiterKeyV6Ns: hot.keyV6Ns.toFixed(1),
    fillScannerBlockedAtProbe
  }
  console.log(JSON.stringify(out, null, 2))
  if (stats.tracked > CAP || run.maxSize > CAP || !stillBlocked || !recordKept || run.unblockedAfter !== 0) process.exitCode = 1
}

main()
