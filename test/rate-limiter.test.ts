import { test } from 'tap'
import { limiterKey } from '../lib/limit/key'
import { RateLimiter, type RateLimiterOptions } from '../lib/limit/limiter'
import { LocalStore } from '../lib/limit/local-store'
import { BlockTable } from '../lib/limit/block-table'
import { estimate, windowStart, type LimitRule } from '../lib/limit/store'
import type { LimitedInfo } from '../lib/types'
import { prefixOf, quietLog, randomIPv6, translated } from './fixtures'

const MIN = 60_000
// A window boundary, so that offsets in the tests read as "ms into the window".
const T0 = MIN * 20_000_000

function limiter (over: Partial<RateLimiterOptions> = {}): RateLimiter {
  return new RateLimiter({
    rules: { scanner: { max: 10, windowMs: MIN } },
    maxTrackedIps: 1000,
    enforce: true,
    log: quietLog(),
    ...over
  })
}

test('limiterKey keeps IPv4 as it is and counts IPv6 per /64', async (t) => {
  const rows: Array<[string, string | undefined]> = [
    ['203.0.113.7', '203.0.113.7'],
    ['0.0.0.0', undefined],
    ['', undefined],
    ['::', undefined],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
    ['2001:db8:1:2::1', '2001:db8:1:2::/64'],
    ['2001:db8:1:2:ffff::5', '2001:db8:1:2::/64'],
    ['2001:db8::1', '2001:db8::/64'],
    ['2001:db8::', '2001:db8::/64'],
    ['2001:db8:0:1::7', '2001:db8:0:1::/64'],
    ['2001:0:0:5::', '2001:0:0:5::/64'],
    ['2001::5:0:0:0:1', '2001:0:0:5::/64'],
    ['2001:5:6::7:8:9', '2001:5:6::/64'],
    ['2001:0:0:5:6:7:8:9', '2001:0:0:5::/64'],
    ['fe80::1', 'fe80::/64'],
    ['::1', '::/64'],
    ['::5:6:7:8:9', '0:0:0:5::/64'],
    ['1:2:3:4:5::', '1:2:3:4::/64'],
    ['1:2:3::8', '1:2:3::/64'],
    ['64:ff9b::1.2.3.4', '1.2.3.4'],
    ['::ffff:0:0:0', undefined],
    ['::1:2:3:4:5:1.2.3.4', '0:1:2:3::/64']
  ]
  for (const [ip, key] of rows) t.equal(limiterKey(ip), key, ip)
})

test('limiterKey agrees with ipaddr.js on the /64 of random canonical IPv6 addresses, and on the IPv4 client of a translator', async (t) => {
  let mismatches = 0
  for (const { parts, ip } of randomIPv6(42, 5000)) {
    const want = translated(parts) ?? prefixOf(parts, 4, 64)
    if (limiterKey(ip) !== want) {
      mismatches++
      t.equal(limiterKey(ip), want, ip)
    }
  }
  t.equal(mismatches, 0, 'no address differs')
})

test('clients behind an IPv4-to-IPv6 translator are counted as their IPv4 address, not as one /64', async (t) => {
  t.equal(limiterKey('64:ff9b::c633:6401'), '198.51.100.1', 'NAT64 (RFC 6052)')
  t.equal(limiterKey('64:ff9b::cb00:7107'), '203.0.113.7', 'another client of the same translator is another key')
  t.equal(limiterKey('::ffff:0:102:304'), '1.2.3.4', 'SIIT, IPv4-translated')
  t.equal(limiterKey('::102:304'), '1.2.3.4', 'IPv4-compatible')
  t.equal(limiterKey('::1'), '::/64', 'loopback is no translated client')
  t.equal(limiterKey('64:ff9b:1::5'), '64:ff9b:1::/64', 'the local-use prefix has no fixed place for the IPv4 address')
})

test('the window estimate carries the previous window for the part that still overlaps', async (t) => {
  t.equal(windowStart(T0 + 1234, MIN), T0)
  t.equal(estimate(0, 3, 100, MIN), 3)
  t.equal(estimate(10, 1, 6_000, MIN), 10) // 90 % of 10 carried, plus this hit
  t.equal(estimate(10, 1, 59_999, MIN), 1)
})

