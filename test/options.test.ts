import { test } from 'tap'
import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import Fastify from 'fastify'
import appFirewall, { defaults } from '../lib/index'
import { FST_APPFIREWALL_INVALID_OPTIONS } from '../lib/errors'
import { logCapture, pluginLogs, tempDir } from './fixtures'

async function registerError (opts: unknown): Promise<Error & { code?: string }> {
  const app = Fastify()
  try {
    await app.register(appFirewall, opts as any)
    await app.ready()
  } catch (err) {
    return err as Error & { code?: string }
  } finally {
    await app.close().catch(() => {})
  }
  throw new Error('register did not fail')
}

const cases: Array<[string, unknown, RegExp]> = [
  ['an unknown mode', { mode: 'loud' }, /"mode" must be "ship", "local" or "off", got "loud"/],
  ['a negative limit', { mode: 'off', rateLimit: { scanner: { max: -1, windowMs: 1000 } } }, /"rateLimit" must be .*, got "scanner": \{"max":-1,"windowMs":1000\}/],
  ['a bad rule among the defaults', { mode: 'off', rateLimit: { ...defaults.rateLimit, auth: { max: 5, windowMs: 0 } } }, /"rateLimit" must be .*, got "auth": \{"max":5,"windowMs":0\}$/],
  ['a class name with a space', { mode: 'off', rateLimit: { 'login failed': { max: 1, windowMs: 1000 } } }, /"rateLimit" must be .*"login failed"/],
  ['a negative window', { mode: 'off', rateLimit: { scanner: { max: 5, windowMs: -1 } } }, /"rateLimit" must be .*"windowMs":-1/],
  ['an invalid CIDR in trustedProxies', { mode: 'off', trustedProxies: ['cloudflare', '10.0.0.0/33'] }, /"trustedProxies" must be .*10\.0\.0\.0\/33/],
  ['a hostname in trustedProxies', { mode: 'off', trustedProxies: ['lb.internal'] }, /"trustedProxies" .*lb\.internal/],
  ['a trustedProxies range holding every client', { mode: 'off', trustedProxies: ['cloudflare', '::ffff:10.0.0.0/8'] }, /"trustedProxies" would let any client choose its IP: "::ffff:10\.0\.0\.0\/8" holds 100% of the public IPv4 addresses/],
  ['an ipv6SiteFactor that is not an integer', { mode: 'off', ipv6SiteFactor: 2.5 }, /"ipv6SiteFactor" must be an integer from 0 to 1000 \(0 turns \/48 counting off\), got 2\.5/],
  ['an invalid CIDR in allowList', { mode: 'off', allowList: ['1.2.3'] }, /"allowList" .*1\.2\.3/],
  ['local mode without a path', { mode: 'local' }, /"localLogPath" is required when mode is "local"/],
  ['an endpoint that is not http(s)', { apiKey: 'k', endpoint: 'ftp://ingest.example/v1' }, /"endpoint" must be an http\(s\) URL, got "ftp:\/\/ingest.example\/v1"/],
  ['an endpoint that is not a URL', { apiKey: 'k', endpoint: 'not a url' }, /"endpoint" must be an http\(s\) URL, got "not a url"/],
  ['a wrong type', { mode: 'off', classify404: 'yes' }, /"classify404" must be a boolean, got "yes"/],
  ['a string where a number is expected', { mode: 'off', queueSize: '10' }, /"queueSize" must be an integer from 1 to 1000000, got "10"/],
  ['skip that is not a function', { mode: 'off', skip: true }, /"skip" must be a function/],
  ['an unknown option', { mode: 'off', trustedProxy: ['1.2.3.4'] }, /unknown option "trustedProxy"/],
  ['an event budget the queue budget cannot hold four of', { mode: 'off', maxEventBytes: 65_536, maxQueueBytes: 131_072 }, /"maxEventBytes" must be at most a quarter of "maxQueueBytes" \(131072\), got 65536/],
  ['a timer of Infinity', { mode: 'off', breakerCooldownMs: Infinity }, /"breakerCooldownMs" must be .*, got Infinity/],
  ['a NaN queue size', { mode: 'off', queueSize: NaN }, /"queueSize" must be an integer from 1 to 1000000, got NaN/],
  ['a gzip level out of range', { mode: 'off', gzipLevel: 12 }, /"gzipLevel" must be an integer from 0 to 9, got 12/],
  ['a store without incr()', { mode: 'off', store: { close () {} } }, /"store" must be a rate limit store: an object with incr\(\) and close\(\)/],
  ['a store that is not an object', { mode: 'off', store: 'redis://x' }, /"store" must be a rate limit store/],
  ['both redis and store', { mode: 'off', redis: { eval: async () => 0, duplicate () { return this } }, store: { incr: () => 1, close () {} } }, /"redis" and "store" are both set/]
]

