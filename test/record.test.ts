import { test } from 'tap'
import Fastify from 'fastify'
import appFirewall, { record } from '../lib/index'
import { localApp, readEvents, sleep } from './fixtures'

function customs (file: string) {
  return readEvents(file).filter((e) => e.type === 'custom')
}

function deep (n: number, name: string): void {
  if (n === 0) record(name, { depth: 'bottom' })
  else deep(n - 1, name)
}

test('record() works from handlers, deep call stacks, after awaits, in timers and promise chains', async (t) => {
  const { app, file } = await localApp(t)
  app.post('/login', async (request) => {
    request.appfirewall.record('direct', { user: 'ann' })
    deep(20, 'deep')
    await sleep(5)
    record('after-await')
    await new Promise<void>((resolve) => {
      setTimeout(() => { record('in-timer'); resolve() }, 1)
    })
    await Promise.resolve().then(() => record('in-then'))
    setImmediate(() => record('in-immediate'))
    await new Promise((resolve) => setImmediate(resolve))
    return { ok: true }
  })
  const res = await app.inject({ method: 'POST', url: '/login', payload: { user: 'ann' }, remoteAddress: '198.51.100.7' })
  t.equal(res.statusCode, 200)
  t.ok(await app.appfirewall.flush(2000))
  const got = customs(file)
  t.same(got.map((e) => e.name), ['direct', 'deep', 'after-await', 'in-timer', 'in-then', 'in-immediate'])
  for (const e of got) {
    t.equal(e.ip, '198.51.100.7')
    t.equal(e.path, '/login')
    t.equal(e.method, 'POST')
  }
  t.same(got[0]?.fields, { user: 'ann' })
})

test('a detached request.appfirewall.record still finds its request', async (t) => {
  const { app, file } = await localApp(t)
  app.get('/x', async (request) => {
    const { record: rec } = request.appfirewall
    rec('detached', { n: 1 })
    return 'ok'
  })
  await app.inject({ url: '/x', remoteAddress: '198.51.100.8' })
  await app.appfirewall.flush(2000)
  const got = customs(file)
  t.equal(got.length, 1)
  t.equal(got[0]?.ip, '198.51.100.8')
})

test('200 concurrent interleaved requests never see each other\'s context', async (t) => {
  const { app, file } = await localApp(t)
  app.get('/r/:n', async (request) => {
    const n = Number((request.params as { n: string }).n)
    await sleep((n * 7) % 13)
    record('step', { n, phase: 1 })
    await new Promise((resolve) => setImmediate(resolve))
    record('step', { n, phase: 2 })
    return { ip: request.appfirewall.ip }
  })
  const results = await Promise.all(Array.from({ length: 200 }, (_, n) =>
    app.inject({ url: `/r/${n}`, remoteAddress: `10.1.${n >> 8}.${n & 255}` })))
  for (const [n, res] of results.entries()) t.equal(res.json().ip, `10.1.${n >> 8}.${n & 255}`)
  await app.appfirewall.flush(3000)
  const got = customs(file)
  t.equal(got.length, 400)
  let wrong = 0
  for (const e of got) {
    const n = e.fields.n as number
    if (e.ip !== `10.1.${n >> 8}.${n & 255}` || e.path !== `/r/${n}`) wrong++
  }
  t.equal(wrong, 0, 'every event carries its own request\'s ip and path')
})

test('record() outside a request does nothing and does not throw', async (t) => {
  const { app, file } = await localApp(t)
  app.get('/', async () => 'ok')
  await app.ready()
  t.doesNotThrow(() => record('outside', { a: 1 }))
  await app.inject({ url: '/' })
  await app.appfirewall.flush(2000)
  t.equal(customs(file).length, 0)
  t.equal(app.appfirewall.stats().emitted, 1)
})

