import { test, type Test } from 'tap'
import type { FastifyInstance } from 'fastify'
import { RateLimiter } from '../lib/limit/limiter'
import type { LimitBlockListener, LimitCount, LimitRule, LimitStore } from '../lib/limit/store'
import type { AppFirewallOptions, LimitedInfo } from '../lib/types'
import { localApp, pluginLogs, sleep, waitFor, within } from './fixtures'
import type { LocalApp } from './fixtures'

const SCANNER = '/.env'
const DAY = 86_400_000

/**
 * What several instances would share (a database, say): counters by class,
 * key and window, the blocks, and every instance's listener.
 */
class Backend {
  counts = new Map<string, number>()
  blocks = new Map<string, number>()
  listeners = new Set<LimitBlockListener>()
}

/** A store of one's own, as a user would write it: async, with the documented window and blocks. */
class MapStore implements LimitStore {
  calls: Array<{ key: string, rule: LimitRule, now: number }> = []
  closed = 0
  private listener: LimitBlockListener | undefined

  constructor (readonly backend = new Backend()) {}

  async incr (key: string, rule: LimitRule, now: number): Promise<LimitCount> {
    this.calls.push({ key, rule, now })
    const w = rule.windowMs
    const start = now - (now % w)
    const name = `${rule.classification}:${key}:`
    const current = (this.backend.counts.get(name + start) ?? 0) + 1
    this.backend.counts.set(name + start, current)
    const previous = this.backend.counts.get(name + (start - w)) ?? 0
    const count = previous === 0 ? current : Math.floor(previous * (w - (now - start)) / w) + current
    let blockedMs = Math.max(0, (this.backend.blocks.get(key) ?? 0) - now)
    let started = false
    if (count > rule.max && blockedMs === 0) {
      blockedMs = w - (now - start)
      started = true
      this.backend.blocks.set(key, now + blockedMs)
      for (const l of this.backend.listeners) if (l !== this.listener) l(key, blockedMs)
    }
    return { count, blockedMs, started }
  }

  subscribe (listener: LimitBlockListener): void {
    this.listener = listener
    this.backend.listeners.add(listener)
  }

  close (): void {
    this.closed++
    if (this.listener !== undefined) this.backend.listeners.delete(this.listener)
  }
}

/** A synchronous store: the count comes back at once. */
class SyncStore implements LimitStore {
  counts = new Map<string, number>()
  incr (key: string, rule: LimitRule, now: number): number {
    const name = `${rule.classification}:${key}:${now - (now % rule.windowMs)}`
    const n = (this.counts.get(name) ?? 0) + 1
    this.counts.set(name, n)
    return n
  }

  close (): void {}
}

interface Harness extends LocalApp {
  limited: Array<[string, LimitedInfo]>
}

/** A real app in local mode, enforcing a scanner limit of 3 per day, with one route. */
async function build (t: Test, opts: AppFirewallOptions): Promise<Harness> {
  const limited: Array<[string, LimitedInfo]> = []
  const h = await localApp(t, {
    enforceRateLimit: true,
    rateLimit: { scanner: { max: 3, windowMs: DAY } },
    onLimited: (ip, info) => { limited.push([ip, info]) },
    ...opts
  })
  h.app.get('/ok', async () => 'ok')
  return { ...h, limited }
}

/** Status and Retry-After of one request; fails the test if the answer takes longer than `ms`. */
async function get (app: FastifyInstance, url: string, ip: string, ms = 1000): Promise<{ status: number, retryAfter: string | undefined }> {
  const res = await within(app.inject({ url, remoteAddress: ip }), ms)
  return { status: res.statusCode, retryAfter: res.headers['retry-after'] as string | undefined }
}

async function statuses (app: FastifyInstance, url: string, ip: string, n: number): Promise<number[]> {
  const out: number[] = []
  for (let i = 0; i < n; i++) out.push((await get(app, url, ip)).status)
  return out
}

