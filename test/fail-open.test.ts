import { test } from 'tap'
import Fastify, { type FastifyInstance } from 'fastify'
import { join } from 'node:path'
import { writeFileSync } from 'node:fs'
import { Readable } from 'node:stream'
import appFirewall from '../lib/index'
import { kFaults, type Stage } from '../lib/faults'
import { tempDir } from './fixtures'

// The same app, with and without the plugin: every response must be identical.
function routes (app: FastifyInstance): void {
  app.get('/ok', async (_req, reply) => { reply.header('x-app', '1'); return { hello: 'world' } })
  app.get('/boom', async () => { const e = new Error('app failure') as Error & { statusCode: number }; e.statusCode = 418; throw e })
  app.get('/crash', async () => { throw new TypeError('plain failure') })
  app.get('/stream', async (_req, reply) => { reply.type('text/plain'); return Readable.from(['x', 'y']) })
  app.post('/echo', async (req) => req.body)
  app.get('/redirect', async (_req, reply) => reply.redirect('/ok', 301))
  app.setErrorHandler((err: Error & { statusCode?: number }, _req, reply) => {
    reply.code(err.statusCode ?? 500).send({ handled: err.message, name: err.name })
  })
}

const requests = [
  { method: 'GET' as const, url: '/ok' },
  { method: 'GET' as const, url: '/boom' },
  { method: 'GET' as const, url: '/crash' },
  { method: 'GET' as const, url: '/stream' },
  { method: 'POST' as const, url: '/echo', payload: { a: [1, 2, 3] } },
  { method: 'GET' as const, url: '/redirect' },
  { method: 'GET' as const, url: '/.env' },
  { method: 'GET' as const, url: '/missing?q=1' },
  { method: 'HEAD' as const, url: '/ok' }
]

const headersCf = { 'cf-connecting-ip': '1.2.3.4', 'x-forwarded-for': 'a, b, 1.1.1.1', 'user-agent': 'sqlmap/1.7' }

function shape (res: { statusCode: number, headers: Record<string, unknown>, body: string }) {
  const { date, ...headers } = res.headers
  return { status: res.statusCode, headers, body: res.body }
}

async function responses (app: FastifyInstance) {
  const out = []
  for (const r of requests) out.push(shape(await app.inject({ ...r, headers: headersCf, remoteAddress: '173.245.48.10' })))
  return out
}

async function baseline () {
  const bare = Fastify()
  routes(bare)
  const out = await responses(bare)
  await bare.close()
  return out
}

const stages: Stage[] = ['ip', 'classify', 'event', 'sink']

for (const stage of stages) {
  for (const onError of ['ignore', 'warn'] as const) {
    test(`a failure at the ${stage} stage (onError: ${onError}) leaves every response identical`, async (t) => {
      const expected = await baseline()
      const app = Fastify()
      await app.register(appFirewall, {
        mode: 'local',
        localLogPath: join(tempDir(), 'e.ndjson'),
        onError,
        cloudflareRefreshMs: 0,
        enforceRateLimit: true,
        rateLimit: { scanner: { max: 1, windowMs: 60000 } },
        [kFaults]: { throwAt: new Set([stage]) }
      } as any)
      routes(app)
      const got = await responses(app)
      t.same(got, expected)
      await app.close()
    })
  }
}

test('a logger that throws on every call breaks nothing', async (t) => {
  const expected = await baseline()
  const thrower = () => { throw new Error('logger down') }
  const logger: any = { level: 'info', fatal: thrower, error: thrower, warn: thrower, info: thrower, debug: thrower, trace: thrower, silent: thrower }
  logger.child = () => logger
  const app = Fastify({ loggerInstance: logger, disableRequestLogging: true })
  // An unwritable path (under a file) logs at write, and that goes to the broken logger.
  const blocker = join(tempDir(), 'a-file')
  writeFileSync(blocker, 'x')
  await app.register(appFirewall, { mode: 'local', localLogPath: join(blocker, 'e.ndjson'), onError: 'warn', cloudflareRefreshMs: 0, batchSize: 1, [kFaults]: { throwAt: new Set(['event']) } } as any)
  routes(app)
  const got = await responses(app)
  t.same(got, expected)
  t.equal(await app.appfirewall.flush(2000), true)
  await app.close()
})

test('a skip hook that throws counts as false and the request is served', async (t) => {
  const expected = await baseline()
  const app = Fastify()
  await app.register(appFirewall, { mode: 'local', localLogPath: join(tempDir(), 'e.ndjson'), cloudflareRefreshMs: 0, skip: () => { throw new Error('skip broke') } })
  routes(app)
  t.same(await responses(app), expected)
  t.equal(app.appfirewall.stats().emitted, requests.length, 'requests were still recorded')
  await app.close()
})

test('errors thrown by the app reach its error handler unchanged', async (t) => {
  const app = Fastify()
  await app.register(appFirewall, { mode: 'local', localLogPath: join(tempDir(), 'e.ndjson'), cloudflareRefreshMs: 0 })
  const thrown = new RangeError('exact instance')
  let received: unknown
  app.get('/x', async () => { throw thrown })
  app.setErrorHandler((err, _req, reply) => { received = err; reply.code(500).send('handled') })
  const res = await app.inject({ url: '/x' })
  t.equal(res.statusCode, 500)
  t.equal(received, thrown, 'the very same error object')
  await app.close()
})

test('warn mode logs internal errors through the Fastify logger without flooding it', async (t) => {
  const lines: any[] = []
  const { Writable } = await import('node:stream')
  const stream = new Writable({ write (c, _e, cb) { lines.push(JSON.parse(String(c))); cb() } })
  const app = Fastify({ logger: { level: 'warn', stream } })
  await app.register(appFirewall, { mode: 'local', localLogPath: join(tempDir(), 'e.ndjson'), onError: 'warn', cloudflareRefreshMs: 0, [kFaults]: { throwAt: new Set(['event']) } } as any)
  app.get('/', async () => 'ok')
  for (let i = 0; i < 50; i++) t.equal((await app.inject({ url: '/' })).statusCode, 200)
  const internal = lines.filter((l) => /internal error/.test(l.msg))
  t.equal(internal.length, 10, 'the first ten, then one in a thousand')
  t.equal(internal[0].stage, 'onResponse')
  await app.close()
})