test('record() never throws, whatever it is given, and keeps the event', async (t) => {
  const { app, file } = await localApp(t)
  const cyclic: Record<string, unknown> = { a: 1 }
  cyclic.self = cyclic
  const throwingGetter = Object.defineProperty({ ok: 1 }, 'bad', { enumerable: true, get () { throw new Error('boom') } })
  const throwingProxy = new Proxy({}, {
    ownKeys () { throw new Error('trap') },
    get () { throw new Error('trap') },
    getPrototypeOf () { throw new Error('trap') }
  })
  const huge = 'x'.repeat(10 * 1024 * 1024)
  const sym = Symbol('s')
  class Thing { toString (): string { throw new Error('no') } }
  const wide: Record<string, number> = {}
  for (let i = 0; i < 500; i++) wide['k' + i] = i
  const calls: Array<[unknown, unknown]> = [
    [undefined, undefined],
    ['cyclic', cyclic],
    ['bigint', { n: 10n }],
    ['getter', throwingGetter],
    ['proxy', throwingProxy],
    ['huge', { body: huge }],
    ['symbols', { [sym]: 1, plain: sym }],
    ['thing', { t: new Thing(), d: new Date(0), f: () => 1, nan: NaN, u: undefined }],
    ['wide', wide],
    ['array', { list: Array.from({ length: 1000 }, (_, i) => i) }],
    ['nested', { a: { b: { c: { d: { e: 1 } } } } }],
    [{ toString () { throw new Error('name') } }, 'not an object'],
    [huge, 42]
  ]
  app.get('/', async (request) => {
    for (const [name, fields] of calls) {
      (record as (a: unknown, b: unknown) => void)(name, fields)
      ;(request.appfirewall.record as (a: unknown, b: unknown) => void)(name, fields)
    }
    return 'ok'
  })
  const res = await app.inject({ url: '/' })
  t.equal(res.statusCode, 200)
  await app.appfirewall.flush(3000)
  const got = customs(file)
  t.equal(got.length, calls.length * 2, 'no event lost')
  const by = (name: string) => got.find((e) => e.name === name)
  t.equal(by('unnamed')?.fields && typeof by('unnamed')?.fields, 'object')
  t.equal(by('cyclic')?.fields.self, '[Circular]')
  t.equal(by('bigint')?.fields.n, '10')
  // A getter is app code of unknown cost: marked, never called.
  t.same(by('getter')?.fields, { ok: 1, bad: '[Getter]' })
  t.ok(by('proxy'), 'a hostile proxy still yields an event')
  t.equal(by('huge')?.fields.body.length, 2000)
  t.same(by('symbols')?.fields, { plain: 'Symbol(s)' })
  // A class instance is named by its class: its toString is app code, never called.
  t.same(by('thing')?.fields, { t: '[Thing]', d: '1970-01-01T00:00:00.000Z', f: '[Function f]', nan: 'NaN', u: null })
  t.equal(Object.keys(by('wide')?.fields).length, 50)
  t.equal(by('array')?.fields.list.length, 100)
  t.equal(typeof by('nested')?.fields.a.b.c, 'string', 'deep objects are kept shallow')
  t.ok(got.some((e) => e.name.length === 200), 'a huge name is clipped')
  t.ok(got.every((e) => typeof e.ts === 'string' && e.ip === '127.0.0.1'))
})

test('record() in off mode does nothing, and request.appfirewall is still there', async (t) => {
  const app = Fastify()
  await app.register(appFirewall, { mode: 'off' })
  app.get('/', async (request) => {
    request.appfirewall.record('x', { a: 1 })
    record('y')
    return { ip: request.appfirewall.ip, classification: request.appfirewall.classification ?? null }
  })
  const res = await app.inject({ url: '/', remoteAddress: '192.0.2.44' })
  t.same(res.json(), { ip: '192.0.2.44', classification: null })
  t.equal(app.appfirewall.stats().emitted, 0)
  t.equal(await app.appfirewall.flush(), true)
  await app.close()
})

test('asyncContext: false keeps request.appfirewall.record and turns the module-level record() into a no-op', async (t) => {
  const { app, file } = await localApp(t, { asyncContext: false })
  app.post('/x', async (request) => {
    request.appfirewall.record('kept', { a: 1 })
    record('not-bound')
    return 'ok'
  })
  await app.ready()
  t.notMatch(app.printRoutes({ includeHooks: true, commonPrefix: false }), /preHandler/, 'no preHandler hook is added')
  t.equal(app.appfirewall.options.asyncContext, false)
  const res = await app.inject({ method: 'POST', url: '/x', payload: { b: 2 } })
  t.equal(res.statusCode, 200)
  await app.appfirewall.flush(2000)
  t.same(customs(file).map((e) => e.name), ['kept'])
  await app.close()
})

test('a job started by a request stops speaking for its visitor once the response is sent', async (t) => {
  const { app, file } = await localApp(t)
  let tick: () => void = () => {}
  const ticking = new Promise<void>((resolve) => { tick = resolve })
  app.get('/start-job', async (request) => {
    record('job.started')
    // The job outlives the request: it still runs inside the request's async context.
    setTimeout(() => {
      record('job.tick')
      record('job.tick')
      request.appfirewall.record('job.explicit', { via: 'request.appfirewall' })
      tick()
    }, 50)
    return 'started'
  })
  await app.inject({ url: '/start-job', remoteAddress: '203.0.113.66' })
  await ticking
  await app.appfirewall.flush(2000)
  const events = customs(file)
  t.same(events.map((e) => e.name).sort(), ['job.explicit', 'job.started'], 'the module-level records after the response made no event')
  t.ok(events.every((e) => e.ip === '203.0.113.66'))
  const s = app.appfirewall.stats()
  t.equal(s.ignored.afterResponse, 2, 'and they are counted')
  t.equal(s.emitted, 3, 'not emitted: one http_request and two custom events')
})

test('module-level record() calls that find no request are counted, per process', async (t) => {
  const { app } = await localApp(t)
  const before = app.appfirewall.stats().ignored.outsideRequest
  record('startup.job')
  record('startup.job')
  t.equal(app.appfirewall.stats().ignored.outsideRequest, before + 2)
  t.equal(app.appfirewall.stats().emitted, 0)
})
