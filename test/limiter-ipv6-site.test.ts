// IPv6 clients counted per /48 as well as per /64: whoever holds a /48 can
// rotate through its 65 536 /64s, each staying under the limit. Through the
// plugin (a real app, app.inject), then the limiter's own guarantees.
import { test } from 'tap'
import Fastify from 'fastify'
import appFirewall from '../lib/index'
import { RateLimiter } from '../lib/limit/limiter'
import { limiterKey, siteKey } from '../lib/limit/key'
import type { LimitBlockListener, LimitStore } from '../lib/limit/store'
import type { LimitedInfo } from '../lib/types'
import { localApp, prefixOf, randomIPv6, sleep, translated } from './fixtures'

const PROBES = ['/.env', '/wp-login.php', '/.git/config', '/phpmyadmin/index.php', '/actuator/env']
const MIN = 60_000
// A window boundary, so that offsets read as "ms into the window".
const T0 = MIN * 20_000_000
const log = { warn: () => {}, info: () => {} }

test('2 000 /64s of one /48 probing 10 times each (the default scanner limit) are refused once the /48 passes 5 × 10', async (t) => {
  const limited: Array<[string, LimitedInfo]> = []
  // The default scanner limit (10) over a day-long window: 20 000 requests
  // take seconds and must not cross a window boundary (the block would end
  // with its window, and the /48 be limited again). Within 2 minutes of the
  // boundary (midnight UTC), start after it.
  const DAY = 86_400_000
  const left = DAY - (Date.now() % DAY)
  if (left < 120_000) await sleep(left + 50)
  const h = await localApp(t, { enforceRateLimit: true, rateLimit: { scanner: { max: 10, windowMs: DAY } }, onLimited: (ip, info) => { limited.push([ip, info]) } })
  let ok = 0
  h.app.get('/ok', async () => { ok++; return 'ok' })
  const statuses: number[] = []
  for (let k = 0; k < 2000; k++) {
    for (let j = 0; j < 10; j++) {
      const res = await h.app.inject({ url: PROBES[j % PROBES.length], remoteAddress: `2001:db8:7:${k.toString(16)}::${j + 1}` })
      statuses.push(res.statusCode)
    }
  }
  const first = statuses.indexOf(429)
  t.ok(first >= 0 && first <= 51, `first refused: hit ${first + 1} (0: none was); the /48 limit is 50`)
  t.ok(statuses.slice(first).every((s) => s === 429), 'and every probe after it, from whichever /64')
  t.equal(statuses.slice(0, first).filter((s) => s !== 404).length, 0, 'answered by the app before that')

  t.equal((await h.app.inject({ url: '/.env', remoteAddress: '2001:db8:7:ffff:1:2:3:4' })).statusCode, 429, 'a /64 of the /48 never seen before is refused too')
  t.equal((await h.app.inject({ url: '/ok', remoteAddress: '2001:db8:7:ffff::9' })).statusCode, 200, 'existing routes still serve it (enforceScope "not-found")')
  t.equal(ok, 1)
  t.equal((await h.app.inject({ url: '/.env', remoteAddress: '2001:db8:8:1::1' })).statusCode, 404, 'the next /48 is not blocked')
  t.equal((await h.app.inject({ url: '/.env', remoteAddress: '198.51.100.1' })).statusCode, 404, 'nor is IPv4')

  const site = limited.filter(([, info]) => info.key === '2001:db8:7::/48')
  t.equal(site.length, 1, 'onLimited ran once for the /48')
  t.match(site[0]?.[1], { classification: 'scanner', count: 51, max: 50, enforced: true })
  t.match(site[0]?.[0], /^2001:db8:7:/, 'with the address whose hit passed the limit')
})

test('in shadow mode the probes of a rotating /48 are marked would_block', async (t) => {
  const h = await localApp(t, { rateLimit: { scanner: { max: 2, windowMs: 86_400_000 } }, ipv6SiteFactor: 3 })
  for (let k = 0; k < 8; k++) {
    for (let j = 0; j < 2; j++) t.equal((await h.app.inject({ url: '/.env', remoteAddress: `2001:db8:9:${k}::${j + 1}` })).statusCode, 404)
  }
  const marks = (await h.events()).map((e) => e.would_block === true)
  t.same(marks.indexOf(true), 6, 'the 7th hit passes the /48 limit of 2 × 3')
  t.ok(marks.slice(6).every(Boolean), 'every later hit of the /48 is marked')
})

test('ipv6SiteFactor: 0 counts IPv6 per /64 only; a bad value fails register naming the option', async (t) => {
  const h = await localApp(t, { enforceRateLimit: true, ipv6SiteFactor: 0, rateLimit: { scanner: { max: 10, windowMs: 60_000 } } })
  for (let k = 0; k < 100; k++) {
    for (let j = 0; j < 10; j++) {
      const res = await h.app.inject({ url: '/.env', remoteAddress: `2001:db8:7:${k.toString(16)}::${j + 1}` })
      if (res.statusCode !== 404) t.fail(`hit ${j + 1} of /64 ${k} was answered ${res.statusCode}`)
    }
  }
  t.equal(h.app.appfirewall.options.ipv6SiteFactor, 0)
  for (const bad of [-1, 1.5, '5', 1001]) {
    const app = Fastify()
    await t.rejects(async () => { await app.register(appFirewall, { mode: 'off', ipv6SiteFactor: bad as number }).ready() },
      { code: 'FST_APPFIREWALL_INVALID_OPTIONS', message: /"ipv6SiteFactor" must be an integer from 0 to 1000/ }, String(bad))
    await app.close()
  }
})

