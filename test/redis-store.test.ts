import { test, type Test } from 'tap'
import { RateLimiter } from '../lib/limit/limiter'
import { RedisStore, blocksChannel } from '../lib/limit/redis-store'
import type { LimitCount, LimitRule } from '../lib/limit/store'
import type { LimitedInfo, RedisLike } from '../lib/types'
import type Redis from 'ioredis'
import { privateRedis, quietLog, sharedRedis, sleep, waitFor } from './fixtures'

// Day-long windows: a test run straddles a window boundary (midnight UTC) only by a rare accident.
const DAY = 86_400_000

/** A limiter counting through `redis` under `prefix`, closed when `t` ends. */
function limiter (t: Test, redis: Redis, prefix: string, opts: { max?: number, onLimited?: (ip: string, info: LimitedInfo) => void, log?: ReturnType<typeof quietLog> } = {}): RateLimiter {
  const rl = new RateLimiter({
    rules: { scanner: { max: opts.max ?? 10, windowMs: DAY } },
    maxTrackedIps: 1000,
    enforce: true,
    onLimited: opts.onLimited,
    store: new RedisStore({ client: redis, prefix }),
    log: opts.log ?? quietLog()
  })
  t.teardown(async () => { await rl.close() })
  return rl
}

async function subscribed (rl: RateLimiter): Promise<void> {
  await waitFor(() => rl.stats().shared?.store?.subscribed === true, 5000, 'subscriber')
}

async function settled (rl: RateLimiter): Promise<void> {
  await waitFor(() => rl.stats().shared?.outstanding === 0, 5000, 'replies from Redis')
}

test('two limiters sharing Redis add up their counts and a block through one reaches the other within 100 ms', async (t) => {
  const { prefix, connect, ready } = sharedRedis(t, 'share')
  const callsA: LimitedInfo[] = []
  const callsB: LimitedInfo[] = []
  const a = limiter(t, connect(), prefix, { onLimited: (_ip, info) => { callsA.push(info) } })
  const b = limiter(t, connect(), prefix, { onLimited: (_ip, info) => { callsB.push(info) } })
  await Promise.all([ready(), subscribed(a), subscribed(b)])

  const ip = '198.51.100.20'
  for (let i = 0; i < 6; i++) t.equal(b.hit(ip, ip, 'scanner', Date.now()), 0)
  await settled(b)
  for (let i = 0; i < 5; i++) t.equal(a.hit(ip, ip, 'scanner', Date.now()), 0, 'five local hits are under the limit of 10')
  await waitFor(() => a.blockedFor(ip, Date.now()) > 0, 2000, 'the block on the instance that passed the shared limit')
  const end = Date.now() + 100
  while (b.blockedFor(ip, Date.now()) === 0 && Date.now() < end) await sleep(2)
  t.ok(b.blockedFor(ip, Date.now()) > 0, 'the other instance mirrors the block')
  t.ok(b.hit(ip, ip, 'scanner', Date.now()) > 0, 'and reports it on its next hit')

  t.equal(callsA.length, 1, 'onLimited ran once, where the limit was passed')
  t.equal(callsA[0]?.count, 11, 'with the shared count')
  t.equal(callsB.length, 0, 'not again on the instance that only mirrored the block')
  t.equal(b.blockedFor('198.51.100.21', Date.now()), 0, 'other IPs are untouched')
})

test('the hit script counts atomically under concurrency, expires its keys and uses the prefix', async (t) => {
  const { prefix, raw, connect, ready } = sharedRedis(t, 'atomic')
  const ca = connect()
  const a = limiter(t, ca, prefix, { max: 1000 })
  const b = limiter(t, connect(), prefix, { max: 1000 })
  await ready()

  const key = '2001:db8:5:6::/64'
  for (let i = 0; i < 100; i++) {
    a.hit(key, '2001:db8:5:6::1', 'scanner', Date.now())
    b.hit(key, '2001:db8:5:6::2', 'scanner', Date.now())
  }
  await Promise.all([settled(a), settled(b)])
  const keys = (await raw.keys(`${prefix}*`)).sort()
  t.equal(keys.length, 1, 'one counter key')
  const counter = keys[0] as string
  t.match(counter, `${prefix}scanner:{${key}}:`, 'named prefix, class, hash-tagged key, window')
  t.equal(await raw.get(counter), '200', 'no hit was lost')
  const ttl = await raw.pttl(counter)
  t.ok(ttl > 0 && ttl <= 2 * DAY, `the counter expires (pttl ${ttl})`)
  t.equal(a.stats().shared?.errors, 0)
  t.equal(a.stats().shared?.skipped, 0)

  // Pass the limit: the block key expires with the window.
  const small = limiter(t, ca, prefix, { max: 1 })
  small.hit('192.0.2.9', '192.0.2.9', 'scanner', Date.now())
  small.hit('192.0.2.9', '192.0.2.9', 'scanner', Date.now())
  await settled(small)
  const blockTtl = await raw.pttl(`${prefix}block:{192.0.2.9}`)
  t.ok(blockTtl > 0 && blockTtl <= DAY, `the block key expires (pttl ${blockTtl})`)
})