test('an IP is blocked for the rest of the window once it passes its class limit', async (t) => {
  const rl = limiter()
  for (let i = 0; i < 10; i++) t.equal(rl.hit('198.51.100.1', '198.51.100.1', 'scanner', T0 + 1000 + i), 0, `hit ${i + 1} is within the limit`)
  t.equal(rl.blockedFor('198.51.100.1', T0 + 1500), 0, 'not blocked at the limit')
  t.equal(rl.hit('198.51.100.1', '198.51.100.1', 'scanner', T0 + 20_000), 40_000, 'the 11th hit returns the rest of the window')
  t.equal(rl.blockedFor('198.51.100.1', T0 + 30_000), 30_000)
  t.equal(rl.hit('198.51.100.1', '198.51.100.1', 'scanner', T0 + 30_000), 30_000, 'further hits report the same block')
  t.equal(rl.blockedFor('198.51.100.2', T0 + 30_000), 0, 'another IP is not blocked')
  t.equal(rl.blockedFor('198.51.100.1', T0 + MIN), 0, 'the block ends with the window')
  await rl.close()
})

test('anyBlocked and counts let the caller skip work when nothing can match', async (t) => {
  const rl = limiter({ rules: { scanner: { max: 1, windowMs: 1000 } } })
  t.equal(rl.counts('scanner'), true)
  t.equal(rl.counts('unknown'), false)
  t.equal(rl.anyBlocked(T0), false)
  rl.hit('k', 'k', 'scanner', T0)
  rl.hit('k', 'k', 'scanner', T0)
  rl.hit('j', 'j', 'scanner', T0 + 500)
  rl.hit('j', 'j', 'scanner', T0 + 500)
  t.equal(rl.anyBlocked(T0 + 999), true)
  t.equal(rl.stats().blocked, 2)
  t.equal(rl.anyBlocked(T0 + 1000), false, 'once the last block has ended')
  t.equal(rl.stats().blocked, 0, 'stale blocks are forgotten at once')
  await rl.close()
})

test('benign misses and unknown 404s are never counted unless the user gives them a rule', async (t) => {
  const rl = limiter()
  for (let i = 0; i < 50; i++) {
    t.equal(rl.hit('198.51.100.3', '198.51.100.3', 'benign-miss', T0 + i), 0)
    t.equal(rl.hit('198.51.100.3', '198.51.100.3', 'unknown', T0 + i), 0)
  }
  t.equal(rl.size(), 0, 'nothing tracked')
  t.equal(rl.blockedFor('198.51.100.3', T0 + 100), 0)

  const custom = limiter({ rules: { unknown: { max: 3, windowMs: 1000 } } })
  for (let i = 0; i < 3; i++) t.equal(custom.hit('k', 'k', 'unknown', T0 + i), 0)
  t.equal(custom.hit('k', 'k', 'unknown', T0 + 10), 990, 'a configured rule for unknown counts')
  t.equal(custom.hit('j', 'j', 'scanner', T0 + 10), 0, 'scanner has no rule when the user replaced the defaults')
  await custom.close()
  await rl.close()
})

test('classes are counted separately for one key', async (t) => {
  const rl = limiter({ rules: { scanner: { max: 2, windowMs: MIN }, unknown: { max: 5, windowMs: 1000 } } })
  t.equal(rl.hit('k', 'k', 'scanner', T0), 0)
  for (let i = 0; i < 5; i++) t.equal(rl.hit('k', 'k', 'unknown', T0 + i), 0)
  t.equal(rl.hit('k', 'k', 'scanner', T0 + 5), 0, 'unknown hits did not count as scanner')
  t.equal(rl.hit('k', 'k', 'unknown', T0 + 100), 900, 'unknown blocks for the rest of its own window')
  t.equal(rl.size(), 1, 'one record per key')
  await rl.close()
})