test('a store of your own counts every scanner 404 under the limiter key and sees the rule', async (t) => {
  const store = new MapStore()
  const h = await build(t, { store })
  await get(h.app, SCANNER, '198.51.100.1')
  await get(h.app, '/wp-login.php', '198.51.100.1')
  await get(h.app, SCANNER, '2001:db8:1:2::7')
  await get(h.app, '/favicon.ico', '198.51.100.1')
  await get(h.app, '/ok', '198.51.100.1')
  t.same(store.calls.map((c) => c.key), ['198.51.100.1', '198.51.100.1', '2001:db8:1::/48', '2001:db8:1:2::/64'],
    'scanner 404s only, IPv6 per /48 and per /64')
  const call = store.calls[0] as { rule: LimitRule, now: number }
  t.same(call.rule, { classification: 'scanner', index: 0, max: 3, windowMs: DAY })
  t.ok(Object.isFrozen(call.rule), 'the rule is frozen')
  t.same(store.calls[2]?.rule, { classification: 'scanner', index: 0, max: 3 * 5, windowMs: DAY }, 'a /48 counts against max × ipv6SiteFactor (default 5)')
  t.equal(store.calls[3]?.rule, call.rule, 'a /64 under the class rule itself')
  t.ok(Math.abs(call.now - Date.now()) < 5000, 'now is epoch ms')
})

test('a block the store reports is enforced from the next request on, with Retry-After, and marked on events', async (t) => {
  const backend = new Backend()
  const elsewhere = new MapStore(backend)
  const ip = '198.51.100.2'
  // Another instance already counted three hits of this IP.
  for (let i = 0; i < 3; i++) await elsewhere.incr(ip, { classification: 'scanner', index: 0, max: 3, windowMs: DAY }, Date.now())
  const h = await build(t, { store: new MapStore(backend) })

  t.equal((await get(h.app, SCANNER, ip)).status, 404, 'the hit that passes the shared limit is served: its answer comes later')
  await waitFor(() => h.limited.length === 1, 1000, 'the answer')
  const res = await get(h.app, '/no/such/page', ip)
  t.equal(res.status, 429, 'the next request is refused')
  const secs = Number(res.retryAfter)
  t.ok(Number.isInteger(secs) && secs >= 1 && secs <= DAY / 1000, `Retry-After ${res.retryAfter}`)
  t.equal((await get(h.app, '/ok', ip)).status, 200, 'existing routes still serve it (enforceScope not-found)')
  t.equal((await get(h.app, SCANNER, '198.51.100.3')).status, 404, 'another IP is not blocked')

  t.match(h.limited[0], [ip, { classification: 'scanner', count: 4, max: 3, enforced: true, key: ip }],
    'onLimited ran here, where the store says the block started, with the shared count')
  const events = (await h.events()).filter((e) => e.ip === ip)
  t.same(events.map((e) => [e.status, e.blocked === true]), [[404, false], [429, true], [200, false]])
})

test('two apps sharing a store add up their counts, refuse together, and onLimited runs once, where the block started', async (t) => {
  const backend = new Backend()
  const a = await build(t, { store: new MapStore(backend) })
  const b = await build(t, { store: new MapStore(backend) })
  const ip = '203.0.113.7'
  t.same(await statuses(a.app, SCANNER, ip, 2), [404, 404])
  t.same(await statuses(b.app, SCANNER, ip, 2), [404, 404], 'neither app alone passes the limit of 3')
  await waitFor(() => b.limited.length === 1, 1000, 'the block on b')
  t.equal((await get(b.app, SCANNER, ip)).status, 429, 'b refuses the IP')
  t.equal((await get(a.app, SCANNER, ip)).status, 429, 'a refuses it at once: the block came through subscribe')
  t.equal(b.limited[0]?.[1].count, 4, 'with the shared count')
  t.equal(a.limited.length, 0, 'not on the app that only learnt of the block')
  t.equal(b.limited.length, 1)
})

