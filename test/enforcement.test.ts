import { test, type Test } from 'tap'
import type { FastifyInstance } from 'fastify'
import type Redis from 'ioredis'
import type { RedisOptions } from 'ioredis'
import type { AppFirewallOptions, LimitedInfo } from '../lib/types'
import { localApp, privateRedis, sharedRedis, sleep, waitFor } from './fixtures'
import type { LocalApp, TestRedis } from './fixtures'

const SCANNER = '/.env'
const SCANNER_2 = '/wp-login.php'
const UNKNOWN = '/no/such/page'
// A day-long window: a test run straddles a window boundary (midnight UTC) only by a rare accident.
const DAY = 86_400_000

interface Harness extends LocalApp {
  routeCalls: { ok: number, notFound: number }
}

/** A real Fastify app in local mode with a small scanner limit, a route and a counted 404 handler. */
async function build (t: Test, opts: AppFirewallOptions = {}): Promise<Harness> {
  const h = await localApp(t, { enforceRateLimit: true, rateLimit: { scanner: { max: 3, windowMs: DAY } }, ...opts })
  const routeCalls = { ok: 0, notFound: 0 }
  h.app.get('/ok', async () => {
    routeCalls.ok++
    return 'ok'
  })
  h.app.setNotFoundHandler(async (_request, reply) => {
    routeCalls.notFound++
    reply.code(404)
    return 'nope'
  })
  return { ...h, routeCalls }
}

async function get (app: FastifyInstance, url: string, ip: string, headers: Record<string, string> = {}): Promise<{ status: number, retryAfter: string | undefined }> {
  const res = await app.inject({ url, remoteAddress: ip, headers })
  return { status: res.statusCode, retryAfter: res.headers['retry-after'] as string | undefined }
}

test('an IP over its scanner limit gets 429 with Retry-After before its request is routed', async (t) => {
  const h = await build(t)
  const ip = '198.51.100.7'
  const statuses: number[] = []
  for (let i = 0; i < 4; i++) statuses.push((await get(h.app, i % 2 === 0 ? SCANNER : SCANNER_2, ip)).status)
  t.same(statuses, [404, 404, 404, 429], 'max: 3 means three answered, the next refused (as with @fastify/rate-limit)')
  t.equal(h.routeCalls.notFound, 4, 'the hit that passes the limit is known as a 404 only once the handler ran')

  const blocked = await get(h.app, SCANNER, ip)
  t.equal(blocked.status, 429)
  const secs = Number(blocked.retryAfter)
  t.ok(Number.isInteger(secs) && secs >= 1 && secs <= DAY / 1000, `Retry-After is the rest of the window in seconds (${blocked.retryAfter})`)
  t.equal((await get(h.app, UNKNOWN, ip)).status, 429, 'every would-be 404 of the IP is refused, whatever its class')
  t.equal(h.routeCalls.notFound, 4, 'the 404 handler did not run for refused requests')

  t.equal((await get(h.app, '/ok', ip)).status, 200, 'by default existing routes still serve the IP')
  t.equal((await get(h.app, SCANNER, '198.51.100.8')).status, 404, 'another IP is not blocked')
})

test('a 404 handler set inside an encapsulated plugin is refused too', async (t) => {
  const h = await build(t)
  let innerCalls = 0
  await h.app.register(async (child) => {
    child.setNotFoundHandler(async (_request, reply) => {
      innerCalls++
      reply.code(404)
      return 'api nope'
    })
  }, { prefix: '/api' })
  const ip = '198.51.100.9'
  for (let i = 0; i < 3; i++) t.equal((await get(h.app, `/api${SCANNER}`, ip)).status, 404)
  t.equal(innerCalls, 3)
  const passing = await get(h.app, `/api${SCANNER}`, ip)
  t.equal(passing.status, 429, 'the hit that passes the limit is refused')
  t.equal(innerCalls, 4)
  const res = await get(h.app, `/api${SCANNER}`, ip)
  t.equal(res.status, 429)
  t.ok(Number(res.retryAfter) >= 1)
  t.equal(innerCalls, 4, 'the encapsulated 404 handler did not run for a blocked IP')
})

