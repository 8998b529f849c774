// Edge sync with the shared Redis store: two instances, one leader at a
// time, no IP added twice, and a leader that dies is replaced by one that
// finishes its operation instead of repeating it. The real Redis on 6379
// (keys under a prefix of the test's own).
import { test, type Test } from 'tap'
import Fastify, { type FastifyInstance } from 'fastify'
import appFirewall from '../lib/index'
import { EdgeSync } from '../lib/edge/sync'
import { cloudflareListApi } from '../lib/edge/cloudflare-api'
import { RedisCoordinator } from '../lib/edge/coordinator'
import { quietLog, sharedRedis, sleep, tempDir, waitFor, type TestRedis } from './fixtures'
import { startFakeCloudflare, type FakeCloudflare } from './fixtures/cloudflare-lists'
import { join } from 'node:path'

const ACCOUNT = '0123456789abcdef0123456789abcdef'
const LIST = 'fedcba9876543210fedcba9876543210'

function addedIps (cf: FakeCloudflare): string[] {
  return cf.requests.filter((r) => r.method === 'POST').flatMap((r) => (r.body as Array<{ ip: string }>).map((i) => i.ip))
}

async function instance (t: Test, r: TestRedis, cf: FakeCloudflare): Promise<FastifyInstance> {
  const app = Fastify()
  await app.register(appFirewall, {
    mode: 'local',
    localLogPath: join(tempDir(), 'events.ndjson'),
    cloudflareRefreshMs: 0,
    enforceRateLimit: true,
    rateLimit: { 'scanner-certain': { max: 0, windowMs: 60_000 }, scanner: { max: 2, windowMs: 60_000 } },
    redis: r.connect(),
    redisKeyPrefix: r.prefix,
    edge: { cloudflare: { accountId: ACCOUNT, listId: LIST, apiToken: cf.token, baseUrl: cf.url, syncIntervalMs: 1000 } }
  })
  t.teardown(() => app.close())
  await app.ready()
  return app
}

test('two instances on one Redis: one syncs, every blocked IP is added once', async (t) => {
  const cf = await startFakeCloudflare({ accountId: ACCOUNT, listId: LIST })
  t.teardown(() => cf.close())
  const r = sharedRedis(t, 'edge-two')
  const a = await instance(t, r, cf)
  const b = await instance(t, r, cf)
  await r.ready()
  // Own IPs on each, and IPs both see: the block of a shared IP is started by one of them.
  for (let i = 1; i <= 5; i++) {
    await a.inject({ url: '/.env', remoteAddress: `198.51.100.${i}` })
    await b.inject({ url: '/.env', remoteAddress: `198.51.100.${10 + i}` })
  }
  for (let i = 1; i <= 5; i++) {
    for (let k = 0; k < 3; k++) {
      await a.inject({ url: '/wp-login.php', remoteAddress: `203.0.113.${i}` })
      await b.inject({ url: '/wp-login.php', remoteAddress: `203.0.113.${i}` })
    }
  }
  await waitFor(() => cf.items.size === 15, 15_000, 'fifteen keys listed')
  await sleep(2500)
  const ips = addedIps(cf)
  t.equal(ips.length, new Set(ips).size, `no IP added twice (${ips.length} additions)`)
  t.equal(cf.items.size, 15)
  const leaders = [a, b].filter((app) => app.appfirewall.stats().edge?.leader === true)
  t.equal(leaders.length, 1, 'exactly one instance leads')
  t.equal(cf.maxPendingOps, 1)
  t.equal(cf.refusedWhilePending, 0)
  const offered = (a.appfirewall.stats().edge?.offered ?? 0) + (b.appfirewall.stats().edge?.offered ?? 0)
  t.ok(offered >= 15, `each block was offered by the instance that started it (${offered})`)
})

test('a leader that dies mid-operation is replaced: the new leader finishes its operation and adds nothing twice', async (t) => {
  const cf = await startFakeCloudflare({ accountId: ACCOUNT, listId: LIST, pendingPolls: 3 })
  t.teardown(() => cf.close())
  const r = sharedRedis(t, 'edge-failover')
  const make = (client: ReturnType<TestRedis['connect']>): EdgeSync => {
    const sync = new EdgeSync({
      api: cloudflareListApi({ accountId: ACCOUNT, listId: LIST, apiToken: cf.token, baseUrl: cf.url, timeoutMs: 2000 }),
      coordinator: new RedisCoordinator(client, r.prefix, LIST, 1500, 1000),
      maxItems: 1000,
      intervalMs: 100,
      minListedMs: 0,
      classes: undefined,
      callGapMs: 20,
      leaseMs: 1500,
      log: quietLog()
    })
    t.teardown(() => sync.close(500))
    return sync
  }
  const ca = r.connect()
  const cb = r.connect()
  await r.ready()
  const a = make(ca)
  a.offer('192.0.2.1', 'scanner', 4000, Date.now())
  a.start()
  await waitFor(() => cf.requests.some((q) => q.method === 'POST'), 5000, 'the first leader adding')
  // Its operation is recorded before it is polled.
  const opKey = `${r.prefix}edge:${LIST}:op`
  for (let i = 0; i < 200 && await r.raw.get(opKey) === null; i++) await sleep(10)
  t.match(await r.raw.get(opKey), /"kind":"add"/, 'the operation under way is in Redis')
  // It dies: no more Redis for it, so it can renew nothing and record nothing.
  ca.disconnect()
  const b = make(cb)
  b.start()
  await waitFor(() => b.stats().leader, 6000, 'the second instance leading once the lease expired')
  await waitFor(() => cf.items.has('192.0.2.1'), 8000, 'the operation finished')
  await waitFor(() => !cf.items.has('192.0.2.1'), 10_000, 'removed by the new leader when its block ended')
  t.same(addedIps(cf), ['192.0.2.1'], 'added once')
  t.equal(cf.maxPendingOps, 1)
  t.equal(cf.refusedWhilePending, 0, 'the new leader did not write over the pending operation')
})
