// The fake Lists API (fixtures/cloudflare-lists.ts) driven by the official
// `cloudflare` client, so that what the edge sync's tests rely on is what the
// real client sends and understands: operation ids, polling to completion,
// failed operations, 429 while one is pending, Retry-After on the client's
// error, 401, and pagination on result_info.cursors.after.
import { test, type Test } from 'tap'
import Cloudflare from 'cloudflare'
import { within } from './fixtures'
import { startFakeCloudflare, type FakeCloudflare, type FakeCloudflareOptions } from './fixtures/cloudflare-lists'

interface Rig { cf: FakeCloudflare, client: Cloudflare }

async function rig (t: Test, opts: FakeCloudflareOptions = {}): Promise<Rig> {
  const cf = await startFakeCloudflare(opts)
  t.teardown(() => cf.close())
  const client = new Cloudflare({ apiToken: cf.token, baseURL: cf.url, maxRetries: 0, timeout: 2000 })
  return { cf, client }
}

/** Polls the operation until it is completed or failed (at most `maxPolls` GETs); returns the statuses seen. */
async function settle (r: Rig, id: string, maxPolls = 20): Promise<{ seen: string[], last: Record<string, unknown> }> {
  const seen: string[] = []
  for (let i = 0; i < maxPolls; i++) {
    const op = await within(r.client.rules.lists.bulkOperations.get(id, { account_id: r.cf.accountId }), 2000, 'an operation status') as unknown as Record<string, unknown>
    seen.push(String(op.status))
    if (op.status === 'completed' || op.status === 'failed') return { seen, last: op }
  }
  throw new Error(`operation ${id} not settled after ${maxPolls} polls: ${seen.join(', ')}`)
}

async function add (r: Rig, body: Array<{ ip: string, comment?: string }>): Promise<string> {
  const res = await within(r.client.rules.lists.items.create(r.cf.listId, { account_id: r.cf.accountId, body }), 2000, 'an add answer')
  return res.operation_id
}

test('add: pending, then running, then completed; applied only on completion; a second add of an ip updates its comment', async (t) => {
  const r = await rig(t, { pendingPolls: 2 })
  const id = await add(r, [{ ip: '192.0.2.1', comment: 'first' }, { ip: '2001:DB8:1:2::/64' }, { ip: '2001:db8:1::/48', comment: 'a /48' }])
  t.match(id, /^[0-9a-f]{32}$/, 'a 32-hex operation id')
  t.equal(r.cf.items.size, 0, 'nothing applied before the operation completes')
  const { seen, last } = await settle(r, id)
  t.same(seen, ['pending', 'pending', 'running', 'completed'])
  t.match(last.completed, /^\d{4}-\d\d-\d\dT/, 'completed carries an RFC 3339 time')
  t.same(Array.from(r.cf.items.keys()).sort(), ['192.0.2.1', '2001:db8:1:2::/64', '2001:db8:1::/48'], 'IPv6 stored lowercased')
  const before = r.cf.items.get('192.0.2.1')

  const again = await add(r, [{ ip: '192.0.2.1', comment: 'second' }])
  t.same((await settle(r, again)).last.status, 'completed')
  t.equal(r.cf.items.size, 3, 'no duplicate')
  t.equal(r.cf.items.get('192.0.2.1')?.comment, 'second')
  t.equal(r.cf.items.get('192.0.2.1')?.id, before?.id, 'same item id')
  t.equal(r.cf.maxPendingOps, 1)
  t.equal(r.cf.refusedWhilePending, 0)
  t.same(r.cf.requests[0]?.body, [{ ip: '192.0.2.1', comment: 'first' }, { ip: '2001:DB8:1:2::/64' }, { ip: '2001:db8:1::/48', comment: 'a /48' }], 'the body as the client sent it')
  t.equal(r.cf.requests[0]?.authorization, `Bearer ${r.cf.token}`)
})

test('delete by id, unknown ids ignored', async (t) => {
  const r = await rig(t, { pendingPolls: 0 })
  await settle(r, await add(r, [{ ip: '198.51.100.1' }, { ip: '198.51.100.2' }]))
  const id1 = r.cf.items.get('198.51.100.1')?.id ?? ''
  const res = await within(r.client.rules.lists.items.delete(r.cf.listId, { account_id: r.cf.accountId, items: [{ id: id1 }, { id: 'f'.repeat(32) }] }), 2000)
  const { seen } = await settle(r, res.operation_id)
  t.same(seen, ['running', 'completed'], 'pendingPolls 0: one running, then completed')
  t.same(Array.from(r.cf.items.keys()), ['198.51.100.2'])
  t.same(r.cf.requests.find((q) => q.method === 'DELETE')?.body, { items: [{ id: id1 }, { id: 'f'.repeat(32) }] })
})

