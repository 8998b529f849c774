// The edge sync against the Lists API's failures: pending and failed bulk
// operations, 429 with Retry-After, 5xx, and the configuration errors
// (400/401/403) that must not become a retry storm. The sync is driven
// directly (real client, real coordinators, short gaps) so that each case
// takes a second or two, not Cloudflare's minutes.
import { test, type Test } from 'tap'
import { EdgeSync } from '../lib/edge/sync'
import { cloudflareListApi } from '../lib/edge/cloudflare-api'
import { LocalCoordinator } from '../lib/edge/coordinator'
import { quietLog, sleep, waitFor } from './fixtures'
import { startFakeCloudflare, type FakeCloudflare } from './fixtures/cloudflare-lists'

const ACCOUNT = '0123456789abcdef0123456789abcdef'
const LIST = 'fedcba9876543210fedcba9876543210'

interface Rig {
  cf: FakeCloudflare
  sync: EdgeSync
  log: ReturnType<typeof quietLog>
}

async function rig (t: Test, opts: { fake?: Parameters<typeof startFakeCloudflare>[0], token?: string, maxItems?: number, minListedMs?: number, callGapMs?: number, operationWaitMs?: number } = {}): Promise<Rig> {
  const cf = await startFakeCloudflare({ accountId: ACCOUNT, listId: LIST, ...opts.fake })
  t.teardown(() => cf.close())
  const log = quietLog()
  const sync = new EdgeSync({
    api: cloudflareListApi({ accountId: ACCOUNT, listId: LIST, apiToken: opts.token ?? cf.token, baseUrl: cf.url, timeoutMs: 2000 }),
    coordinator: new LocalCoordinator(1000),
    maxItems: opts.maxItems ?? 1000,
    intervalMs: 100,
    minListedMs: opts.minListedMs ?? 0,
    classes: undefined,
    callGapMs: opts.callGapMs ?? 20,
    pollMs: 50,
    operationWaitMs: opts.operationWaitMs,
    log
  })
  t.teardown(() => sync.close(1000))
  return { cf, sync, log }
}

const writes = (cf: FakeCloudflare, method: string): number => cf.requests.filter((r) => r.method === method).length

test('a bulk operation pending for several polls is waited for; no other write goes out meanwhile', async (t) => {
  const { cf, sync } = await rig(t, { fake: { pendingPolls: 4 } })
  const now = Date.now()
  sync.offer('192.0.2.1', 'scanner', 60_000, now)
  sync.start()
  await sleep(150)
  sync.offer('192.0.2.2', 'scanner', 60_000, Date.now())
  // The stand-in applies an operation when it answers the poll; the sync counts it when it reads that answer.
  await waitFor(() => cf.items.size === 2 && sync.stats().added === 2, 8000, 'both listed')
  t.equal(cf.maxPendingOps, 1, 'one pending operation at a time')
  t.equal(cf.refusedWhilePending, 0, 'no write was refused for overlapping one under way')
  const polls = cf.requests.filter((r) => r.method === 'GET' && r.path.includes('bulk_operations')).length
  t.ok(polls >= 5, `the operation was polled until it completed (${polls} polls)`)
  t.equal(sync.stats().added, 2)
})

test('429 with Retry-After: the next call waits as long as it says', async (t) => {
  const { cf, sync } = await rig(t)
  cf.inject('add', { status: 429, body: { success: false, errors: [{ code: 10000, message: 'rate limited' }], messages: [], result: null }, headers: { 'retry-after': '2' } })
  sync.offer('192.0.2.10', 'scanner', 60_000, Date.now())
  sync.start()
  await waitFor(() => cf.items.has('192.0.2.10'), 10_000, 'listed after the wait')
  const posts = cf.requests.filter((r) => r.method === 'POST')
  t.equal(posts.length, 2, 'one refused POST, one that went through')
  const gap = (posts[1]?.at ?? 0) - (posts[0]?.at ?? 0)
  t.ok(gap >= 1900, `the retry came ${gap} ms later (Retry-After: 2)`)
  t.equal(sync.stats().rateLimited, 1)
})

test('5xx is retried with backoff and then succeeds', async (t) => {
  const { cf, sync } = await rig(t)
  cf.inject('add', { status: 502, body: 'bad gateway' }, 2)
  sync.offer('192.0.2.20', 'scanner', 60_000, Date.now())
  sync.start()
  await waitFor(() => cf.items.has('192.0.2.20') && sync.stats().added === 1, 10_000, 'listed after two 502s')
  const posts = cf.requests.filter((r) => r.method === 'POST').map((r) => r.at)
  t.equal(posts.length, 3)
  const g1 = (posts[1] as number) - (posts[0] as number)
  const g2 = (posts[2] as number) - (posts[1] as number)
  t.ok(g1 >= 450 && g2 >= 900, `backoff between tries (${g1} ms, then ${g2} ms)`)
  t.equal(sync.stats().retries, 2)
  t.equal(sync.stats().added, 1)
})

