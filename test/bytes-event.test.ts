// Issue 9, item 2, one event: bounded in bytes, not only in counts. Before,
// the per-value limits multiplied (50 keys x 100 items x 2000 characters...)
// and shared references were expanded at every occurrence: a 2 KB object
// became an 11-51 MB line and record() blocked the event loop for 0.25-5 s;
// a 930 KB parsed body stayed a 952 KB line in the queue. Now a custom event
// has a byte budget (maxEventBytes, default 16 KiB, UTF-8): its fields are
// clipped to fit and counted (stats().clipped), a repeated reference is
// written as a marker, as a cycle is, and record() runs none of the app's
// code. Through the real plugin: the lines as they reach the file or the ingest.
import t from 'tap'
import type { Test } from 'tap'
import Fastify from 'fastify'
import type { FastifyInstance } from 'fastify'
import { readFileSync } from 'node:fs'
import appFirewall from '../lib/index'
import type { AppFirewallOptions } from '../lib/types'
import { accountedFor, localApp, startIngest } from './fixtures'

const BUDGET = 16_384
const SCHEMA = ['environment', 'fields', 'ip', 'method', 'name', 'path', 'ts', 'type']

/** A 2 KB object whose arrays share references: 51 MB when every reference is expanded. */
function sharedReferences (): Record<string, unknown> {
  const leaf = Array.from({ length: 100 }, () => 'x'.repeat(20))
  const mid = Array.from({ length: 100 }, () => leaf)
  const top: Record<string, unknown> = {}
  for (let i = 0; i < 50; i++) top['k' + i] = mid
  return top
}

/** A 930 KB JSON body, parsed: 50 keys, each an array of 10 strings of 1900 characters. */
function parsedBody (): Record<string, unknown> {
  const o: Record<string, unknown> = {}
  for (let k = 0; k < 50; k++) o['k' + k] = Array.from({ length: 10 }, (_, j) => String.fromCharCode(97 + (k + j) % 26).repeat(1900))
  return JSON.parse(JSON.stringify(o))
}

interface Recorded {
  /** Raw custom lines as delivered, in order. */
  lines: string[]
  app: FastifyInstance
}

/** Serves one request whose handler records each [name, fields], timing each call; returns the custom lines delivered. */
async function recordThrough (t: Test, calls: Array<[unknown, unknown]>, opts: AppFirewallOptions = {}, url = '/r'): Promise<Recorded> {
  const { app, file } = await localApp(t, { environment: 'prod', ...opts })
  app.route({
    method: 'GET',
    url: '/*',
    handler: async (request) => {
      for (const [name, fields] of calls) {
        ;(request.appfirewall.record as (n: unknown, f: unknown) => void)(name, fields)
      }
      return 'ok'
    }
  })
  const res = await app.inject({ url, remoteAddress: '192.0.2.77' })
  t.equal(res.statusCode, 200)
  t.equal(await app.appfirewall.flush(5000), true)
  const lines = readFileSync(file, 'utf8').split('\n').filter((l) => l.includes('"type":"custom"'))
  return { lines, app }
}

function checkLine (t: Test, line: string, budget: number, what: string): Record<string, any> {
  t.ok(Buffer.byteLength(line) <= budget, `${what}: ${Buffer.byteLength(line)} bytes, within ${budget}`)
  const e = JSON.parse(line) as Record<string, any>
  t.same(Object.keys(e).sort(), SCHEMA, `${what}: exactly the wire schema`)
  t.equal(typeof e.fields, 'object')
  return e
}

t.test('a 2 KB object whose arrays share references: one bounded line, each reference written once (how long record() takes is measured in benchmarks/record-hostile.bench.js)', async (t) => {
  const { lines, app } = await recordThrough(t, [['shared', sharedReferences()]])
  t.equal(lines.length, 1, 'the event is kept')
  const e = checkLine(t, lines[0] as string, BUDGET, 'shared references')
  t.equal(e.fields.k0[0].length, 100, 'the first reference is written out')
  t.equal(e.fields.k0[1], '[Repeated]', 'a repeated reference is a marker, as a cycle is')
  t.equal(e.fields.k1, '[Repeated]')
  t.equal(e.fields.k49, '[Repeated]')
  t.equal(app.appfirewall.stats().clipped, 0, 'nothing needed clipping')
})