test('a failed operation applies nothing; so does one past maxItems', async (t) => {
  const r = await rig(t, { maxItems: 2 })
  r.cf.failNextOp('internal error while processing')
  const failed = await settle(r, await add(r, [{ ip: '192.0.2.10' }]))
  t.equal(failed.last.status, 'failed')
  t.equal(failed.last.error, 'internal error while processing')
  t.equal(r.cf.items.size, 0)

  await settle(r, await add(r, [{ ip: '192.0.2.11' }]))
  const over = await settle(r, await add(r, [{ ip: '192.0.2.11' }, { ip: '192.0.2.12' }, { ip: '192.0.2.13' }]))
  t.equal(over.last.status, 'failed')
  t.match(over.last.error, /exceeded maximum number of list items/)
  t.same(Array.from(r.cf.items.keys()), ['192.0.2.11'], 'nothing of it applied')
})

test('a write while an operation is pending is refused with 429 and counted; reads are not', async (t) => {
  const r = await rig(t, { pendingPolls: 1 })
  const id = await add(r, [{ ip: '192.0.2.20' }])
  const err = await within(r.client.rules.lists.items.create(r.cf.listId, { account_id: r.cf.accountId, body: [{ ip: '192.0.2.21' }] }).then(() => undefined, (e: unknown) => e), 2000)
  t.ok(err instanceof Cloudflare.RateLimitError, 'RateLimitError')
  t.equal((err as InstanceType<typeof Cloudflare.APIError>).status, 429)
  const del = await within(r.client.rules.lists.items.delete(r.cf.listId, { account_id: r.cf.accountId, items: [{ id: 'a'.repeat(32) }] }).then(() => undefined, (e: unknown) => e), 2000)
  t.equal((del as InstanceType<typeof Cloudflare.APIError>).status, 429, 'deletes too')
  t.equal(r.cf.refusedWhilePending, 2)
  const page = await within(r.client.rules.lists.items.list(r.cf.listId, { account_id: r.cf.accountId }), 2000)
  t.same(page.result, [], 'a listing is answered meanwhile')
  await settle(r, id)
  await settle(r, await add(r, [{ ip: '192.0.2.21' }]))
  t.same(Array.from(r.cf.items.keys()).sort(), ['192.0.2.20', '192.0.2.21'])
  t.equal(r.cf.maxPendingOps, 1)
})

test('inject: a 429 with Retry-After reaches the client error headers, has no effect, then normal service', async (t) => {
  const r = await rig(t)
  r.cf.inject('add', { status: 429, body: { success: false, errors: [{ code: 10000, message: 'rate limited' }], messages: [], result: null }, headers: { 'retry-after': '7' } })
  const err = await within(r.client.rules.lists.items.create(r.cf.listId, { account_id: r.cf.accountId, body: [{ ip: '192.0.2.30' }] }).then(() => undefined, (e: unknown) => e), 2000)
  t.ok(err instanceof Cloudflare.APIError)
  const apiErr = err as InstanceType<typeof Cloudflare.APIError>
  t.equal(apiErr.status, 429)
  t.equal(apiErr.headers?.get('retry-after'), '7')
  t.equal(r.cf.requests.length, 1, 'logged')
  await settle(r, await add(r, [{ ip: '192.0.2.30' }]))
  t.ok(r.cf.items.has('192.0.2.30'))

  r.cf.inject('op', { status: 500, body: 'oops' }, 2)
  const id = await add(r, [{ ip: '192.0.2.31' }])
  for (let i = 0; i < 2; i++) {
    const e = await within(r.client.rules.lists.bulkOperations.get(id, { account_id: r.cf.accountId }).then(() => undefined, (x: unknown) => x), 2000)
    t.equal((e as InstanceType<typeof Cloudflare.APIError>).status, 500)
  }
  t.same((await settle(r, id)).seen, ['pending', 'running', 'completed'], 'injected answers did not advance the operation')
})

