// The user's own functions (skip, onLimited, a store) can be async, can fail,
// and can be handed to a plugin that never needs them: none of it may crash
// the process or leak.
import { test } from 'tap'
import Fastify from 'fastify'
import { join } from 'node:path'
import appFirewall from '../lib/index'
import type { LimitStore } from '../lib/types'
import { localApp, logCapture, pluginLogs, sleep, tempDir } from './fixtures'

test('an async onLimited that rejects leaves no unhandled rejection, and is reported through onError', async (t) => {
  const unhandled: unknown[] = []
  const onUnhandled = (err: unknown): void => { unhandled.push(err) }
  process.on('unhandledRejection', onUnhandled)
  t.teardown(() => { process.removeListener('unhandledRejection', onUnhandled) })
  const h = await localApp(t, {
    onError: 'warn',
    rateLimit: { scanner: { max: 2, windowMs: 60_000 } },
    onLimited: async (ip) => { throw new Error(`ban-list API unreachable for ${ip}`) }
  })
  for (let i = 0; i < 5; i++) t.equal((await h.app.inject({ url: '/.env', remoteAddress: '203.0.113.9' })).statusCode, 404)
  await sleep(20)
  t.same(unhandled, [], 'no unhandled rejection')
  t.equal(h.app.appfirewall.stats().limiter?.onLimitedErrors, 1)
  t.ok(pluginLogs(h.logs).some((l) => l.stage === 'hook' && /internal error/.test(l.msg)), 'reported as the guard reports a hook error')
})

test('an async skip is not awaited: the request is not skipped, one warning, and its rejection is handled', async (t) => {
  const unhandled: unknown[] = []
  const onUnhandled = (err: unknown): void => { unhandled.push(err) }
  process.on('unhandledRejection', onUnhandled)
  t.teardown(() => { process.removeListener('unhandledRejection', onUnhandled) })
  const h = await localApp(t, { skip: (async (request: { url: string }) => { if (request.url === '/boom') throw new Error('boom'); return true }) as unknown as () => boolean })
  h.app.get('/health', async () => 'up')
  t.equal((await h.app.inject('/health')).body, 'up')
  t.equal((await h.app.inject('/boom')).statusCode, 404)
  await sleep(20)
  t.same(unhandled, [])
  t.equal((await h.events()).length, 2, 'a promise is not `true`: both requests have their event')
  t.equal(pluginLogs(h.logs).filter((l) => /skip returned a promise/.test(l.msg)).length, 1)
})

test('a store the plugin never uses is still closed once by app.close()', async (t) => {
  for (const opts of [{ mode: 'off' as const }, { mode: 'local' as const, localLogPath: join(tempDir(), 'e.ndjson'), rateLimit: {} }]) {
    let closed = 0
    const store: LimitStore = { incr: () => 1, close: () => { closed++ } }
    const app = Fastify()
    await app.register(appFirewall, { ...opts, store, cloudflareRefreshMs: 0 })
    await app.ready()
    await app.close()
    t.equal(closed, 1, `${opts.mode}${'rateLimit' in opts ? ' with nothing limited' : ''}`)
  }
})

test('blocks delivered under keys no limiter would make are ignored', async (t) => {
  let deliver: (key: string, ms: number, cls?: string) => void = () => {}
  const store: LimitStore = { incr: () => undefined, subscribe: (listener) => { deliver = listener as typeof deliver }, close () {} }
  const { stream } = logCapture()
  const app = Fastify({ logger: { level: 'warn', stream } })
  await app.register(appFirewall, { mode: 'local', localLogPath: join(tempDir(), 'e.ndjson'), cloudflareRefreshMs: 0, enforceRateLimit: true, store })
  t.teardown(() => app.close())
  await app.ready()
  for (let i = 0; i < 200; i++) deliver('x'.repeat(1 << 20) + String(i), 60_000, 'scanner')
  t.equal(app.appfirewall.stats().limiter?.blocked, 0, 'none of the 200 megabyte keys was held')
  deliver('203.0.113.50', 60_000, 'scanner')
  t.equal(app.appfirewall.stats().limiter?.blocked, 1, 'a real key still is')
  t.equal((await app.inject({ url: '/.env', remoteAddress: '203.0.113.50' })).statusCode, 429)
})
