// The limiter's key table (maxTrackedIps) is bounded, and hot keys (at half
// their limit or more) are never evicted for a newcomer. Filling it with keys
// held just under their limit must not blind the limiter to a new scanner,
// and a flood of one-shot IPs must still never push out a hot offender.
import { test } from 'tap'
import type { FastifyInstance } from 'fastify'
import { RateLimiter } from '../lib/limit/limiter'
import { LocalStore } from '../lib/limit/local-store'
import type { LimitRule } from '../lib/limit/store'
import { localApp } from './fixtures'

// A day-long window: a test run straddles a window boundary (midnight UTC) only by a rare accident.
const DAY = 86_400_000
const MIN = 60_000
const T0 = MIN * 20_000_000
const PROBES = ['/.env', '/wp-login.php', '/.git/config', '/phpmyadmin/index.php', '/actuator/env', '/.aws/credentials']
const log = { warn: () => {}, info: () => {} }

function filler (k: number): string {
  return `10.${(k >> 16) & 255}.${(k >> 8) & 255}.${k & 255}`
}

async function probe (app: FastifyInstance, ip: string, n: number): Promise<number[]> {
  const out: number[] = []
  for (let i = 0; i < n; i++) out.push((await app.inject({ url: PROBES[i % PROBES.length], remoteAddress: ip })).statusCode)
  return out
}

test('a key table filled with 1 000 keys at 6 of 10 probes still blocks a new scanner (maxTrackedIps: 1000)', async (t) => {
  const h = await localApp(t, { enforceRateLimit: true, maxTrackedIps: 1000, rateLimit: { scanner: { max: 10, windowMs: DAY } } })
  for (let k = 0; k < 1000; k++) {
    const s = await probe(h.app, filler(k), 6)
    if (s.some((x) => x !== 404)) t.fail(`filler ${k} answered ${s.join(',')}`)
  }
  const scanner = await probe(h.app, '203.0.113.66', 12)
  const first = scanner.indexOf(429)
  t.ok(first === 10 || first === 11, `the new scanner is refused once past 10 probes: ${scanner.join(',')}`)
  t.ok(scanner.slice(first).every((s) => s === 429))

  // Nobody was evicted for it: a filler still has its 6 probes counted.
  const more = await probe(h.app, filler(500), 6)
  t.ok(more.slice(0, 4).every((s) => s === 404) && more[5] === 429, `a filler is refused past its own 10 probes: ${more.join(',')}`)
  // Without a record, one-shot newcomers are counted approximately, never blocked after one probe.
  for (let i = 0; i < 2000; i++) {
    const s = (await h.app.inject({ url: '/.env', remoteAddress: `198.18.${i >> 8}.${i & 255}` })).statusCode
    if (s !== 404) t.fail(`one-shot ${i} was answered ${s}`)
  }
  const after = await probe(h.app, filler(501), 5)
  t.equal(after[4], 429, `a filler still holds its count after the one-shot flood: ${after.join(',')}`)
})

test('the exact case on the limiter: 1 000 keys × 6 probes, then a new scanner, then a one-shot flood', async (t) => {
  const rl = new RateLimiter({ rules: { scanner: { max: 10, windowMs: MIN } }, maxTrackedIps: 1000, enforce: true, log })
  t.teardown(() => rl.close())
  for (let k = 0; k < 1000; k++) for (let i = 0; i < 6; i++) rl.hit(filler(k), filler(k), 'scanner', T0 + k)
  t.equal(rl.size(), 1000)
  const scanner: number[] = []
  for (let i = 0; i < 11; i++) scanner.push(rl.hit('203.0.113.66', '203.0.113.66', 'scanner', T0 + 2000 + i))
  t.same(scanner.map((ms) => ms > 0), [...Array(10).fill(false), true], 'blocked at its 11th probe, not before')
  t.equal(rl.stats().untracked, 11, 'counted without a record')
  t.equal(rl.stats().evicted, 0, 'no filler was evicted for it')
  for (let i = 0; i < 100_000; i++) {
    const ip = `198.18.${(i >> 8) & 255}.${i & 255}:${i >> 16}`
    if (rl.hit(ip, ip, 'scanner', T0 + 3000) > 0) {
      t.fail(`one-shot ${i} was blocked`)
      break
    }
  }
  // Under that flood a newcomer must stand out from the collision noise: it is still caught.
  let probes = 0
  while (rl.hit('203.0.113.77', '203.0.113.77', 'scanner', T0 + 3500) === 0 && probes < 1000) probes++
  t.ok(probes >= 10 && probes < 100, `a new scanner after the flood is blocked at probe ${probes + 1}`)
  let kept = 0
  for (let k = 0; k < 1000; k++) if (rl.hit(filler(k), filler(k), 'scanner', T0 + 4000) === 0) kept++
  t.equal(kept, 1000, 'every filler kept its 6 probes (a 7th is still under the limit)')
  for (let i = 0; i < 4; i++) rl.hit(filler(7), filler(7), 'scanner', T0 + 5000)
  t.ok(rl.blockedFor(filler(7), T0 + 5000) > 0, 'and its 11th probe blocks it')
})

test('the overflow count never falls short, carries into the next window, and starts over after a gap', async (t) => {
  const rule: LimitRule = { classification: 'scanner', index: 0, max: 10, windowMs: MIN }
  const store = new LocalStore([rule], 100)
  for (let k = 0; k < 100; k++) for (let i = 0; i < 6; i++) store.incr(`hot${k}`, rule, T0)
  const counts: number[] = []
  for (let i = 0; i < 8; i++) counts.push(store.incr('late', rule, T0 + 100))
  t.same(counts, [1, 2, 3, 4, 5, 6, 7, 8])
  // A quarter into the next window, 3/4 of the 8 carry over (the hot keys, 4 carried + 3, still fill the table).
  for (let k = 0; k < 100; k++) for (let i = 0; i < 3; i++) store.incr(`hot${k}`, rule, T0 + MIN + MIN / 4)
  t.equal(store.incr('late', rule, T0 + MIN + MIN / 4), 6 + 1)
  t.equal(store.incr('late', rule, T0 + 3 * MIN), 1, 'a window with no hits in between forgets the count')
  store.close()
})