test('hits at the end of one window carry into the next', async (t) => {
  const rl = limiter()
  for (let i = 0; i < 10; i++) rl.hit('k', 'k', 'scanner', T0 + 50_000 + i)
  t.equal(rl.hit('k', 'k', 'scanner', T0 + MIN + 6_000), 0, '90 % of the 10 carried plus 1 is at the limit')
  t.equal(rl.hit('k', 'k', 'scanner', T0 + MIN + 6_000), MIN - 6_000, 'the next hit passes it')

  const fresh = limiter()
  for (let i = 0; i < 10; i++) fresh.hit('k', 'k', 'scanner', T0 + i)
  for (let i = 0; i < 10; i++) t.equal(fresh.hit('k', 'k', 'scanner', T0 + 2 * MIN + i), 0, 'a window that ended two windows ago carries nothing')
  await rl.close()
  await fresh.close()
})

test('a clock that steps back keeps counting in the stored window', async (t) => {
  const rl = limiter()
  for (let i = 0; i < 10; i++) rl.hit('k', 'k', 'scanner', T0 + MIN + i)
  t.ok(rl.hit('k', 'k', 'scanner', T0 + 5) > 0, 'the count was not reset by an earlier timestamp')
  await rl.close()
})

test('onLimited is called once per block with what was passed', async (t) => {
  const calls: Array<[string, LimitedInfo]> = []
  const rl = limiter({ enforce: false, onLimited: (ip, info) => { calls.push([ip, info]) } })
  for (let i = 0; i < 15; i++) rl.hit('2001:db8:1:2::/64', '2001:db8:1:2::9', 'scanner', T0 + i)
  t.equal(calls.length, 1, 'five hits over the limit, one call')
  t.same(calls[0], ['2001:db8:1:2::9', {
    classification: 'scanner', count: 11, max: 10, retryAfterMs: MIN - 10, enforced: false, key: '2001:db8:1:2::/64'
  }])
  // The next window starts over the limit (carry), which is a new block.
  rl.hit('2001:db8:1:2::/64', '2001:db8:1:2::9', 'scanner', T0 + MIN + 10)
  t.equal(calls.length, 2, 'a new block in the next window calls again')
  t.equal(calls[1]?.[1].enforced, false)
  await rl.close()
})

test('an onLimited that throws changes nothing and is reported once', async (t) => {
  const log = quietLog()
  const rl = limiter({ log, onLimited: () => { throw new Error('boom') } })
  for (let i = 0; i < 10; i++) rl.hit('a', 'a', 'scanner', T0 + i)
  t.equal(rl.hit('a', 'a', 'scanner', T0 + 10), MIN - 10, 'the hit still reports the block')
  for (let i = 0; i < 11; i++) rl.hit('b', 'b', 'scanner', T0 + i)
  t.equal(rl.blockedFor('b', T0 + 20), MIN - 20)
  t.equal(rl.stats().onLimitedErrors, 2)
  t.equal(log.warns.length, 1, 'one warning')
  t.match(log.warns[0], /onLimited threw/)
  await rl.close()
})

test('addresses of one IPv6 /64 share one count', async (t) => {
  const rl = limiter()
  for (let i = 0; i < 10; i++) {
    const ip = `2001:db8:aa:bb:${i + 1}::1`
    t.equal(rl.hit(limiterKey(ip) as string, ip, 'scanner', T0 + i), 0)
  }
  const last = '2001:db8:aa:bb:ffff:ffff:ffff:ffff'
  t.ok(rl.hit(limiterKey(last) as string, last, 'scanner', T0 + 20) > 0, 'the 11th address of the /64 is over the limit')
  t.ok(rl.blockedFor(limiterKey('2001:db8:aa:bb::77') as string, T0 + 30) > 0, 'the whole /64 is blocked')
  t.equal(rl.blockedFor(limiterKey('2001:db8:aa:bc::1') as string, T0 + 30), 0, 'the next /64 is not')
  t.equal(rl.size(), 1)
  await rl.close()
})

