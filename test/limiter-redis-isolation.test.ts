// Blocks shared through Redis belong to one app: a forged PUBLISH blocks
// nobody, a block lasts at most its rule's window, and apps kept apart by
// key prefix or by database never share blocks. Real apps (app.inject) on the
// shared Redis, or on a private redis-server where databases are involved.
import { test, type Test } from 'tap'
import type { FastifyInstance } from 'fastify'
import type Redis from 'ioredis'
import type { RedisOptions } from 'ioredis'
import type { AppFirewallOptions } from '../lib/types'
import { localApp, privateRedis, sharedRedis, sleep } from './fixtures'
import type { TestRedis } from './fixtures'

const DAY = 86_400_000
const MIN = 60_000

/** Waits until `n` subscribers listen on channels whose name holds `part` (every channel when ''). */
async function subscribers (raw: Redis, part: string, n: number): Promise<string[]> {
  const end = Date.now() + 5000
  for (;;) {
    const channels = await raw.pubsub('CHANNELS', `*${part}*`) as string[]
    let total = 0
    if (channels.length > 0) {
      const counts = await raw.pubsub('NUMSUB', ...channels) as Array<string | number>
      for (let i = 1; i < counts.length; i += 2) total += Number(counts[i])
    }
    if (total >= n) return channels
    if (Date.now() > end) throw new Error(`${total} of ${n} subscribers after 5 s`)
    await sleep(10)
  }
}

async function app (t: Test, redis: Redis, opts: AppFirewallOptions = {}): Promise<FastifyInstance> {
  const h = await localApp(t, { enforceRateLimit: true, redis, rateLimit: { scanner: { max: 3, windowMs: DAY } }, ...opts })
  return h.app
}

async function status (a: FastifyInstance, ip: string, url = '/.env'): Promise<{ status: number, retryAfter: string | undefined }> {
  const res = await a.inject({ url, remoteAddress: ip })
  return { status: res.statusCode, retryAfter: res.headers['retry-after'] as string | undefined }
}

/** Polls with an unclassified 404 (never counted) until it is refused, for at most `ms`. */
async function refusedWithin (a: FastifyInstance, ip: string, ms: number): Promise<boolean> {
  const end = Date.now() + ms
  for (;;) {
    if ((await status(a, ip, '/no/such/page')).status === 429) return true
    if (Date.now() > end) return false
    await sleep(5)
  }
}

test('a forged PUBLISH, from any database, blocks nobody; a real block still reaches every instance', async (t) => {
  const redis = sharedRedis(t, 'forge')
  const a = await app(t, redis.connect(), { redisKeyPrefix: redis.prefix })
  const b = await app(t, redis.connect(), { redisKeyPrefix: redis.prefix })
  await redis.ready()
  const channels = await subscribers(redis.raw, redis.prefix, 2)
  const forger = redis.connect({ db: 3 })
  await redis.ready()
  const id = '0123456789ab'
  const victim = '203.0.113.5'
  for (const channel of channels) {
    for (const message of [
      `Infinity ${id} ${victim}`, `86400000 ${id} ${victim}`, `86400000 ${id} scanner ${victim}`,
      `Infinity ${id} scanner ${victim}`, `1e400 ${id} scanner ${victim}`, `-5 ${id} scanner ${victim}`,
      `60000 ${id} __proto__ ${victim}`, `60000 ${id} scanner ${victim} extra`, 'garbage', ''
    ]) await forger.publish(channel, message)
  }
  await sleep(100)
  t.equal((await status(a, victim)).status, 404, 'no block on the first instance')
  t.equal((await status(b, victim)).status, 404, 'nor on the second')

  const ip = '203.0.113.6'
  for (const x of [a, a, b, b]) t.equal((await status(x, ip)).status, 404)
  t.ok(await refusedWithin(b, ip, 2000), 'the instance whose hit passed the shared limit refuses the IP')
  t.ok(await refusedWithin(a, ip, 500), 'the other learns the block (its key exists) and refuses it too')
})

test('a published block lasts at most the window of its class, whatever the message or the block key say', async (t) => {
  const redis = sharedRedis(t, 'clamp')
  const a = await app(t, redis.connect(), {
    redisKeyPrefix: redis.prefix,
    enforceScope: 'all',
    rateLimit: { scanner: { max: 3, windowMs: MIN }, unknown: { max: 1000, windowMs: DAY } }
  })
  a.get('/ok', async () => 'ok')
  await redis.ready()
  const [channel] = await subscribers(redis.raw, redis.prefix, 1)
  const ip = '203.0.113.7'
  // Only someone who can write the store's keys gets this far; still, no longer than the rule says.
  await redis.raw.set(`${redis.prefix}block:{${ip}}`, '1', 'PX', 10 * DAY)
  await redis.raw.publish(channel as string, `${10 * DAY} 0123456789ab scanner ${ip}`)
  // A route that is never counted: only the announcement can block it.
  let res = await status(a, ip, '/ok')
  for (let i = 0; i < 100 && res.status !== 429; i++) {
    await sleep(10)
    res = await status(a, ip, '/ok')
  }
  t.equal(res.status, 429, 'a block backed by its key is mirrored')
  t.ok(Number(res.retryAfter) >= 1 && Number(res.retryAfter) <= MIN / 1000, `for at most the scanner window (Retry-After: ${res.retryAfter})`)
})

/** Two apps on one private server, kept apart by their clients' settings; `ip` blocked through the first. */
async function blockedOnFirst (t: Test, name: string, a: RedisOptions, b: RedisOptions, options: AppFirewallOptions, ip: string): Promise<{ redis: TestRedis, second: FastifyInstance }> {
  const redis = await privateRedis(t, name)
  const first = await app(t, redis.connect(a), options)
  const second = await app(t, redis.connect(b), options)
  await redis.ready()
  await subscribers(redis.raw, '', 2)
  for (let i = 0; i < 4; i++) await status(first, ip)
  t.ok(await refusedWithin(first, ip, 2000), 'blocked on the first app')
  t.notOk(await refusedWithin(second, ip, 300), 'not on the other')
  return { redis, second }
}

test('apps on different databases of one server, with the same key prefix, never share blocks', async (t) => {
  const ip = '203.0.113.8'
  const { second } = await blockedOnFirst(t, 'dbs', { db: 0 }, { db: 1 }, { redisKeyPrefix: 'afw:' }, ip)
  t.same([(await status(second, ip)).status, (await status(second, ip)).status], [404, 404], 'whose counts are its own')
})

test('apps kept apart by ioredis keyPrefix, with the same redisKeyPrefix, never share blocks', async (t) => {
  const { redis } = await blockedOnFirst(t, 'keyprefix', { keyPrefix: 'shop:' }, { keyPrefix: 'blog:' }, {}, '203.0.113.9')
  t.ok((await redis.raw.keys('shop:afw:block:*')).length === 1, 'the block key lives under the first app\'s keyPrefix')
})