for (const [what, opts, message] of cases) {
  test(`register fails with a coded error naming the option for ${what}`, async (t) => {
    const err = await registerError(opts)
    t.equal(err.code, 'FST_APPFIREWALL_INVALID_OPTIONS')
    t.ok(err instanceof FST_APPFIREWALL_INVALID_OPTIONS, 'an instance of errorCodes.FST_APPFIREWALL_INVALID_OPTIONS')
    t.match(err.message, message)
  })
}

test('register lists every bad option at once', async (t) => {
  const err = await registerError({ mode: 'loud', batchSize: 0, onError: 'shout' })
  t.equal(err.code, 'FST_APPFIREWALL_INVALID_OPTIONS')
  t.ok(err instanceof FST_APPFIREWALL_INVALID_OPTIONS, 'an instance of errorCodes.FST_APPFIREWALL_INVALID_OPTIONS')
  t.match(err.message, /"mode"/)
  t.match(err.message, /"batchSize"/)
  t.match(err.message, /"onError"/)
})

test('an endpoint from APPFIREWALL_ENDPOINT is validated too', async (t) => {
  const saved = process.env.APPFIREWALL_ENDPOINT
  process.env.APPFIREWALL_ENDPOINT = 'mailto:x@y'
  t.teardown(() => {
    if (saved === undefined) delete process.env.APPFIREWALL_ENDPOINT
    else process.env.APPFIREWALL_ENDPOINT = saved
  })
  const err = await registerError({ apiKey: 'k' })
  t.match(err.message, /from APPFIREWALL_ENDPOINT/)
})

test('defaults are applied and the resolved options never carry the key', async (t) => {
  const app = Fastify()
  await app.register(appFirewall, { apiKey: 'afw_live_secret', cloudflareRefreshMs: 0 })
  await app.ready()
  t.teardown(() => app.close())
  const o = app.appfirewall.options
  t.equal(o.mode, 'ship')
  t.equal(o.endpoint, 'https://ingest.appfirewall.io/v1/events')
  t.same(o.trustedProxies, ['cloudflare'])
  t.same(o.rateLimit, { scanner: { max: 10, windowMs: 60000 }, 'scanner-certain': { max: 0, windowMs: 60000 }, 'script-probe': { max: 10, windowMs: 60000 }, probing: { max: 20, windowMs: 60000 }, validation: { max: 30, windowMs: 60000 }, parse: { max: 10, windowMs: 60000 }, auth: { max: 10, windowMs: 60000 } })
  t.equal(o.enforceRateLimit, false)
  t.equal(o.onError, 'ignore')
  t.equal(o.queueSize, 10000)
  t.equal(o.batchSize, 500)
  t.equal(o.flushIntervalMs, 2000)
  t.equal(o.closeGraceMs, 5000)
  t.equal(o.hasApiKey, true)
  t.ok(Object.isFrozen(o))
  t.notMatch(JSON.stringify(o), /afw_live_secret/)
})

test('APPFIREWALL_API_KEY and APPFIREWALL_ENDPOINT are used when the options omit them', async (t) => {
  const saved = { key: process.env.APPFIREWALL_API_KEY, ep: process.env.APPFIREWALL_ENDPOINT }
  process.env.APPFIREWALL_API_KEY = 'from-env'
  process.env.APPFIREWALL_ENDPOINT = 'http://127.0.0.1:9/v1/events'
  t.teardown(() => {
    for (const [k, v] of [['APPFIREWALL_API_KEY', saved.key], ['APPFIREWALL_ENDPOINT', saved.ep]] as const) {
      if (v === undefined) delete process.env[k]
      else process.env[k] = v
    }
  })
  const app = Fastify()
  await app.register(appFirewall, { cloudflareRefreshMs: 0, closeGraceMs: 0 })
  await app.ready()
  t.equal(app.appfirewall.options.mode, 'ship')
  t.equal(app.appfirewall.options.hasApiKey, true)
  t.equal(app.appfirewall.options.endpoint, 'http://127.0.0.1:9/v1/events')
  await app.close()
})

