// What the plugin says when it starts, and that it is never silent about
// being off, nor stopped by settings it will not use.
import { test, type Test } from 'tap'
import Fastify from 'fastify'
import { statSync } from 'node:fs'
import { join } from 'node:path'
import appFirewall from '../lib/index'
import { NO_API_KEY_WARNING } from '../lib/boot'
import { logCapture, pluginLogs, tempDir } from './fixtures'

function withEnv (t: Test, vars: Record<string, string | undefined>): void {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]))
  for (const [k, v] of Object.entries(vars)) { if (v === undefined) delete process.env[k]; else process.env[k] = v }
  t.teardown(() => { for (const [k, v] of Object.entries(saved)) { if (v === undefined) delete process.env[k]; else process.env[k] = v } })
}

test('one info line at boot says where events go, who is trusted, what is limited and whether it is enforced', async (t) => {
  const { stream, lines } = logCapture()
  const app = Fastify({ logger: { level: 'info', stream } })
  t.teardown(() => app.close())
  const file = join(tempDir(), 'e.ndjson')
  await app.register(appFirewall, { mode: 'local', localLogPath: file, cloudflareRefreshMs: 0, trustedProxies: ['cloudflare', '10.0.0.0/8'], enforceRateLimit: true })
  await app.ready()
  const infos = pluginLogs(lines, 30)
  t.equal(infos.length, 1)
  t.match(infos[0]?.msg, new RegExp(`local mode: events appended to ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}; trusted proxies cloudflare, 10\\.0\\.0\\.0/8; limits scanner 10 per 60000 ms, scanner-certain 0 per 60000 ms, script-probe 10 per 60000 ms, probing 20 per 60000 ms, validation 30 per 60000 ms, parse 10 per 60000 ms, auth 10 per 60000 ms, enforced \\(429, scope not-found\\)`))
  t.match(infos[0], { mode: 'local', enforceRateLimit: true })
})

test('the off-mode line lists no limits: off mode adds no hooks, so nothing is counted', async (t) => {
  const { stream, lines } = logCapture()
  const app = Fastify({ logger: { level: 'info', stream } })
  t.teardown(() => app.close())
  await app.register(appFirewall, { mode: 'off', enforceRateLimit: true })
  await app.ready()
  const infos = pluginLogs(lines, 30)
  t.equal(infos.length, 1)
  t.match(infos[0]?.msg, /off mode: events not recorded \(off\); trusted proxies cloudflare; no rate limits$/)
})

test('the ship line names the ingest by its origin only: a path may carry a token', async (t) => {
  const { stream, lines } = logCapture()
  const app = Fastify({ logger: { level: 'info', stream } })
  t.teardown(() => app.close())
  await app.register(appFirewall, { apiKey: 'k', endpoint: 'http://127.0.0.1:9/v1/events?token=secret', cloudflareRefreshMs: 0, closeGraceMs: 0 })
  await app.ready()
  const line = pluginLogs(lines, 30)[0]?.msg as string
  t.match(line, /ship mode: events shipped to http:\/\/127\.0\.0\.1:9;.*shadow mode \(would_block\)/)
  t.notMatch(line, /secret/)
})

test('switched off for lack of a key with the app\'s logger off (Fastify\'s default), it says so as a process warning', async (t) => {
  withEnv(t, { APPFIREWALL_API_KEY: undefined })
  const warnings: Array<Error & { code?: string }> = []
  const onWarning = (w: Error & { code?: string }): void => { warnings.push(w) }
  process.on('warning', onWarning)
  t.teardown(() => { process.removeListener('warning', onWarning) })
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(appFirewall, { cloudflareRefreshMs: 0 })
  await app.ready()
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(app.appfirewall.options.mode, 'off')
  const ours = warnings.filter((w) => w.code === NO_API_KEY_WARNING)
  t.equal(ours.length, 1)
  t.match(ours[0]?.message, /needs apiKey/)
})

test('a malformed APPFIREWALL_ENDPOINT does not stop off or local mode from booting: one warning, ignored', async (t) => {
  withEnv(t, { APPFIREWALL_ENDPOINT: 'not a url', APPFIREWALL_API_KEY: undefined })
  for (const opts of [{ mode: 'off' as const }, { mode: 'local' as const, localLogPath: join(tempDir(), 'e.ndjson') }, {}]) {
    const { stream, lines } = logCapture()
    const app = Fastify({ logger: { level: 'info', stream } })
    await app.register(appFirewall, { ...opts, cloudflareRefreshMs: 0 })
    await app.ready()
    const warned = pluginLogs(lines).filter((l) => /APPFIREWALL_ENDPOINT is not an http\(s\) URL/.test(l.msg))
    t.equal(warned.length, 1, `${opts.mode ?? 'ship without a key'}: one warning`)
    await app.close()
  }
  withEnv(t, { APPFIREWALL_API_KEY: 'k' })
  const app = Fastify()
  await t.rejects(async () => { await app.register(appFirewall, { cloudflareRefreshMs: 0 }) }, { code: 'FST_APPFIREWALL_INVALID_OPTIONS', message: /"endpoint" must be an http\(s\) URL, got "not a url" \(from APPFIREWALL_ENDPOINT\)/ }, 'ship mode with a key still refuses it')
})

test('the local-mode file is created readable by its owner only', async (t) => {
  const file = join(tempDir(), 'sub', 'e.ndjson')
  const app = Fastify()
  await app.register(appFirewall, { mode: 'local', localLogPath: file, cloudflareRefreshMs: 0 })
  app.get('/', async () => 'ok')
  await app.inject('/')
  await app.appfirewall.flush(2000)
  await app.close()
  t.equal(statSync(file).mode & 0o777, 0o600)
})