test('with Redis stopped, hits are counted locally without errors, and sharing resumes when Redis returns', async (t) => {
  const { server, prefix, connect, ready } = await privateRedis(t, 'stopped')
  const ca = connect()
  const cb = connect()
  const log = quietLog()
  const a = limiter(t, ca, prefix, { log })
  const b = limiter(t, cb, prefix)
  await Promise.all([ready(), subscribed(a), subscribed(b)])

  await server.stop()
  await waitFor(() => ca.status !== 'ready' && cb.status !== 'ready', 5000, 'clients to notice the outage')
  const ip = '203.0.113.50'
  for (let i = 0; i < 10; i++) t.equal(a.hit(ip, ip, 'scanner', Date.now()), 0)
  t.ok(a.hit(ip, ip, 'scanner', Date.now()) > 0, 'the local count still blocks the 11th hit')
  t.ok(a.stats().shared?.skipped === 11, 'no call was sent to a Redis that is down')
  t.equal(a.stats().shared?.outstanding, 0, 'nothing pending')
  t.equal(log.warns.length, 1, 'the outage is reported once')

  await server.start()
  await ready()
  await Promise.all([subscribed(a), subscribed(b)])
  const ip2 = '203.0.113.51'
  for (let i = 0; i < 6; i++) a.hit(ip2, ip2, 'scanner', Date.now())
  await settled(a)
  for (let i = 0; i < 5; i++) b.hit(ip2, ip2, 'scanner', Date.now())
  await waitFor(() => a.blockedFor(ip2, Date.now()) > 0 && b.blockedFor(ip2, Date.now()) > 0, 2000, 'the shared block after recovery')
  t.pass('counts are shared again after Redis came back')
  t.equal(log.infos.length, 1, 'the recovery is reported once')
  t.equal(log.warns.length, 1)
})

test('a hanging Redis never holds a hit and the calls pending on it stay bounded', async (t) => {
  const { prefix, connect, ready } = await privateRedis(t, 'hang')
  // Neither client has a commandTimeout: the store itself must bound what piles up.
  const patient = connect({ commandTimeout: undefined })
  const sleeper = connect({ commandTimeout: undefined })
  const log = quietLog()
  const a = limiter(t, patient, prefix, { log })
  await Promise.all([ready(), subscribed(a)])

  let slept = false
  // DEBUG SLEEP blocks the whole server until it returns.
  const sleeping = sleeper.call('DEBUG', 'SLEEP', '1.5').then(() => { slept = true }, () => { slept = true })
  await sleep(50)
  const ip = '203.0.113.60'
  let first = -1
  for (let i = 0; i < 1000; i++) {
    const r = a.hit(i < 11 ? ip : `10.9.${i >> 8}.${i & 255}`, ip, 'scanner', Date.now())
    if (i === 10) first = r
  }
  t.equal(slept, false, 'every hit returned while Redis was still asleep')
  t.ok(first > 0, 'the local count blocked the 11th hit')
  const s = a.stats().shared
  t.equal(s?.outstanding, 256, 'pending calls are capped')
  t.equal(s?.skipped, 1000 - 256, 'the rest were counted locally only')
  await sleeping
  await settled(a)
  t.equal(a.stats().shared?.outstanding, 0, 'pending calls drained once Redis woke up')
  // After the sleep Redis counts again.
  const before = a.stats().shared?.sent ?? 0
  a.hit('203.0.113.61', '203.0.113.61', 'scanner', Date.now())
  await settled(a)
  t.equal(a.stats().shared?.sent, before + 1)
})

test('a client without defineCommand is driven with plain EVAL, and one that throws counts as an outage', async (t) => {
  const { prefix, raw, connect, ready } = sharedRedis(t, 'eval')
  const real = connect()
  await ready()
  // A minimal client: only what RedisLike promises, backed by a real connection.
  const plain = {
    get status () { return real.status },
    eval: async (...args: unknown[]) => await real.call('EVAL', ...(args as string[])),
    duplicate: () => real.duplicate()
  }
  const log = quietLog()
  const rl = new RateLimiter({ rules: { scanner: { max: 1, windowMs: DAY } }, maxTrackedIps: 100, enforce: true, store: new RedisStore({ client: plain, prefix }), log })
  // Throws on every call and cannot duplicate itself (no subscriber then).
  const broken = {
    status: 'ready',
    eval: () => { throw new Error('client is closed') }
  } as unknown as RedisLike
  const rl2 = new RateLimiter({ rules: { scanner: { max: 1, windowMs: DAY } }, maxTrackedIps: 100, enforce: true, store: new RedisStore({ client: broken, prefix }), log: quietLog() })
  t.teardown(async () => {
    await rl.close()
    await rl2.close()
  })
  rl.hit('192.0.2.30', '192.0.2.30', 'scanner', Date.now())
  await settled(rl)
  t.equal(await raw.get(`${prefix}scanner:{192.0.2.30}:${Date.now() - (Date.now() % DAY)}`), '1', 'the hit was counted in Redis')
  t.equal(rl.stats().shared?.errors, 0)

  t.equal(rl2.hit('192.0.2.31', '192.0.2.31', 'scanner', Date.now()), 0, 'a throwing client never reaches the caller')
  t.ok(rl2.hit('192.0.2.31', '192.0.2.31', 'scanner', Date.now()) > 0, 'and the local count still works')
  t.equal(rl2.stats().shared?.errors, 2)
  t.equal(rl2.stats().shared?.outstanding, 0)
  t.equal(rl2.stats().shared?.store?.subscribed, false)
})