test('blocks delivered through subscribe are enforced at once; bad deliveries are ignored', async (t) => {
  let listener: LimitBlockListener = () => {}
  const store: LimitStore = { incr: () => undefined, subscribe: (l) => { listener = l }, close: () => {} }
  const h = await build(t, { store })
  listener('203.0.113.20', 30_000)
  const res = await get(h.app, SCANNER, '203.0.113.20')
  t.equal(res.status, 429)
  t.equal(res.retryAfter, '30')
  listener('203.0.113.21', 1e12)
  t.ok(Number((await get(h.app, SCANNER, '203.0.113.21')).retryAfter) <= DAY / 1000, 'a block never outlasts the longest window')

  const bad = listener as (key: unknown, ms: unknown) => void
  t.doesNotThrow(() => {
    bad(42, 1000)
    bad('203.0.113.22', -5)
    bad('203.0.113.22', NaN)
    bad('203.0.113.22', '1000')
    bad(undefined, undefined)
  })
  t.equal((await get(h.app, SCANNER, '203.0.113.22')).status, 404, 'none of them blocked anything')
})

test('a synchronous store counts at once: the hit that passes the shared limit is already marked', async (t) => {
  const sync = new SyncStore()
  const ip = '198.51.100.30'
  const rule: LimitRule = { classification: 'scanner', index: 0, max: 3, windowMs: DAY }
  for (let i = 0; i < 3; i++) sync.incr(ip, rule, Date.now()) // hits counted by other instances
  const h = await build(t, { store: sync, enforceRateLimit: false })
  t.equal((await get(h.app, SCANNER, ip)).status, 404, 'shadow mode refuses nothing')
  t.equal(h.limited.length, 1, 'onLimited ran during that very hit')
  t.match(h.limited[0]?.[1], { count: 4, max: 3, enforced: false })
  await get(h.app, SCANNER, ip)
  t.equal(h.limited.length, 1, 'once per block')

  // The same with an async store: the first hit is marked only from the next request on.
  const backend = new Backend()
  const other = new MapStore(backend)
  for (let i = 0; i < 3; i++) await other.incr(ip, rule, Date.now())
  const h2 = await build(t, { store: new MapStore(backend), enforceRateLimit: false })
  await get(h2.app, SCANNER, ip)
  await waitFor(() => h2.limited.length === 1, 1000, 'the answer')
  await get(h2.app, SCANNER, ip)
  t.same((await h.events()).map((e) => e.would_block === true), [true, true], 'sync: the first hit is already marked')
  t.same((await h2.events()).map((e) => e.would_block === true), [false, true], 'async: from the next hit on')
})

/** Stores that fail every way a store can: none may change a response or hold a request. */
const broken: Array<[string, () => LimitStore]> = [
  ['throws', () => ({ incr: () => { throw new Error('boom') }, close: () => {} })],
  ['rejects', () => ({ incr: async () => await Promise.reject(new Error('down')), close: () => {} })],
  ['hangs', () => ({ incr: async () => await new Promise<never>(() => {}), close: () => {} })],
  ['answers a string', () => ({ incr: () => 'seven' as unknown as number, close: () => {} })],
  ['answers NaN', () => ({ incr: () => NaN, close: () => {} })],
  ['answers a negative count', () => ({ incr: () => -1, close: () => {} })],
  ['answers null', () => ({ incr: () => null as unknown as number, close: () => {} })],
  ['answers an object that is no promise', () => ({ incr: () => ({ count: 9 }) as unknown as number, close: () => {} })],
  ['resolves to garbage', () => ({ incr: async () => ({ count: 'x' }) as unknown as LimitCount, close: () => {} })],
  ['resolves to null', () => ({ incr: async () => null as unknown as LimitCount, close: () => {} })],
  ['resolves to an infinite count', () => ({ incr: async () => ({ count: Infinity }), close: () => {} })],
  ['answers a thenable whose then throws', () => ({ incr: () => ({ then: () => { throw new Error('then') } }) as unknown as Promise<LimitCount>, close: () => {} })],
  ['answers an object whose count getter throws', () => ({
    incr: async () => Object.defineProperty({}, 'count', { get: () => { throw new Error('getter') } }) as LimitCount,
    close: () => {}
  })],
  ['fails to subscribe', () => ({ incr: () => 1, subscribe: () => { throw new Error('no pubsub') }, close: () => {} })]
]