test('ship mode without a key switches the plugin off with exactly one warning', async (t) => {
  const saved = process.env.APPFIREWALL_API_KEY
  delete process.env.APPFIREWALL_API_KEY
  t.teardown(() => { if (saved !== undefined) process.env.APPFIREWALL_API_KEY = saved })
  const { stream, lines } = logCapture()
  const app = Fastify({ logger: { level: 'info', stream } })
  await app.register(appFirewall)
  app.get('/', async (req) => ({ ip: req.appfirewall.ip }))
  for (let i = 0; i < 5; i++) {
    const res = await app.inject({ url: '/', remoteAddress: '203.0.113.9' })
    t.equal(res.statusCode, 200)
    t.same(res.json(), { ip: '203.0.113.9' })
  }
  t.equal(app.appfirewall.options.mode, 'off')
  t.equal(app.appfirewall.stats().emitted, 0)
  const warnings = pluginLogs(lines)
  t.equal(warnings.length, 1)
  t.match(warnings[0]?.msg, /needs apiKey/)
  await app.close()
})

test('Fastify\'s own plugin options (prefix, logLevel) are not rejected', async (t) => {
  const app = Fastify()
  await app.register(appFirewall, { mode: 'local', localLogPath: tempDir() + '/e.ndjson', logLevel: 'warn', prefix: '/x' } as any)
  await app.ready()
  t.equal(app.appfirewall.options.mode, 'local')
  await app.close()
})

test('every problem is named at once, also those found after the schema', async (t) => {
  const err = await registerError({ mode: 'local', queueSize: -1, trustedProxies: ['not-an-ip'] })
  t.match(err.message, /"queueSize" must be/)
  t.match(err.message, /"trustedProxies" must be .*not-an-ip/)
  t.match(err.message, /"localLogPath" is required/)
})

test('an API key that cannot go into a header is refused, and never shown', async (t) => {
  const err = await registerError({ apiKey: 'secret-from-file\n', cloudflareRefreshMs: 0 })
  t.equal(err.code, 'FST_APPFIREWALL_INVALID_OPTIONS')
  t.match(err.message, /"apiKey" must be visible ASCII characters only \(no spaces or line breaks: trim a key read from a file\)/)
  t.notMatch(err.message, /secret/)
  const saved = process.env.APPFIREWALL_API_KEY
  process.env.APPFIREWALL_API_KEY = 'ключ'
  t.teardown(() => { if (saved === undefined) delete process.env.APPFIREWALL_API_KEY; else process.env.APPFIREWALL_API_KEY = saved })
  const fromEnv = await registerError({ cloudflareRefreshMs: 0 })
  t.match(fromEnv.message, /"apiKey" must be .*\(from APPFIREWALL_API_KEY\)/)
  t.notMatch(fromEnv.message, /ключ/)
})

test('sizes that would hurt are refused: a queue beyond its maximum, a batch larger than the queue', async (t) => {
  for (const queueSize of [2 ** 32, 1e8, 1_000_001]) {
    const started = Date.now()
    const err = await registerError({ mode: 'off', queueSize })
    t.equal(err.code, 'FST_APPFIREWALL_INVALID_OPTIONS', `queueSize ${queueSize}: a coded error, not a RangeError`)
    t.match(err.message, /"queueSize" must be an integer from 1 to 1000000/)
    t.ok(Date.now() - started < 1000, 'at once, nothing allocated')
  }
  const err = await registerError({ mode: 'off', queueSize: 10, batchSize: 500 })
  t.match(err.message, /"batchSize" must be at most "queueSize" \(10\), got 500/)
  const app = Fastify()
  await app.register(appFirewall, { mode: 'off', queueSize: 100 })
  t.equal(app.appfirewall.options.batchSize, 100, 'a queue smaller than the default batch makes the batch the whole queue')
  await app.close()
})

test('holes in address lists and a __proto__ key are refused by name', async (t) => {
  // eslint-disable-next-line no-sparse-arrays
  const holes = await registerError({ mode: 'off', trustedProxies: [, '10.0.0.0/8'] })
  t.equal(holes.code, 'FST_APPFIREWALL_INVALID_OPTIONS')
  t.match(holes.message, /"trustedProxies" must be .*an array with a missing entry/)
  const proto = await registerError(JSON.parse('{"__proto__":{"queueSize":5},"mode":"off"}'))
  t.match(proto.message, /unknown option "__proto__"/)
})

test('a localLogPath that is not a regular file, or sits on procfs, is refused', async (t) => {
  const dir = tempDir()
  const fifo = join(dir, 'fifo')
  execFileSync('mkfifo', [fifo])
  for (const [path, why] of [[fifo, /a FIFO/], [dir, /a directory/], ['/proc/self/nope/events.ndjson', /procfs or sysfs/]] as const) {
    const err = await registerError({ mode: 'local', localLogPath: path })
    t.equal(err.code, 'FST_APPFIREWALL_INVALID_OPTIONS')
    t.match(err.message, why)
  }
})