test('401 for a wrong token, 403 for another account, 404 for another list, an unknown operation or path', async (t) => {
  const r = await rig(t)
  const bad = new Cloudflare({ apiToken: 'nope', baseURL: r.cf.url, maxRetries: 0, timeout: 2000 })
  const e401 = await within(bad.rules.lists.items.create(r.cf.listId, { account_id: r.cf.accountId, body: [{ ip: '192.0.2.40' }] }).then(() => undefined, (e: unknown) => e), 2000)
  t.ok(e401 instanceof Cloudflare.AuthenticationError)
  t.same((e401 as InstanceType<typeof Cloudflare.APIError>).errors, [{ code: 10000, message: 'Authentication error' }])
  const e403 = await within(r.client.rules.lists.items.create(r.cf.listId, { account_id: 'other', body: [{ ip: '192.0.2.40' }] }).then(() => undefined, (e: unknown) => e), 2000)
  t.ok(e403 instanceof Cloudflare.PermissionDeniedError)
  const e404 = await within(r.client.rules.lists.items.create('otherlist', { account_id: r.cf.accountId, body: [{ ip: '192.0.2.40' }] }).then(() => undefined, (e: unknown) => e), 2000)
  t.ok(e404 instanceof Cloudflare.NotFoundError)
  const op404 = await within(r.client.rules.lists.bulkOperations.get('0'.repeat(32), { account_id: r.cf.accountId }).then(() => undefined, (e: unknown) => e), 2000)
  t.ok(op404 instanceof Cloudflare.NotFoundError)
  const res = await within(fetch(`${r.cf.url}/zones`, { headers: { authorization: `Bearer ${r.cf.token}` } }), 2000)
  t.equal(res.status, 404)
  t.equal(((await res.json()) as { success: boolean }).success, false)
  t.equal(r.cf.items.size, 0)
  t.equal(r.cf.maxPendingOps, 0, 'no operation was started')
})

test('400 naming the invalid item; nothing happens', async (t) => {
  const r = await rig(t)
  for (const ip of ['not-an-ip', '10.0.0.0/7', '2001:db8::1', '2001:db8::/65', '2001:db8::/11']) {
    const e = await within(r.client.rules.lists.items.create(r.cf.listId, { account_id: r.cf.accountId, body: [{ ip: '192.0.2.50' }, { ip }] }).then(() => undefined, (x: unknown) => x), 2000)
    t.ok(e instanceof Cloudflare.BadRequestError, ip)
    t.match((e as InstanceType<typeof Cloudflare.APIError>).errors[0]?.message, `item 1 ("${ip}")`)
  }
  t.equal(r.cf.maxPendingOps, 0)
  for (const ip of ['10.0.0.0/8', '192.0.2.51/32', '2001:db8::/12', '2001:db8:1:2::/64']) {
    await settle(r, await add(r, [{ ip }]))
  }
  t.equal(r.cf.items.size, 4, 'the edges of the documented ranges are accepted')

  const big = await within(fetch(`${r.cf.url}/accounts/${r.cf.accountId}/rules/lists/${r.cf.listId}/items`, {
    method: 'POST',
    headers: { authorization: `Bearer ${r.cf.token}`, 'content-type': 'application/json' },
    body: JSON.stringify([{ ip: '192.0.2.52', comment: 'x'.repeat(1024 * 1024) }])
  }), 2000)
  t.equal(big.status, 413)
  t.equal(r.cf.items.size, 4)
})

test('listing: three pages on result_info.cursors.after, per_page capped, search by prefix', async (t) => {
  const r = await rig(t, { pendingPolls: 0, perPageMax: 4 })
  const ips = Array.from({ length: 10 }, (_, i) => `203.0.113.${i + 1}`)
  await settle(r, await add(r, ips.map((ip) => ({ ip, comment: `n${ip}` }))))

  const first = await within(r.client.rules.lists.items.list(r.cf.listId, { account_id: r.cf.accountId, per_page: 100 }), 2000)
  const pages: number[] = []
  const seen: string[] = []
  let guard = 0
  for await (const page of first.iterPages()) {
    pages.push(page.result.length)
    for (const it of page.result) seen.push((it as { ip: string }).ip)
    if (++guard > 10) break
  }
  t.same(pages, [4, 4, 2], 'per_page 100 capped to 4: three pages, the last one without a cursor')
  t.same(seen.sort(), [...ips].sort(), 'every item once')
  const cursors = r.cf.requests.filter((q) => q.method === 'GET' && q.path.endsWith('/items')).map((q) => q.query.cursor)
  t.equal(cursors[0], undefined)
  t.ok(cursors.slice(1).every((c) => typeof c === 'string' && c.length > 0), 'later pages ask with cursor')

  const all: string[] = []
  for await (const it of r.client.rules.lists.items.list(r.cf.listId, { account_id: r.cf.accountId, per_page: 3, search: '203.0.113.1' })) {
    all.push((it as { ip: string }).ip)
    if (all.length > 20) break
  }
  t.same(all.sort(), ['203.0.113.1', '203.0.113.10'], 'search: ip starts with')
})
