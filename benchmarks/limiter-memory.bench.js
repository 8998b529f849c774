'use strict'

// 1 000 000 distinct one-shot client IPs (half IPv4, half IPv6 /64s) hitting
// the scanner limit once each, interleaved with one hot offender, against the
// in-process limiter at its default cap (maxTrackedIps 100 000). Reports the
// records held (must stay <= cap), heap used by the limiter, whether the
// offender stayed blocked from its 11th hit to the end, and ns per hit.
//
//   npm run build && node --expose-gc benchmarks/limiter-memory.bench.js
//
// AFW_DIST=<dir> points at another compiled lib/ (default ../dist).

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

const gc = typeof global.gc === 'function' ? global.gc : () => {}

function ipOf (i) {
  // Even: IPv4 spread over 10.0.0.0/8 and 172.16.0.0/12; odd: one /64 each.
  if ((i & 1) === 0) {
    const n = i >>> 1
    return `${n < 8_000_000 ? 10 : 172}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`
  }
  return `2001:db8:${(i >>> 16).toString(16)}:${(i & 0xffff).toString(16)}::${(i % 7) + 1}`
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

function hotPath () {
  const rl = new RateLimiter({ rules: { scanner: { max: 1e9, windowMs: WINDOW } }, maxTrackedIps: CAP, enforce: true, keyPrefix: 'afw:', log })
  const M = 2_000_000
  let t = process.hrtime.bigint()
  for (let i = 0; i < M; i++) rl.hit('203.0.113.9', '203.0.113.9', 'scanner', T0 + 1000 + (i >> 10))
  const hitNs = Number(process.hrtime.bigint() - t) / M
  t = process.hrtime.bigint()
  let s = 0
  for (let i = 0; i < M; i++) s += rl.blockedFor('203.0.113.9', T0 + 1000)
  const lookupNs = Number(process.hrtime.bigint() - t) / M
  t = process.hrtime.bigint()
  for (let i = 0; i < M; i++) s += limiterKey('2001:db8:1:2:3:4:5:6').length
  const keyV6Ns = Number(process.hrtime.bigint() - t) / M
  return { hitNs, lookupNs, keyV6Ns, s }
}

function main () {
  // Baseline: the same loop building the same IP strings and keys, without the limiter.
  flood(null, false)
  const base = flood(null, false)

  gc(); gc()
  const heapBefore = process.memoryUsage().heapUsed
  const rl = new RateLimiter({ rules: { scanner: { max: 10, windowMs: WINDOW } }, maxTrackedIps: CAP, enforce: true, keyPrefix: 'afw:', log })
  const run = flood(rl, true)
  gc(); gc()
  const heapAfter = process.memoryUsage().heapUsed
  const stats = rl.stats()
  const stillBlocked = rl.blockedFor('192.0.2.66', T0 + 1000 + Math.floor(N / 100)) > 0
  const hot = hotPath()

  const mb = (b) => (b / 1048576).toFixed(1)
  const out = {
    node: process.version,
    oneShotIps: N,
    cap: CAP,
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
    floodNsPerHit: ((run.ns - base.ns) / N).toFixed(0),
    floodNsPerIteration: (run.ns / N).toFixed(0),
    baselineNsPerIteration: (base.ns / N).toFixed(0),
    hotKeyNsPerHit: hot.hitNs.toFixed(1),
    blockedForNs: hot.lookupNs.toFixed(1),
    limiterKeyV6Ns: hot.keyV6Ns.toFixed(1)
  }
  console.log(JSON.stringify(out, null, 2))
  if (stats.tracked > CAP || run.maxSize > CAP || !stillBlocked || run.unblockedAfter !== 0) process.exitCode = 1
}

main()