test('refused requests are recorded as events marked blocked', async (t) => {
  const h = await build(t)
  const ip = '198.51.100.10'
  for (let i = 0; i < 6; i++) await get(h.app, SCANNER, ip)
  const events = (await h.events()).filter((e) => e.type === 'http_request')
  t.equal(events.length, 6, 'every request, refused or not, has an event')
  t.same(events.map((e) => e.status), [404, 404, 404, 429, 429, 429])
  t.same(events.map((e) => e.blocked === true), [false, false, false, true, true, true])
  t.equal(events[3]?.ip, ip)
  t.equal(events[3]?.path, SCANNER)
  t.equal(events[3]?.classification, 'scanner', 'a refused probe is still classified')
  t.equal(events.filter((e) => e.would_block === true).length, 0, 'would_block is the shadow-mode mark only')
})

test('benign misses and unknown 404s are never counted', async (t) => {
  const h = await build(t)
  const ip = '198.51.100.11'
  const statuses = new Set<number>()
  for (let i = 0; i < 20; i++) {
    statuses.add((await get(h.app, '/favicon.ico', ip)).status)
    statuses.add((await get(h.app, `${UNKNOWN}/${i}`, ip)).status)
  }
  t.same([...statuses], [404])
  const events = await h.events()
  t.equal(events.length, 40)
  t.ok(events.some((e) => e.classification === 'benign-miss'))
  t.ok(events.some((e) => e.classification === 'unknown'))
  t.equal(events.filter((e) => e.would_block === true || e.blocked === true).length, 0)
  t.equal((await get(h.app, SCANNER, ip)).status, 404, 'the scanner count starts from zero after them')
})

test('enforceScope "all" refuses every route to a blocked IP', async (t) => {
  const h = await build(t, { enforceScope: 'all' })
  const ip = '198.51.100.12'
  for (let i = 0; i < 4; i++) await get(h.app, SCANNER, ip)
  const res = await get(h.app, '/ok', ip)
  t.equal(res.status, 429)
  t.ok(Number(res.retryAfter) >= 1)
  t.equal(h.routeCalls.ok, 0, 'the route handler never ran')
  t.equal((await get(h.app, '/ok', '198.51.100.13')).status, 200, 'other IPs are served')
  t.equal(h.routeCalls.ok, 1)
})

test('without enforcement nothing is refused and events say which requests would have been blocked', async (t) => {
  const h = await build(t, { enforceRateLimit: false })
  const ip = '198.51.100.14'
  for (let i = 0; i < 8; i++) t.equal((await get(h.app, SCANNER, ip)).status, 404)
  t.equal((await get(h.app, '/ok', ip)).status, 200)
  const events = (await h.events()).filter((e) => e.status === 404)
  t.same(events.map((e) => e.would_block === true), [false, false, false, true, true, true, true, true],
    'from the hit that passes the limit on')
  t.equal(events.filter((e) => e.blocked === true).length, 0)
})

test('allow-listed IPs and skipped requests are never counted nor refused', async (t) => {
  const h = await build(t, {
    allowList: ['10.0.0.0/8', '2001:db8:ffff::/48'],
    skip: (request) => request.headers['x-monitor'] === 'yes'
  })
  for (const ip of ['10.1.2.3', '2001:db8:ffff:1::5']) {
    for (let i = 0; i < 10; i++) t.equal((await get(h.app, SCANNER, ip)).status, 404, `${ip} hit ${i + 1}`)
  }
  const monitor = '198.51.100.15'
  for (let i = 0; i < 10; i++) t.equal((await get(h.app, SCANNER, monitor, { 'x-monitor': 'yes' })).status, 404)
  t.equal((await get(h.app, SCANNER, monitor)).status, 404, 'skipped requests left no count behind')
  const events = await h.events()
  t.equal(events.filter((e) => e.ip === monitor).length, 1, 'skipped requests have no event')
  t.equal(events.filter((e) => e.would_block === true || e.blocked === true).length, 0)
})

test('onLimited is called once per block and may throw without harm', async (t) => {
  const calls: Array<[string, LimitedInfo]> = []
  const h = await build(t, {
    onLimited: (ip, info) => {
      calls.push([ip, info])
      throw new Error('escalation failed')
    }
  })
  const ip = '198.51.100.16'
  const statuses: number[] = []
  for (let i = 0; i < 8; i++) statuses.push((await get(h.app, SCANNER, ip)).status)
  t.same(statuses, [404, 404, 404, 429, 429, 429, 429, 429])
  t.equal(calls.length, 1)
  t.equal(calls[0]?.[0], ip)
  t.match(calls[0]?.[1], { classification: 'scanner', count: 4, max: 3, enforced: true, key: ip })
  t.ok((calls[0]?.[1].retryAfterMs ?? 0) > 0)
})