test('siteKey gives the RFC 5952 /48 of every /64 key, as ipaddr.js does', async (t) => {
  t.equal(siteKey('2001:db8:1:2::/64'), '2001:db8:1::/48')
  t.equal(siteKey('2001:db8:0:5::/64'), '2001:db8::/48')
  t.equal(siteKey('0:0:0:5::/64'), '::/48')
  t.equal(siteKey('0:1:2:3::/64'), '0:1:2::/48')
  t.equal(siteKey('::/64'), '::/48')
  let mismatches = 0
  for (const { parts, ip } of randomIPv6(7, 5000)) {
    if (translated(parts) !== undefined) continue // an IPv4 client behind a translator has no /48
    const want = prefixOf(parts, 3, 48)
    if (siteKey(limiterKey(ip) as string) !== want) {
      mismatches++
      t.equal(siteKey(limiterKey(ip) as string), want, ip)
    }
  }
  t.equal(mismatches, 0, 'no address differs')
})

test('a blocked /48 blocks its /64s without counting them, so rotating through it cannot fill the key table', async (t) => {
  const rl = new RateLimiter({ rules: { scanner: { max: 10, windowMs: MIN } }, maxTrackedIps: 100, enforce: true, siteFactor: 5, log })
  t.teardown(() => rl.close())
  let firstBlocked = -1
  for (let k = 0; k < 20_000; k++) {
    const ip = `2001:db8:7:${k.toString(16)}::1`
    if (rl.hit(limiterKey(ip) as string, ip, 'scanner', T0 + 100) > 0 && firstBlocked === -1) firstBlocked = k
  }
  t.equal(firstBlocked, 50, 'the 51st /64 passed the /48 limit')
  t.ok(rl.size() <= 52, `the /48 and the 50 /64s counted before its block: ${rl.size()} records`)
  t.equal(rl.stats().evicted, 0, 'nothing was pushed out')
  t.equal(rl.blockedFor('2001:db8:7:abcd::/64', T0 + 200), MIN - 200, 'any /64 inside is blocked to the end of the window')
  t.equal(rl.blockedFor('2001:db8:8::/64', T0 + 200), 0)
  t.equal(rl.blockedFor('203.0.113.7', T0 + 200), 0)
  t.equal(rl.blockedFor('2001:db8:7:abcd::/64', T0 + MIN), 0, 'until the window ends')
})

test('a /48 block from a shared store covers its /64s and lasts at most its class window', async (t) => {
  let listener: LimitBlockListener = () => {}
  const store: LimitStore = { incr: () => undefined, subscribe: (l) => { listener = l }, close: () => {} }
  const rl = new RateLimiter({ rules: { scanner: { max: 3, windowMs: MIN }, unknown: { max: 100, windowMs: 10 * MIN } }, maxTrackedIps: 100, enforce: true, store, log })
  t.teardown(() => rl.close())
  listener('2001:db8:5::/48', 1e12, 'scanner')
  const ms = rl.blockedFor('2001:db8:5:77::/64', Date.now())
  t.ok(ms > MIN - 1000 && ms <= MIN, `held for the scanner window, not longer (${ms} ms)`)
  t.ok(rl.anyBlocked(Date.now()))
  listener('2001:db8:6::/48', 1000, 'benign-miss')
  t.equal(rl.blockedFor('2001:db8:6:1::/64', Date.now()), 0, 'a class without a rule here blocks nothing')
  listener('2001:db8:6::/48', 1000, '__proto__' as 'scanner')
  t.equal(rl.blockedFor('2001:db8:6:1::/64', Date.now()), 0)
})

test('a class of max 0 blocks the /64 of a first hit, not its /48; the /48 falls at the factor-th /64', async (t) => {
  const limited: string[] = []
  const rl = new RateLimiter({
    rules: { 'scanner-certain': { max: 0, windowMs: MIN } },
    maxTrackedIps: 1000,
    siteFactor: 5,
    enforce: true,
    onLimited: (_ip, info) => { limited.push(info.key) },
    log
  })
  t.teardown(() => rl.close())
  const first = limiterKey('2001:db8:9:1::5') as string
  t.ok(rl.hit(first, '2001:db8:9:1::5', 'scanner-certain', T0 + 10) > 0, 'the first hit blocks')
  t.same(limited, ['2001:db8:9:1::/64'], 'its /64, not the whole site')
  t.equal(rl.blockedFor(limiterKey('2001:db8:9:2::5') as string, T0 + 20), 0, 'another /64 of the /48 is not blocked')
  for (let k = 2; k <= 5; k++) rl.hit(limiterKey(`2001:db8:9:${k}::5`) as string, `2001:db8:9:${k}::5`, 'scanner-certain', T0 + 30 + k)
  t.ok(limited.includes('2001:db8:9::/48'), `the fifth /64 blocks the /48 (${limited.join(', ')})`)
  t.ok(rl.blockedFor(limiterKey('2001:db8:9:77::1') as string, T0 + 40) > 0, 'and with it every /64 inside')
})