test('a flood of one-shot IPs stays under maxTrackedIps and never evicts a hot offender', async (t) => {
  const rl = limiter({ maxTrackedIps: 100 })
  const hot = '192.0.2.66'
  let now = T0
  let largest = 0
  for (let i = 0; i < 20_000; i++) {
    now = T0 + Math.floor(i / 1000) // 20 ms of traffic, all in one window
    // The offender comes back every 50 newcomers: well before its record reaches the front of a 100-record store.
    if (i % 50 === 0) rl.hit(hot, hot, 'scanner', now)
    const ip = i % 2 === 0 ? `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}` : `2001:db8:${i.toString(16)}::1`
    rl.hit(limiterKey(ip) as string, ip, 'scanner', now)
    if (rl.size() > largest) largest = rl.size()
  }
  t.equal(largest, 100, 'the store never held more than maxTrackedIps records')
  t.ok(rl.blockedFor(hot, now) > 0, 'the offender is blocked')
  const s = rl.stats()
  t.ok(s.tracked <= 100, `tracked ${s.tracked}`)
  t.ok(s.evicted > 19_000, 'one-shots were evicted')
  t.equal(s.untracked, 0, 'every newcomer found room')
  // Blocks live apart from the counters, so the block above proves nothing
  // about eviction; the offender's counts do: only a record that survived
  // the flood carries its 400 hits into the next window.
  t.equal(rl.blockedFor(hot, T0 + MIN), 0, 'its block ended with the window')
  t.ok(rl.hit(hot, hot, 'scanner', T0 + MIN + 10) > 0, 'its record survived the flood: the carry blocks it again at once')
  await rl.close()
})

test('a warm key below its limit outlives one-shot keys', async (t) => {
  const rl = limiter({ maxTrackedIps: 100 })
  for (let i = 0; i < 4; i++) rl.hit('warm', 'warm', 'scanner', T0 + i)
  for (let i = 0; i < 5000; i++) rl.hit(`10.0.${i >> 8}.${i & 255}`, 'x', 'scanner', T0 + 10)
  for (let i = 0; i < 6; i++) t.equal(rl.hit('warm', 'warm', 'scanner', T0 + 20 + i), 0)
  t.ok(rl.hit('warm', 'warm', 'scanner', T0 + 30) > 0, 'its earlier hits were still counted')
  await rl.close()
})

function scannerRule (max: number, windowMs: number): LimitRule {
  return { classification: 'scanner', index: 0, max, windowMs }
}

test('expired records make room before live ones', async (t) => {
  const rule = scannerRule(10, 1000)
  const store = new LocalStore([rule], 100)
  for (let i = 0; i < 99; i++) store.incr(`old${i}`, rule, T0)
  for (let i = 0; i < 3; i++) store.incr('live', rule, T0 + 5_000) // three hits: not one-shot, not hot
  for (let i = 0; i < 200; i++) store.incr(`new${i}`, rule, T0 + 5_100)
  t.ok(store.stats().tracked <= 100, 'bounded')
  t.equal(store.incr('live', rule, T0 + 5_200), 4, 'the live record kept its count')
  store.close()
})

test('a store full of hot offenders leaves newcomers untracked instead of forgetting an offender', async (t) => {
  const calls: string[] = []
  const rl = limiter({ maxTrackedIps: 100, onLimited: (ip) => { calls.push(ip) } })
  for (let k = 0; k < 100; k++) {
    for (let i = 0; i < 11; i++) rl.hit(`h${k}`, `h${k}`, 'scanner', T0 + i)
  }
  t.equal(calls.length, 100)
  t.equal(rl.hit('newcomer', 'newcomer', 'scanner', T0 + 50), 0)
  t.equal(rl.stats().untracked, 1)
  let kept = 0
  for (let k = 0; k < 100; k++) if (rl.blockedFor(`h${k}`, T0 + 60) > 0) kept++
  t.equal(kept, 100, 'every offender is still blocked')
  t.equal(rl.size(), 100)
  let counted = 0
  for (let k = 0; k < 100; k++) if (rl.hit(`h${k}`, `h${k}`, 'scanner', T0 + MIN + 60) > 0) counted++
  t.equal(counted, 100, 'every offender kept its count: its carry blocks it again in the next window')
  t.equal(calls.length, 200, 'each of those is a new block, announced once')
  await rl.close()
})