test('IPv6 clients are counted and refused per /64', async (t) => {
  const h = await build(t)
  for (let i = 1; i <= 3; i++) t.equal((await get(h.app, SCANNER, `2001:db8:1:2::${i}`)).status, 404)
  t.equal((await get(h.app, SCANNER, '2001:db8:1:2::4')).status, 429, 'the fourth address of the /64 passes the limit')
  t.equal((await get(h.app, SCANNER, '2001:db8:1:2:aaaa:bbbb:cccc:dddd')).status, 429, 'another address of the /64 is refused')
  t.equal((await get(h.app, SCANNER, '2001:db8:1:3::1')).status, 404, 'the next /64 is not')
  const events = await h.events()
  t.same(events.filter((e) => e.status === 429).map((e) => e.ip), ['2001:db8:1:2::4', '2001:db8:1:2:aaaa:bbbb:cccc:dddd'], 'the events keep the real addresses')
})

/** Waits until `n` subscribers listen on the prefix's block channel. */
async function subscribers (raw: Redis, prefix: string, n: number): Promise<void> {
  const end = Date.now() + 5000
  for (;;) {
    const res = await raw.pubsub('NUMSUB', `${prefix}blocks`) as [string, number]
    if (Number(res[1]) >= n) return
    if (Date.now() > end) throw new Error('subscribers did not appear')
    await sleep(10)
  }
}

/**
 * Two apps sharing the Redis of `redis`, each with a client of its own
 * (`override` on top of the README's settings), once both listen for blocks.
 */
async function twoInstances (t: Test, redis: TestRedis, override?: RedisOptions): Promise<{ a: Harness, b: Harness, ca: Redis, cb: Redis }> {
  const ca = redis.connect(override)
  const cb = redis.connect(override)
  await redis.ready()
  const a = await build(t, { redis: ca, redisKeyPrefix: redis.prefix })
  const b = await build(t, { redis: cb, redisKeyPrefix: redis.prefix })
  await subscribers(redis.raw, redis.prefix, 2)
  return { a, b, ca, cb }
}

/** Two scanner hits of `ip` on each app, `first` then `second`: neither passes the limit of 3 alone, together they do. */
async function twoHitsOnEach (t: Test, first: FastifyInstance, second: FastifyInstance, ip: string): Promise<void> {
  for (const app of [first, first, second, second]) t.equal((await get(app, SCANNER, ip)).status, 404)
}

/** Polls with an unclassified 404 (never counted) until it is refused, for at most `ms`. */
async function refusedWithin (app: FastifyInstance, ip: string, ms: number): Promise<boolean> {
  const end = Date.now() + ms
  for (;;) {
    if ((await get(app, UNKNOWN, ip)).status === 429) return true
    if (Date.now() > end) return false
    await sleep(2)
  }
}

test('two instances sharing Redis: an IP blocked through one is refused by the other within 100 ms', async (t) => {
  const { a, b, ca } = await twoInstances(t, sharedRedis(t, 'enforce-share'))
  const ip = '203.0.113.77'
  await twoHitsOnEach(t, b.app, a.app, ip)
  t.ok(await refusedWithin(a.app, ip, 2000), 'the instance whose hit passed the shared limit refuses the IP')
  t.ok(await refusedWithin(b.app, ip, 100), 'the other instance refuses it within 100 ms')
  t.equal((await get(b.app, SCANNER, '203.0.113.78')).status, 404, 'other IPs are served')
  t.equal(ca.status, 'ready', "the user's client is left open")
})