for (const status of [400, 401, 403]) {
  test(`${status} is a configuration error: one warning, no retry storm`, async (t) => {
    const { cf, sync, log } = await rig(t)
    cf.inject('list', { status, body: { success: false, errors: [{ code: 10000, message: status === 400 ? 'bad request' : 'Authentication error' }], messages: [], result: null } }, 1000)
    cf.inject('add', { status, body: { success: false, errors: [{ code: 10000, message: 'Authentication error' }], messages: [], result: null } }, 1000)
    for (let i = 0; i < 20; i++) sync.offer(`192.0.2.${30 + i}`, 'scanner', 60_000, Date.now())
    sync.start()
    await waitFor(() => sync.stats().configErrors > 0, 5000, 'the error seen')
    await sleep(1500)
    t.equal(cf.requests.length, 1, 'one call, then the sync pauses (15 minutes)')
    t.equal(sync.stats().configErrors, 1)
    t.equal(log.warns.filter((w) => w.includes(`(${status})`)).length, 1, 'one warning naming the status')
    t.match(log.warns.join('\n'), /Account Filter Lists > Edit/, 'it says what to check')
    t.equal(cf.items.size, 0)
  })
}

test('a wrong token is refused by the API itself (401), and said once', async (t) => {
  const { cf, sync, log } = await rig(t, { token: 'not-the-token' })
  sync.offer('192.0.2.60', 'scanner', 60_000, Date.now())
  sync.start()
  await waitFor(() => sync.stats().configErrors === 1, 5000, 'the 401')
  await sleep(500)
  t.equal(cf.requests.length, 1)
  t.equal(sync.stats().lastStatus, 401)
  t.equal(log.warns.length, 1)
})

test('a failed bulk operation (a full list) is counted and said once; additions pause instead of retrying at once', async (t) => {
  const { cf, sync, log } = await rig(t, { fake: { maxItems: 1 } })
  sync.offer('192.0.2.70', 'scanner', 60_000, Date.now())
  sync.offer('192.0.2.71', 'scanner', 60_000, Date.now())
  sync.start()
  await waitFor(() => sync.stats().failedOperations === 1, 5000, 'the failed operation')
  await sleep(1000)
  t.equal(writes(cf, 'POST'), 1, 'no second POST within the pause')
  t.equal(cf.items.size, 0, 'a failed operation applied nothing')
  t.equal(log.warns.filter((w) => w.includes('failed to add')).length, 1)
  sync.offer('192.0.2.72', 'scanner', 60_000, Date.now())
  await sleep(500)
  t.equal(writes(cf, 'POST'), 1, 'new blocks wait for the pause too')
})

test('maxItems: blocks past it are counted as skipped, once each, and listed when room frees', async (t) => {
  const { cf, sync } = await rig(t, { maxItems: 2 })
  const now = Date.now()
  sync.offer('192.0.2.80', 'scanner', 1500, now)
  sync.offer('192.0.2.81', 'scanner', 60_000, now)
  sync.offer('192.0.2.82', 'scanner', 60_000, now)
  sync.start()
  await waitFor(() => cf.items.size === 2, 5000, 'two listed')
  await sleep(400)
  t.equal(sync.stats().skippedFull, 1, 'one skipped, counted once over several rounds')
  await waitFor(() => cf.items.has('192.0.2.82'), 8000, 'listed once the short block ended')
  t.notOk(cf.items.has('192.0.2.80'))
})

test('minListedMs keeps a short block listed longer', async (t) => {
  const { cf, sync } = await rig(t, { minListedMs: 3000 })
  sync.offer('192.0.2.90', 'scanner', 200, Date.now())
  sync.start()
  await waitFor(() => cf.items.has('192.0.2.90'), 5000, 'listed')
  await sleep(1500)
  t.ok(cf.items.has('192.0.2.90'), 'still listed after its 200 ms block ended')
  await waitFor(() => !cf.items.has('192.0.2.90'), 6000, 'removed after minListedMs')
})