for (const [what, make] of broken) {
  test(`a store that ${what} never breaks or delays a request, and this process still counts`, async (t) => {
    const h = await build(t, { store: make() })
    const ip = '192.0.2.50'
    const six = await statuses(h.app, SCANNER, ip, 6)
    // The 4th hit passes the limit of 3: refused or not by itself as the request lifecycle decides, never a later one.
    t.same([...six.slice(0, 3), ...six.slice(4)], [404, 404, 404, 429, 429], `the local count blocks as usual: ${six.join(',')}`)
    t.same(await statuses(h.app, '/ok', '192.0.2.51', 3), [200, 200, 200])
    await sleep(20) // let rejections and answers land
    t.equal(h.limited.length, 1, 'onLimited ran once, from the local count')
    const warns = pluginLogs(h.logs, 40)
    // A hang shows only once calls stay unanswered for 5 s or 256 pile up (see the tests below).
    t.equal(warns.length, what === 'hangs' ? 0 : 1, 'at most one warning, never one per hit')
    if (warns.length > 0) t.match(warns[0]?.msg, /rate limit store/)
    t.equal(pluginLogs(h.logs, 50).length, 0, 'no error logged')
  })
}

test('an outage of the store is reported once, and its recovery once', async (t) => {
  let up = false
  const store: LimitStore = { incr: () => up ? 1 : undefined, close: () => {} }
  const h = await build(t, { store })
  await statuses(h.app, SCANNER, '192.0.2.60', 3)
  up = true
  await statuses(h.app, SCANNER, '192.0.2.61', 3)
  t.same(pluginLogs(h.logs, 40).map((l) => l.msg), [
    'appfirewall: the shared rate limit store is unavailable or slow; rate limits are counted in this process until it answers again'
  ])
  // The boot line (it carries `mode`) aside, the only info line is the recovery.
  t.same(pluginLogs(h.logs, 30).filter((l) => l.mode === undefined).map((l) => l.msg), [
    'appfirewall: the shared rate limit store answers again; rate limit counts are shared again'
  ])
})

test('a store that never answers holds at most 256 calls; the rest are counted here only, and answers resume', async (t) => {
  const pending: Array<(c: LimitCount) => void> = []
  let hang = true
  const store: LimitStore = {
    incr: async () => hang ? await new Promise<LimitCount>((resolve) => { pending.push(resolve) }) : { count: 1 },
    close: () => {}
  }
  const infos: string[] = []
  const rl = new RateLimiter({
    rules: { scanner: { max: 10, windowMs: DAY } },
    maxTrackedIps: 10_000,
    enforce: true,
    store,
    log: { warn: () => {}, info: (_o, m) => { infos.push(m) } }
  })
  t.teardown(() => rl.close())
  const now = Date.now()
  let blocked = 0
  for (let i = 0; i < 1000; i++) {
    const ip = i < 11 ? '192.0.2.70' : `10.7.${i >> 8}.${i & 255}`
    if (rl.hit(ip, ip, 'scanner', now) > 0) blocked++
  }
  t.equal(blocked, 1, 'the local count blocked the 11th hit')
  t.match(rl.stats().shared, { sent: 256, skipped: 744, errors: 0, outstanding: 256 })
  hang = false
  for (const resolve of pending) resolve({ count: 1 })
  await waitFor(() => rl.stats().shared?.outstanding === 0, 1000, 'the answers')
  rl.hit('192.0.2.71', '192.0.2.71', 'scanner', now)
  await sleep(5)
  t.equal(rl.stats().shared?.sent, 257, 'calls are sent again')
  t.equal(infos.length, 1, 'the recovery is logged once')
})