t.test('a 930 KB parsed body with small fields beside it: clipped to the budget, the small fields whole, counted', async (t) => {
  const body = parsedBody()
  const { lines, app } = await recordThrough(t, [['upload', { body, user: 'ann', size: 952_006, tags: ['a', 'b'] }]])
  t.equal(lines.length, 1, 'the event is kept')
  const e = checkLine(t, lines[0] as string, BUDGET, '930 KB body')
  t.same({ user: e.fields.user, size: e.fields.size, tags: e.fields.tags }, { user: 'ann', size: 952_006, tags: ['a', 'b'] },
    'the small fields after the big one are kept whole')
  t.same(Object.keys(e.fields.body)[0], 'k0', 'the body keeps its first keys')
  t.same(e.fields.body.k0.slice(0, 2), ['a'.repeat(1900), 'b'.repeat(1900)], 'and its first values whole')
  t.ok(Buffer.byteLength(lines[0] as string) > BUDGET - 200, 'the budget is used, not wasted')
  const s = app.appfirewall.stats()
  t.equal(s.clipped, 1, 'stats().clipped counts the clipped event')
  t.equal(s.emitted, 2)
  t.equal(s.emitted, accountedFor(s))
})

t.test('a hostile request and a hostile record(): every line within the budget, valid, with the wire schema', async (t) => {
  const big = 'é"\\\u0001😀'.repeat(40_000)
  const deep: Record<string, unknown> = {}
  let at = deep
  for (let i = 0; i < 10_000; i++) at = (at.next = {}) as Record<string, unknown>
  const wide: Record<string, unknown> = {}
  for (let i = 0; i < 5000; i++) wide['key' + i + big.slice(0, 50)] = big.slice(0, 3000)
  const calls: Array<[unknown, unknown]> = [
    [big, { body: big, list: Array(100).fill(big), nested: { a: [big, { b: big }] } }],
    ['deep', deep],
    ['wide', wide],
    ['array', Array.from({ length: 1000 }, (_, i) => ({ i, s: big.slice(i, i + 300) }))],
    ['plain', 'just a string'],
    ['none', undefined]
  ]
  // A path of 2000 characters that all need escaping (`"`): 4 KB of the line.
  for (const url of ['/p?' + 'q'.repeat(10), '/' + '"'.repeat(2000)]) {
    await t.test(`path of ${url.length} characters`, async (t) => {
      const budget = BUDGET
      const { lines, app } = await recordThrough(t, calls, {}, url)
      t.equal(lines.length, calls.length, 'no event lost')
      for (const [i, line] of lines.entries()) checkLine(t, line, budget, `event ${i}`)
      const s = app.appfirewall.stats()
      t.ok(s.clipped >= 3, `${s.clipped} clipped events counted`)
      t.equal(s.emitted, accountedFor(s))
    })
  }
})

t.test('record() runs none of the app\'s code: no getter, Proxy trap, toString or toJSON is called', async (t) => {
  let calls = 0
  const count = (): number => ++calls
  const getters = Object.defineProperty({ plain: 1 }, 'secret', { enumerable: true, get: count })
  const traps = new Proxy({ a: 1 }, { get: count, ownKeys: () => { count(); return [] }, getPrototypeOf: () => { count(); return null }, getOwnPropertyDescriptor: () => { count(); return undefined } })
  class Thing {
    toString (): string { count(); return 'thing' }
    toJSON (): string { count(); return 'thing' }
  }
  const err = new TypeError('bad input')
  const { lines } = await recordThrough(t, [['app-code', {
    getters,
    traps,
    listed: [traps, new Thing()],
    thing: new Thing(),
    err,
    when: new Date(0),
    fn: function named () {},
    big: 12345678901234567890n
  }], [traps, traps]])
  t.equal(calls, 0, 'nothing of the app ran')
  t.equal(lines.length, 2)
  const e = JSON.parse(lines[0] as string)
  t.same(e.fields, {
    getters: { plain: 1, secret: '[Getter]' },
    traps: '[Proxy]',
    listed: ['[Proxy]', '[Thing]'],
    thing: '[Thing]',
    err: 'TypeError: bad input',
    when: '1970-01-01T00:00:00.000Z',
    fn: '[Function named]',
    big: '12345678901234567890'
  })
  const p = JSON.parse(lines[1] as string)
  t.equal(p.name, '[Proxy]', 'a Proxy as the name is named, not read')
  t.same(p.fields, { value: '[Proxy]' })
})