test('with Redis stopped or hanging, requests are served, never refused because of Redis, counted locally, and sharing recovers', async (t) => {
  const redis = await privateRedis(t, 'enforce-outage')
  const sleeper = redis.connect({ commandTimeout: undefined })
  // The settings the README recommends, except commandTimeout: a hanging
  // Redis must not hold requests even when the user did not set one.
  const { a, b, ca, cb } = await twoInstances(t, redis, { commandTimeout: undefined })

  // Hanging: DEBUG SLEEP stalls the whole server.
  let awake = false
  const sleeping = sleeper.call('DEBUG', 'SLEEP', '1.5').then(() => { awake = true }, () => { awake = true })
  await sleep(50)
  const hangIp = '203.0.113.90'
  const during: number[] = []
  for (let i = 0; i < 6; i++) during.push((await get(a.app, SCANNER, hangIp)).status)
  for (let i = 0; i < 20; i++) during.push((await get(a.app, '/ok', `203.0.113.${100 + i}`)).status)
  t.equal(awake, false, 'all of these were answered while Redis was still asleep')
  t.same(during.slice(0, 6), [404, 404, 404, 429, 429, 429], 'the local count blocks as usual')
  t.ok(during.slice(6).every((s) => s === 200), 'ordinary requests are served')
  await sleeping

  // Stopped: the server is gone.
  await redis.server.stop()
  await waitFor(() => ca.status !== 'ready' && cb.status !== 'ready', 5000, 'clients to notice the outage')
  const downIp = '203.0.113.91'
  const down: number[] = []
  for (let i = 0; i < 6; i++) down.push((await get(b.app, SCANNER, downIp)).status)
  for (let i = 0; i < 20; i++) down.push((await get(b.app, '/ok', `203.0.113.${130 + i}`)).status)
  t.same(down.slice(0, 6), [404, 404, 404, 429, 429, 429], 'counting falls back to the local store')
  t.ok(down.slice(6).every((s) => s === 200), 'never 429 or 500 because of Redis')

  // Back: counts are shared again.
  await redis.server.start()
  await redis.ready()
  await subscribers(redis.raw, redis.prefix, 2)
  const backIp = '203.0.113.92'
  await twoHitsOnEach(t, a.app, b.app, backIp)
  t.ok(await refusedWithin(b.app, backIp, 2000), 'the shared limit blocks again')
  t.ok(await refusedWithin(a.app, backIp, 2000), 'on both instances')
})

/** Routes that answer 404 themselves: a wildcard handing over to the not-found handler (as @fastify/static does), and a handler sending 404. */
function matchedRoutes (app: FastifyInstance): void {
  app.get('/static/*', async (_request, reply) => reply.callNotFound())
  app.get('/files/*', async (_request, reply) => reply.code(404).send({ error: 'no such file' }))
}

test('a 404 from a matched route counts, and a blocked IP is refused there too, marked blocked', async (t) => {
  const h = await build(t)
  matchedRoutes(h.app)
  const ip = '198.51.100.30'
  const statuses: number[] = []
  for (const url of ['/static/.env', '/files/.git/config', '/static/wp-login.php', '/files/.env']) statuses.push((await get(h.app, url, ip)).status)
  t.same(statuses, [404, 404, 404, 429], 'three answered, the fourth refused, whoever answered 404')
  const refused = await h.app.inject({ url: '/files/report.pdf', remoteAddress: ip })
  t.equal(refused.statusCode, 429, 'a blocked IP is refused wherever its answer would be a 404')
  t.ok(Number(refused.headers['retry-after']) >= 1)
  t.match(refused.headers['content-type'], /application\/json/)
  t.same(refused.json(), { statusCode: 429, error: 'Too Many Requests', message: `Rate limit exceeded, retry in ${String(refused.headers['retry-after'])} seconds` })
  t.equal((await get(h.app, '/ok', ip)).status, 200, 'a route that answers 200 still serves it (scope not-found)')
  const events = (await h.events()).filter((e) => e.ip === ip)
  t.same(events.map((e) => [e.status, e.blocked === true]), [[404, false], [404, false], [404, false], [429, true], [429, true], [200, false]])
  t.equal(events[3]?.classification, 'scanner')
  t.equal(refused.headers['cache-control'], 'no-store', 'a 429 made from a 404 is never cached')
  const early = await h.app.inject({ url: '/wp-admin/setup-config.php', remoteAddress: ip })
  t.equal(early.statusCode, 429, 'refused before routing')
  t.equal(early.headers['cache-control'], 'no-store', 'a 429 sent before routing is never cached either')
})

test('shadow mode marks would_block on exactly the requests enforcement refuses', async (t) => {
  const sequence = ['/.env', '/ok', '/static/.env', '/favicon.ico', '/files/.git/config', '/.env', '/ok', '/static/x', '/files/y', '/.env', '/wp-login.php']
  const enforced = await build(t)
  const shadow = await build(t, { enforceRateLimit: false })
  matchedRoutes(enforced.app)
  matchedRoutes(shadow.app)
  const ip = '198.51.100.31'
  const refusedAt: number[] = []
  for (let i = 0; i < sequence.length; i++) {
    if ((await get(enforced.app, sequence[i] as string, ip)).status === 429) refusedAt.push(i)
    await get(shadow.app, sequence[i] as string, ip)
  }
  const marked = (await shadow.events()).flatMap((e, i) => e.would_block === true ? [i] : [])
  t.ok(refusedAt.length > 0, `enforcement refused requests ${refusedAt.join(', ')}`)
  t.same(marked, refusedAt)
  const enforcedEvents = await enforced.events()
  t.equal(enforcedEvents.filter((e) => e.would_block === true).length, 0, 'nothing over the limit went unrefused')
})