test('dropping a counter record never lifts a block', async (t) => {
  const rl = limiter({ maxTrackedIps: 1 })
  for (let i = 0; i < 11; i++) rl.hit('a', 'a', 'scanner', T0 + MIN - 1)
  // Its carry blocks it again in the next window, until that window ends.
  t.equal(rl.hit('a', 'a', 'scanner', T0 + MIN + 1), MIN - 1)
  // Near that window's end its count has decayed to one hit: the newcomer may take its record.
  t.equal(rl.hit('b', 'b', 'scanner', T0 + 2 * MIN - 1000), 0)
  t.equal(rl.stats().evicted, 1, "a's record was dropped for b")
  t.equal(rl.blockedFor('a', T0 + 2 * MIN - 1000), 1000, 'a is still blocked to the end of its window')
  await rl.close()
})

test('a flood of one-shot keys in the local store never evicts the record of a hot offender', async (t) => {
  const rule = scannerRule(10, MIN)
  const store = new LocalStore([rule], 100)
  let hot = 0
  for (let i = 0; i < 20_000; i++) {
    if (i % 50 === 0) hot = store.incr('hot', rule, T0 + (i >> 10))
    store.incr(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, rule, T0 + (i >> 10))
  }
  t.equal(hot, 400, 'all 400 hits of the offender were counted in one record')
  t.ok(store.stats().tracked <= 100)
  t.equal(store.stats().untracked, 0)
  store.close()
})

test('blocks are bounded by maxTrackedIps and expired ones go first', async (t) => {
  const table = new BlockTable(100)
  for (let i = 0; i < 50; i++) table.set(`gone${i}`, T0 + 10, T0)
  for (let i = 0; i < 50; i++) table.set(`live${i}`, T0 + 10_000, T0)
  table.set('newest', T0 + 10_000, T0 + 100)
  t.equal(table.size, 100 - 32 + 1, 'the expired blocks among the oldest were dropped')
  for (let i = 0; i < 200; i++) table.set(`more${i}`, T0 + 20_000, T0 + 200)
  t.ok(table.size <= 100)
  t.equal(table.until('more199', T0 + 300), T0 + 20_000)
  table.set('more199', T0 + 5, T0 + 300)
  t.equal(table.until('more199', T0 + 300), T0 + 20_000, 'a shorter block never shortens a longer one')
  table.clear()
  t.equal(table.size, 0)
  t.equal(table.anyBlocked(T0 + 300), false)
})

test('counts survive the record arrays growing towards the cap', async (t) => {
  const rule = scannerRule(100, MIN)
  const store = new LocalStore([rule], 5000)
  for (let i = 0; i < 3000; i++) {
    store.incr(`k${i}`, rule, T0)
    store.incr(`k${i}`, rule, T0)
  }
  let right = 0
  for (let i = 0; i < 3000; i++) if (store.incr(`k${i}`, rule, T0) === 3) right++
  t.equal(right, 3000, 'every key has its three hits')
  t.equal(store.stats().tracked, 3000)
  store.close()
})

test('a store full of keys below half their limit drops the coolest one for a newcomer', async (t) => {
  const rule = scannerRule(20, MIN)
  const store = new LocalStore([rule], 100)
  for (let i = 0; i < 100; i++) {
    for (let n = 0; n < 5 - (i === 7 ? 3 : 0); n++) store.incr(`k${i}`, rule, T0)
  }
  store.incr('newcomer', rule, T0 + 1)
  t.equal(store.stats().tracked, 100)
  t.equal(store.stats().evicted, 1)
  t.equal(store.incr('k7', rule, T0 + 2), 1, 'the key with the fewest hits was the one dropped')
  t.equal(store.incr('k8', rule, T0 + 2), 6, 'the others kept their counts')
  store.close()
})