test('on start, items of an earlier run whose time is over are removed, and items not of this sync are left alone', async (t) => {
  const cf = await startFakeCloudflare({ accountId: ACCOUNT, listId: LIST })
  t.teardown(() => cf.close())
  const past = new Date(Date.now() - 60_000).toISOString().slice(0, 19) + 'Z'
  const future = new Date(Date.now() + 600_000).toISOString().slice(0, 19) + 'Z'
  const at = new Date().toISOString()
  cf.items.set('198.51.100.1', { id: 'a'.repeat(32), ip: '198.51.100.1', comment: `appfirewall-fastify scanner blocked ${past} until ${past}`, created_on: at, modified_on: at })
  cf.items.set('198.51.100.2', { id: 'b'.repeat(32), ip: '198.51.100.2', comment: `appfirewall-fastify scanner blocked ${past} until ${future}`, created_on: at, modified_on: at })
  cf.items.set('198.51.100.3', { id: 'c'.repeat(32), ip: '198.51.100.3', comment: 'office VPN', created_on: at, modified_on: at })
  // As Cloudflare's documented item writes a single IPv4 address.
  cf.items.set('198.51.100.4/32', { id: 'd'.repeat(32), ip: '198.51.100.4/32', comment: `appfirewall-fastify scanner blocked ${past} until ${past}`, created_on: at, modified_on: at })
  const sync = new EdgeSync({
    api: cloudflareListApi({ accountId: ACCOUNT, listId: LIST, apiToken: cf.token, baseUrl: cf.url, timeoutMs: 2000 }),
    coordinator: new LocalCoordinator(1000),
    maxItems: 1000,
    intervalMs: 100,
    minListedMs: 0,
    classes: undefined,
    callGapMs: 20,
    log: quietLog()
  })
  t.teardown(() => sync.close(1000))
  sync.start()
  await waitFor(() => !cf.items.has('198.51.100.1') && !cf.items.has('198.51.100.4/32'), 5000, 'the expired items removed (one written as a /32)')
  await sleep(300)
  t.ok(cf.items.has('198.51.100.2'), 'an item still in its time stays')
  t.ok(cf.items.has('198.51.100.3'), 'an item of someone else stays')
  t.equal(sync.stats().listed, 1)
})

test('close() aborts a round under way and resolves within its grace', async (t) => {
  const { cf, sync } = await rig(t, { fake: { pendingPolls: 1000 } })
  sync.offer('192.0.2.100', 'scanner', 60_000, Date.now())
  sync.start()
  await waitFor(() => cf.requests.some((r) => r.path.includes('bulk_operations')), 5000, 'polling')
  const t0 = Date.now()
  await sync.close(500)
  t.ok(Date.now() - t0 < 700, `closed in ${Date.now() - t0} ms`)
  const n = cf.requests.length
  await sleep(300)
  t.equal(cf.requests.length, n, 'no call after close')
  sync.offer('192.0.2.101', 'scanner', 60_000, Date.now())
  t.equal(sync.stats().offered, 1, 'an offer after close is ignored')
})

test('an operation still pending after operationWaitMs ends the round: no other write starts until it is done', async (t) => {
  const { cf, sync } = await rig(t, { fake: { pendingPolls: 6 }, operationWaitMs: 250 })
  sync.offer('192.0.2.110', 'scanner', 300, Date.now())
  sync.start()
  await waitFor(() => cf.items.has('192.0.2.110'), 8000, 'listed')
  sync.offer('192.0.2.111', 'scanner', 60_000, Date.now())
  await waitFor(() => !cf.items.has('192.0.2.110') && cf.items.has('192.0.2.111'), 15_000, 'the first removed, the second listed')
  t.equal(cf.refusedWhilePending, 0, 'no write while the removal was pending')
  t.equal(cf.maxPendingOps, 1)
  t.equal(sync.stats().rateLimited, 0)
})

test("items of someone else's are never added over, taken over or removed", async (t) => {
  const { cf, sync } = await rig(t)
  const at = new Date().toISOString()
  cf.items.set('192.0.2.120', { id: 'e'.repeat(32), ip: '192.0.2.120', comment: 'kept by hand', created_on: at, modified_on: at })
  sync.start()
  await waitFor(() => cf.requests.some((r) => r.method === 'GET' && !r.path.includes('bulk_operations')), 5000, 'the list read')
  sync.offer('192.0.2.120', 'scanner', 500, Date.now())
  sync.offer('192.0.2.121', 'scanner', 500, Date.now())
  await waitFor(() => sync.stats().removed === 1, 8000, 'the sync\'s own item added and removed')
  t.same(cf.requests.filter((r) => r.method === 'POST').flatMap((r) => (r.body as Array<{ ip: string }>).map((i) => i.ip)), ['192.0.2.121'], 'the hand-kept IP was not added over')
  t.equal(cf.items.get('192.0.2.120')?.comment, 'kept by hand', 'and is still there, untouched')
})

test('a failed removal makes the next round read the list again before trying', async (t) => {
  const { cf, sync } = await rig(t)
  sync.offer('192.0.2.130', 'scanner', 300, Date.now())
  sync.start()
  await waitFor(() => cf.items.has('192.0.2.130'), 5000, 'listed')
  cf.failNextOp('item not found')
  await waitFor(() => sync.stats().failedOperations === 1, 5000, 'the failed removal')
  const at = cf.requests.length
  await waitFor(() => cf.requests.slice(at).some((r) => r.method === 'GET' && !r.path.includes('bulk_operations')), 5000, 'a listing after the failure')
  t.pass('the list was read again')
})