test('calls left unanswered for 5 s make an outage, reported once, before the cap fills up', async (t) => {
  const warns: string[] = []
  const store: LimitStore = {
    incr: async () => await new Promise<never>(() => {}),
    stats: () => { throw new Error('no stats') },
    close: () => {}
  }
  const rl = new RateLimiter({
    rules: { scanner: { max: 10, windowMs: DAY } },
    maxTrackedIps: 100,
    enforce: true,
    store,
    log: { warn: (_o, m) => { warns.push(m) }, info () {} }
  })
  t.teardown(() => rl.close())
  const now = Date.now()
  rl.hit('a', 'a', 'scanner', now)
  rl.hit('b', 'b', 'scanner', now + 4_000)
  t.equal(warns.length, 0, 'a slow answer is not an outage yet')
  rl.hit('c', 'c', 'scanner', now + 5_001)
  rl.hit('d', 'd', 'scanner', now + 9_000)
  t.equal(warns.length, 1, 'calls unanswered for over 5 s: one warning, not one per hit')
  t.match(rl.stats().shared, { sent: 4, outstanding: 4, store: undefined }, 'a stats() that throws is left out')
})

test('app.close() closes the store once; a close that throws, rejects or hangs never holds app.close()', async (t) => {
  const store = new MapStore()
  const h = await build(t, { store })
  await get(h.app, SCANNER, '192.0.2.80')
  await h.app.close()
  t.equal(store.closed, 1)
  t.equal(store.backend.listeners.size, 0, 'the store let go of its listener')

  const closers: Array<[string, () => void | Promise<void>]> = [
    ['throws', () => { throw new Error('close failed') }],
    ['rejects', async () => await Promise.reject(new Error('close failed'))],
    ['hangs', async () => await new Promise<void>(() => {})]
  ]
  for (const [what, close] of closers) {
    const h2 = await build(t, { store: { incr: () => 1, close }, closeGraceMs: 200 })
    const started = Date.now()
    await h2.app.close()
    t.ok(Date.now() - started < 2000, `app.close() returned although the store's close ${what}`)
    t.equal(pluginLogs(h2.logs, 40).length, 1, `one warning when the close ${what}`)
  }
})

test('onLimited runs where the shared answer says the block started, and never twice in one process', async (t) => {
  const now = Date.now()
  /** Five hits of one key under a limit of 2; `settle` lets each answer land before the next hit. */
  async function run (answer: (n: number) => Promise<LimitCount>, settle: boolean): Promise<LimitedInfo[]> {
    const calls: LimitedInfo[] = []
    let n = 0
    const store: LimitStore = { incr: async () => await answer(++n), close: () => {} }
    const rl = new RateLimiter({
      rules: { scanner: { max: 2, windowMs: DAY } },
      maxTrackedIps: 100,
      enforce: true,
      store,
      onLimited: (_ip, info) => { calls.push(info) },
      log: { warn () {}, info () {} }
    })
    for (let i = 0; i < 5; i++) {
      rl.hit('k', 'k', 'scanner', now)
      if (settle) await waitFor(() => rl.stats().shared?.outstanding === 0, 1000, 'the answer')
    }
    await waitFor(() => rl.stats().shared?.outstanding === 0, 1000, 'the answers')
    await rl.close()
    return calls
  }
  const counts = (calls: LimitedInfo[]): number[] => calls.map((c) => c.count)
  t.same(counts(await run(async (n) => ({ count: n + 10, blockedMs: 1000, started: false }), true)), [],
    'another instance started it: learnt from the first answer, never announced here')
  const started = await run(async (n) => ({ count: n + 2, blockedMs: 1000, started: n === 1 }), true)
  t.same(counts(started), [3], 'this hit started it: announced once, with the shared count')
  t.equal(started[0]?.retryAfterMs, 1000, 'and the block the store holds')
  t.same(counts(await run(async (n) => ({ count: n + 1 }), true)), [3],
    'no `started`: the hit whose count is max + 1 started it')
  t.same(counts(await run(async () => await Promise.reject(new Error('down')), true)), [3],
    'no answer: this process announces the block it set on its own count')
  t.same(counts(await run(async (n) => ({ count: n, blockedMs: 1000, started: n === 3 }), false)), [3],
    'the own count passed the limit before the answers came: announced once, not again when the answer says so')
  t.same(counts(await run(async () => ({ count: 1, blockedMs: 0 }), true)), [3],
    'a shared count under the limit does not lift the block of the own count')
})