t.test('ship mode: the clipped lines reach a real ingest within the budget', async (t) => {
  const ingest = await startIngest()
  t.teardown(() => ingest.close())
  const app = Fastify()
  await app.register(appFirewall, { mode: 'ship', apiKey: 'k', endpoint: ingest.url, cloudflareRefreshMs: 0 })
  t.teardown(() => app.close())
  app.get('/', async (request) => {
    request.appfirewall.record('shared', sharedReferences())
    request.appfirewall.record('upload', { body: parsedBody(), user: 'ann' })
    return 'ok'
  })
  await app.inject({ url: '/' })
  t.equal(await app.appfirewall.flush(5000), true)
  const custom = ingest.lines().filter((l) => l.includes('"type":"custom"'))
  t.equal(custom.length, 2)
  for (const line of custom) t.ok(Buffer.byteLength(line) <= BUDGET, `${Buffer.byteLength(line)} bytes`)
  t.equal(app.appfirewall.stats().clipped, 1)
})

// V8 holds a string with a character past U+00FF in two bytes a character:
// the CJK text is counted for that, not for its length.
for (const [text, digit] of [['ASCII', (n: number) => String(n % 10)], ['CJK', (n: number) => String.fromCharCode(0x6f22 + n % 10)]] as const) {
  t.test(`the queue is bounded in bytes (${text}): past maxQueueBytes the oldest custom events go, every http_request event stays`, async (t) => {
  // Nothing leaves before the flush (a batch of 10 000, the interval a minute
  // away), so what reaches the ingest is exactly what the queue held.
    const MAX_QUEUE = 262_144
    const ingest = await startIngest()
    t.teardown(() => ingest.close())
    const app = Fastify()
    await app.register(appFirewall, {
      mode: 'ship',
      apiKey: 'k',
      endpoint: ingest.url,
      cloudflareRefreshMs: 0,
      maxQueueBytes: MAX_QUEUE,
      queueSize: 10_000,
      batchSize: 10_000,
      flushIntervalMs: 60_000
    })
    t.teardown(() => app.close())
    app.get('/upload/:n', async (request) => {
      const n = Number((request.params as { n: string }).n)
      // A 100 KB field: each event is clipped to the 16 KiB budget.
      for (let i = 0; i < 5; i++) request.appfirewall.record('upload', { n, i, body: digit(n).repeat(100_000) })
      return 'ok'
    })
    for (let n = 0; n < 20; n++) t.equal((await app.inject({ url: `/upload/${n}`, remoteAddress: '192.0.2.80' })).statusCode, 200)
    const s = app.appfirewall.stats()
    t.equal(s.emitted, 120)
    t.ok(s.dropped.overflow > 0, `${s.dropped.overflow} custom events pushed out`)
    t.equal(await app.appfirewall.flush(5000), true)
    const lines = ingest.lines()
    // What V8 holds of each line (one or two bytes a character), + 512.
    const held = lines.reduce((sum, l) => sum + (/[\u0100-\uffff]/.test(l) ? 2 : 1) * l.length + 512, 0)
    t.ok(held <= MAX_QUEUE, `the queue held ${held} bytes, within ${MAX_QUEUE}`)
    t.ok(held > MAX_QUEUE - 20_000, 'and used its budget')
    const events = lines.map((l) => JSON.parse(l) as Record<string, any>)
    t.equal(events.filter((e) => e.type === 'http_request').length, 20, 'every http_request event was kept')
    const custom = events.filter((e) => e.type === 'custom').map((e) => e.fields.n * 5 + e.fields.i)
    t.equal(custom.length + s.dropped.overflow, 100, 'only custom events were dropped, and counted')
    t.same(custom, Array.from({ length: custom.length }, (_, k) => 100 - custom.length + k), 'the newest custom events were kept, in order')
    const after = app.appfirewall.stats()
    t.equal(after.emitted, accountedFor(after))
  })
}
