// Where the plugin is registered decides what it covers: once, at the root.
import { test } from 'tap'
import Fastify from 'fastify'
import { join } from 'node:path'
import appFirewall from '../lib/index'
import { ENCAPSULATED_WARNING } from '../lib/request/registration'
import { logCapture, pluginLogs, tempDir } from './fixtures'

const opts = () => ({ mode: 'local' as const, localLogPath: join(tempDir(), 'e.ndjson'), cloudflareRefreshMs: 0 })

test('a second registration fails with a coded error', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(appFirewall, opts())
  await t.rejects(async () => { await app.register(appFirewall, opts()) }, { code: 'FST_APPFIREWALL_ALREADY_REGISTERED', message: /register it once/ })
})

test('a registration inside a child of an instance that has it fails the same way', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(appFirewall, opts())
  app.register(async (child) => { await child.register(appFirewall, opts()) })
  await t.rejects(async () => { await app.ready() }, { code: 'FST_APPFIREWALL_ALREADY_REGISTERED' })
})

test('a registration inside an encapsulated plugin warns, naming what is not covered, also as a process warning', async (t) => {
  const { stream, lines } = logCapture()
  const app = Fastify({ logger: { level: 'warn', stream } })
  t.teardown(() => app.close())
  const warnings: Array<Error & { code?: string }> = []
  const onWarning = (w: Error & { code?: string }): void => { warnings.push(w) }
  process.on('warning', onWarning)
  t.teardown(() => { process.removeListener('warning', onWarning) })
  await app.register(async (api) => {
    await api.register(appFirewall, opts())
    api.get('/covered', async (request) => ({ ip: request.appfirewall.ip }))
  }, { prefix: '/api' })
  app.get('/outside', async (request) => ({ has: request.appfirewall !== undefined }))
  await app.ready()
  await new Promise((resolve) => setImmediate(resolve))
  const logged = pluginLogs(lines)
  t.equal(logged.length, 1)
  t.match(logged[0]?.msg, /encapsulated plugin \(prefix "\/api"\).*request\.appfirewall is undefined/)
  t.equal(warnings.filter((w) => w.code === ENCAPSULATED_WARNING).length, 1, 'a process warning: a disabled logger must not hide it')
  t.same((await app.inject('/outside')).json(), { has: false }, 'and indeed it is undefined outside')
  t.equal((await app.inject({ url: '/api/covered', remoteAddress: '192.0.2.5' })).json().ip, '192.0.2.5')
})

test('a registration on the root instance warns about nothing', async (t) => {
  const { stream, lines } = logCapture()
  const app = Fastify({ logger: { level: 'warn', stream } })
  t.teardown(() => app.close())
  await app.register(appFirewall, opts())
  await app.ready()
  t.equal(pluginLogs(lines).length, 0)
})