test('the Redis store answers incr with the shared count, the block left and whether this call started it', async (t) => {
  const { prefix, connect, ready } = sharedRedis(t, 'contract')
  const a = new RedisStore({ client: connect(), prefix })
  const b = new RedisStore({ client: connect(), prefix })
  t.teardown(() => {
    a.close()
    b.close()
  })
  await ready()
  const heardA: Array<[string, number]> = []
  const heardB: Array<[string, number]> = []
  a.subscribe((key, ms) => { heardA.push([key, ms]) })
  b.subscribe((key, ms) => { heardB.push([key, ms]) })
  await waitFor(() => a.stats().subscribed && b.stats().subscribed, 5000, 'subscribers')

  const rule: LimitRule = { classification: 'scanner', index: 0, max: 2, windowMs: DAY }
  const key = '192.0.2.40'
  const now = Date.now()
  const left = DAY - (now % DAY)
  t.same(await a.incr(key, rule, now), { count: 1, blockedMs: 0, started: false })
  t.same(await b.incr(key, rule, now), { count: 2, blockedMs: 0, started: false }, 'both instances count into one key')
  const third = await a.incr(key, rule, now) as LimitCount
  t.equal(third.count, 3)
  t.equal(third.started, true, 'the call that passed the limit started the block')
  t.ok((third.blockedMs ?? 0) > 0 && (third.blockedMs ?? 0) <= left, `blocked for the rest of the window (${third.blockedMs})`)
  const fourth = await b.incr(key, rule, now) as LimitCount
  t.equal(fourth.started, false, 'later calls did not start it')
  t.ok((fourth.blockedMs ?? 0) > 0)

  await waitFor(() => heardB.length > 0, 2000, 'the block on the other instance')
  t.equal(heardB[0]?.[0], key, 'the other instance hears the block')
  t.ok((heardB[0]?.[1] ?? 0) > 0)
  await sleep(50)
  t.equal(heardA.length, 0, 'an instance does not hear its own announcement')

  a.close()
  t.equal(a.incr('192.0.2.41', rule, now), undefined, 'a closed store cannot count')
  t.equal(a.stats().subscribed, false)
})

test('the blocks channel holds the key prefix, ioredis keyPrefix and database; announcements count only with their block key', async (t) => {
  const { prefix, raw, connect, ready } = sharedRedis(t, 'verify')
  t.equal(blocksChannel(raw, prefix), `${prefix}blocks`, 'database 0 without keyPrefix: the plain name')
  t.equal(blocksChannel(connect({ db: 2 }), prefix), `${prefix}blocks:db2`)
  t.equal(blocksChannel(connect({ keyPrefix: 'shop:' }), prefix), `shop:${prefix}blocks`)
  t.equal(blocksChannel({ eval: async () => 0, duplicate () { return this } }, 'x:'), 'x:blocks', 'a client without options')

  const store = new RedisStore({ client: connect(), prefix })
  t.teardown(() => { store.close() })
  await ready()
  const heard: Array<[string, number, string | undefined]> = []
  store.subscribe((key, ms, cls) => { heard.push([key, ms, cls]) })
  await waitFor(() => store.stats().subscribed, 5000, 'subscriber')
  const channel = `${prefix}blocks`
  await raw.publish(channel, '60000 0123456789ab scanner 192.0.2.60') // no block key behind it
  await raw.publish(channel, 'Infinity 0123456789ab scanner 192.0.2.61')
  await raw.publish(channel, '60000 0123456789ab scanner 192.0.2.61 x')
  await raw.publish(channel, '60000 0123456789ab scanner 2001:db8::1')
  await raw.set(`${prefix}block:{2001:db8:1::/48}`, '1', 'PX', 30_000)
  await raw.publish(channel, '99999999 0123456789ab scanner 2001:db8:1::/48')
  await waitFor(() => heard.length > 0 && store.stats().ignored >= 4, 2000, 'the announcements')
  t.equal(heard.length, 1, 'only the announcement backed by its block key')
  t.equal(heard[0]?.[0], '2001:db8:1::/48')
  t.ok((heard[0]?.[1] ?? 0) > 29_000 && (heard[0]?.[1] ?? 0) <= 30_000, 'for the time the key has left, not what the message says')
  t.equal(heard[0]?.[2], 'scanner', 'with its class')
  t.equal(store.stats().ignored, 4, 'the others are ignored and counted')
})
