// Issue 11: verdicts that catch real scanners. One certain probe marks an IP;
// likely ones count toward a limit; distinct unknown 404s and script requests
// count as behaviour; app signals and recorded events have limits of their
// own. A real Fastify app in local mode, its events read back from its file.
import { test, type Test } from 'tap'
import appFirewall, { defaults } from '../lib/index'
import { classifyPathVerdict } from '../lib/classify/classify'
import { RateLimiter } from '../lib/limit'
import type { AppFirewallOptions, LimitedInfo } from '../lib/types'
import { localApp, sharedRedis, sleep, type LocalApp } from './fixtures'
import Fastify from 'fastify'

// A day-long window: a test straddles a window boundary (midnight UTC) only by a rare accident.
const DAY = 86_400_000

async function build (t: Test, opts: AppFirewallOptions = {}): Promise<LocalApp & { limited: LimitedInfo[] }> {
  const limited: LimitedInfo[] = []
  const h = await localApp(t, { onLimited: (_ip, info) => { limited.push(info) }, ...opts })
  h.app.get('/items/:id', async (request, reply) => {
    // An app's own "no such item": a route matched, its handler answered 404.
    return await reply.code(404).send({ error: 'no such item', id: (request.params as { id: string }).id })
  })
  return { ...h, limited }
}

function dayLimits (limits: Record<string, number>): AppFirewallOptions['rateLimit'] {
  return Object.fromEntries(Object.entries(limits).map(([k, max]) => [k, { max, windowMs: DAY }]))
}

// What a browser sends (light-my-request sends no Accept-Language of its own).
const BROWSER = { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0', 'accept-language': 'en-GB,en;q=0.8' }

async function marks (h: LocalApp, paths: string[], ip: string, headers: Record<string, string> = BROWSER): Promise<boolean[]> {
  for (const url of paths) await h.app.inject({ url, remoteAddress: ip, headers })
  const events = (await h.events()).filter((e) => e.type === 'http_request' && e.ip === ip)
  return events.map((e) => e.would_block === true)
}

test('the defaults count every class the README names, and the option replaces them', async (t) => {
  t.same(Object.keys(defaults.rateLimit).sort(), ['auth', 'parse', 'probing', 'scanner', 'scanner-certain', 'script-probe', 'validation'])
  t.equal(defaults.rateLimit['scanner-certain']?.max, 0, 'one certain probe is enough')
  const h = await localApp(t, { rateLimit: { scanner: { max: 5, windowMs: 1000 } } })
  t.same(Object.keys(h.app.appfirewall.options.rateLimit), ['scanner'], 'what is passed is what is counted')
})

test('one certain probe marks its IP for the window; the next 404s of the IP carry the mark', async (t) => {
  const probe = '/.git/config'
  t.equal(classifyPathVerdict(probe).certain, true, `${probe} is a certain probe`)
  const h = await build(t, { rateLimit: dayLimits({ scanner: 10, 'scanner-certain': 0 }) })
  t.same(await marks(h, [probe, '/no/such/page'], '198.51.100.1'), [true, true])
  t.same(await marks(h, ['/no/such/page'], '198.51.100.2'), [false], 'another IP is not marked')
  t.equal(h.limited.length, 1)
  t.equal(h.limited[0]?.classification, 'scanner-certain')
  t.equal(h.limited[0]?.max, 0)
})

test('with enforcement, the certain probe itself is refused, and so is every later 404 of the IP', async (t) => {
  const h = await build(t, { enforceRateLimit: true, rateLimit: dayLimits({ 'scanner-certain': 0 }) })
  const ip = '198.51.100.3'
  const statuses: number[] = []
  for (const url of ['/.env', '/no/such/page', '/items/1']) statuses.push((await h.app.inject({ url, remoteAddress: ip })).statusCode)
  t.same(statuses, [429, 429, 429])
  t.equal((await h.app.inject({ url: '/no/such/page', remoteAddress: '198.51.100.4' })).statusCode, 404)
})

test('a likely probe counts toward the scanner limit only', async (t) => {
  const likely = ['/phpmyadmin/', '/administrator/index.php', '/wp-admin/']
  for (const p of likely) {
    const v = classifyPathVerdict(p)
    t.equal(v.classification, 'scanner', p)
    t.equal(v.certain, false, `${p} is only likely`)
  }
  const h = await build(t, { rateLimit: dayLimits({ scanner: 3, 'scanner-certain': 0 }) })
  t.same(await marks(h, [...likely, '/phpmyadmin/', '/wp-admin/'], '198.51.100.5'), [false, false, false, true, true],
    'three answered unmarked, the fourth over the limit')
})

test('a likely probe from a client that is not a browser counts as certain, unless it calls itself a crawler or the option is off', async (t) => {
  const h = await build(t, { rateLimit: dayLimits({ scanner: 10, 'scanner-certain': 0 }) })
  t.same(await marks(h, ['/wp-admin/'], '198.51.100.20', { 'user-agent': 'python-requests/2.32.3' }), [true], 'an HTTP library')
  t.same(await marks(h, ['/wp-admin/'], '198.51.100.21', {}), [true], 'no headers at all')
  t.same(await marks(h, ['/wp-admin/'], '198.51.100.22', { 'user-agent': 'sqlmap/1.8', 'accept-language': 'en' }), [true], 'an attack tool, whatever else it sends')
  t.same(await marks(h, ['/wp-admin/'], '198.51.100.23'), [false], 'a browser')
  t.same(await marks(h, ['/wp-admin/'], '198.51.100.24', { 'user-agent': 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)' }), [false], 'a crawler following a stale link')
  const off = await build(t, { certainFromNonBrowsers: false, rateLimit: dayLimits({ scanner: 10, 'scanner-certain': 0 }) })
  t.same(await marks(off, ['/wp-admin/'], '198.51.100.25', { 'user-agent': 'python-requests/2.32.3' }), [false], 'option off')
})

test('a probe a page made a browser fetch (an <img> on any page) does not mark at once; it counts toward scanner only', async (t) => {
  const h = await build(t, { rateLimit: dayLimits({ scanner: 2, 'scanner-certain': 0 }) })
  for (const [i, site] of ['cross-site', 'same-origin', 'same-site'].entries()) {
    const image = { ...BROWSER, 'sec-fetch-site': site, 'sec-fetch-mode': 'no-cors', 'sec-fetch-dest': 'image' }
    t.same(await marks(h, ['/.git/config'], `198.51.100.${30 + i}`, image), [false], site)
  }
  t.same(await marks(h, ['/.git/config'], '198.51.100.40', { ...BROWSER, 'sec-fetch-site': 'none', 'sec-fetch-mode': 'navigate' }), [true], 'typed into the address bar: certain')
  const image = { ...BROWSER, 'sec-fetch-site': 'cross-site', 'sec-fetch-dest': 'image' }
  t.same(await marks(h, ['/.env', '/.git/config', '/.git/HEAD'], '198.51.100.41', image), [false, false, true], 'past the scanner limit, as any likely probe')
})

test('a likely probe of a family client software polls is not made certain by a non-browser client', async (t) => {
  const h = await build(t, { rateLimit: dayLimits({ scanner: 10, 'scanner-certain': 0 }) })
  const outlook = { 'user-agent': 'Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17928; Pro)' }
  t.same(await marks(h, ['/autodiscover/autodiscover.xml'], '198.51.100.42', outlook), [false], 'Outlook setting up mail')
  t.same(await marks(h, ['/server-status?auto'], '198.51.100.43', { 'user-agent': 'Datadog Agent/7.50.0' }), [false], 'a monitoring agent')
  t.same(await marks(h, ['/phpmyadmin/'], '198.51.100.45', { 'user-agent': 'python-requests/2.32.3' }), [true], 'a console no software polls: still certain from a script')
})

test('a route\'s own 404 is classified by its path alone and never marks at once', async (t) => {
  const h = await build(t, { rateLimit: dayLimits({ scanner: 10, 'scanner-certain': 0 }) })
  h.app.get('/files', async (_request, reply) => await reply.code(404).send({ error: 'no such file' }))
  h.app.get('/api/files/*', async (_request, reply) => await reply.code(404).send({ error: 'no such file' }))
  t.same(await marks(h, ['/files?path=../notes.txt', "/files?q=' or 1=1--", '/api/files/proj/.env.example'], '198.51.100.46', {}), [false, false, false])
})

test('an old app asking a removed endpoint for many ids is one path to probing', async (t) => {
  const h = await build(t, { rateLimit: dayLimits({ probing: 5 }) })
  const ids = Array.from({ length: 25 }, (_, i) => `/api/v1/item/${1000 + i}`)
  const uuids = Array.from({ length: 10 }, (_, i) => `/api/v1/orders/3f2a${i}c1e-8b6d-4c3a-9f0e-0123456789ab/lines`)
  const others = Array.from({ length: 10 }, (_, i) => [`/m/V1StGXR8_Z5jdHi6B-my${i}`, `/avatars/user_12${i}4`, `/api/item/12${i}4.json`]).flat()
  t.same(await marks(h, [...ids, ...uuids, ...others], '198.51.100.47', { 'user-agent': 'okhttp/4.12.0' }), Array(65).fill(false))
})

test('misses a page made (broken images, fetches of a cached page) are not probing', async (t) => {
  const h = await build(t, { rateLimit: dayLimits({ probing: 5 }) })
  const page = { ...BROWSER, 'sec-fetch-site': 'same-origin', 'sec-fetch-dest': 'image' }
  const misses = Array.from({ length: 12 }, (_, i) => `/media/photo-${String.fromCharCode(97 + i)}`)
  t.same(await marks(h, misses, '198.51.100.48', page), Array(12).fill(false))
})

test('Sec-Fetch-Site counts as a page\'s only with a value browsers send; monitors are not made certain', async (t) => {
  const h = await build(t, { rateLimit: dayLimits({ scanner: 10, 'scanner-certain': 0 }) })
  t.same(await marks(h, ['/.env'], '198.51.100.49', { 'sec-fetch-site': 'None' }), [true], 'a forged value')
  t.same(await marks(h, ['/.env'], '198.51.100.50', { 'sec-fetch-site': '' }), [true], 'an empty value')
  t.same(await marks(h, ['/actuator/health'], '198.51.100.51', { 'user-agent': 'kube-probe/1.29' }), [false], 'a health checker at a wrong path')
  t.same(await marks(h, ['/actuator/prometheus'], '198.51.100.52', { 'user-agent': 'Prometheus/2.53.0' }), [false], 'a metrics scraper')
})

test('a max-0 rule marks for a whole window from the hit, not for what is left of the clock\'s window', async (t) => {
  const limiter = new RateLimiter({
    rules: { 'scanner-certain': { max: 0, windowMs: 60_000 } },
    maxTrackedIps: 100,
    enforce: false,
    log: { warn () {}, info () {}, error () {}, debug () {} } as never
  })
  t.teardown(async () => { await limiter.close() })
  const lastMs = 60_000 * 1000 - 1 // the last millisecond of a clock window
  t.equal(limiter.hit('198.51.100.6', '198.51.100.6', 'scanner-certain', lastMs), 60_000)
  t.equal(limiter.blockedFor('198.51.100.6', lastMs + 30_000), 30_000, 'still marked half a window later')
})

test('distinct unknown script requests count as script-probe: a few stale links do not, a reload never does', async (t) => {
  const h = await build(t, { rateLimit: dayLimits({ 'script-probe': 3 }) })
  const stale = ['/about-us.php', '/contact.php', '/products.aspx']
  for (const p of stale) t.equal(classifyPathVerdict(p).classification, 'unknown', `${p} is no known probe`)
  t.same(await marks(h, stale, '198.51.100.7'), [false, false, false], 'three stale links of a migrated site')
  t.same(await marks(h, Array(20).fill('/contact.php'), '198.51.100.8'), Array(20).fill(false), 'the same page twenty times is one path')
  t.same(await marks(h, [...stale, '/orders.jsp', '/cart.cgi'], '198.51.100.9'), [false, false, false, true, true])
  t.equal(h.limited.at(-1)?.classification, 'script-probe')
})

test('distinct unknown 404s no route matched count as probing; static assets and an app\'s own 404s do not', async (t) => {
  const h = await build(t, { rateLimit: dayLimits({ probing: 5 }) })
  const pages = Array.from({ length: 7 }, (_, i) => `/old/page-${i}`)
  t.same(await marks(h, pages, '198.51.100.10'), [false, false, false, false, false, true, true])
  const images = Array.from({ length: 12 }, (_, i) => `/img/missing-${i}.png`)
  t.same(await marks(h, images, '198.51.100.11'), Array(12).fill(false), 'a page with many broken images is one user')
  const items = Array.from({ length: 12 }, (_, i) => `/items/${i}`)
  t.same(await marks(h, items, '198.51.100.12'), Array(12).fill(false), 'a route answered 404 for a missing item: not probing')
  t.same(await marks(h, Array(12).fill('/api/notifications'), '198.51.100.13'), Array(12).fill(false), 'a page polling one missing endpoint')
  const googlebot = { 'user-agent': 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)' }
  t.same(await marks(h, [...pages, '/old/a.php', '/old/b.php'], '198.51.100.15', googlebot), Array(9).fill(false), 'a crawler walking stale links')
})

test('an SPA whose not-found handler serves index.html: its pages opened in tabs are not probing', async (t) => {
  const h = await localApp(t, { rateLimit: dayLimits({ probing: 5, 'script-probe': 1 }) })
  h.app.setNotFoundHandler(async (_request, reply) => await reply.type('text/html').send('<!doctype html>'))
  const tabs = Array.from({ length: 12 }, (_, i) => `/items/${i}/edit`)
  t.same(await marks(h, tabs, '198.51.100.16'), Array(12).fill(false))
})

test('a recorded event with a rateLimit rule of its name is counted per IP; built-in names are not counted twice', async (t) => {
  const h = await build(t, { enforceScope: 'all', rateLimit: dayLimits({ 'upload.parse_failed': 2, scanner: 1 }) })
  h.app.post('/upload', async (request) => {
    request.appfirewall.record('upload.parse_failed', { size: 1 })
    request.appfirewall.record('scanner', {})
    return 'ok'
  })
  const ip = '198.51.100.14'
  for (let i = 0; i < 3; i++) await h.app.inject({ method: 'POST', url: '/upload', remoteAddress: ip, payload: 'x', headers: { 'content-type': 'text/plain' } })
  const events = (await h.events()).filter((e) => e.type === 'http_request' && e.ip === ip)
  t.same(events.map((e) => e.would_block === true), [false, false, true], 'the third call passes max 2 and marks its request')
  t.same(h.limited.map((i) => i.classification), ['upload.parse_failed'], 'a record() named "scanner" did not count as a scanner 404')
})

test('rateLimit refuses bad class names and negative limits at register, naming the option', async (t) => {
  const bad: Array<Record<string, { max: number, windowMs: number }>> = [{ 'a b': { max: 1, windowMs: 1 } }, { scanner: { max: -1, windowMs: 1000 } }, { ['x'.repeat(65)]: { max: 1, windowMs: 1 } }]
  for (const rateLimit of bad) {
    const app = Fastify()
    await t.rejects(async () => { await app.register(appFirewall, { mode: 'off', rateLimit }) }, { code: 'FST_APPFIREWALL_INVALID_OPTIONS', message: /rateLimit/ }, JSON.stringify(rateLimit).slice(0, 40))
    await app.close()
  }
  // JSON.parse makes an own `__proto__` key: a name like any other, never a prototype.
  const parsed = JSON.parse('{"__proto__": {"max": 1, "windowMs": 1000}}')
  const app = Fastify()
  await app.register(appFirewall, { mode: 'off', rateLimit: parsed })
  t.same(Object.keys(app.appfirewall.options.rateLimit), ['__proto__'])
  await app.close()
})

test('a recorded event\'s class is counted across instances through Redis, and its block reaches the other one', async (t) => {
  const redis = sharedRedis(t, 'recorded')
  const rateLimit = { 'auth.login_failed': { max: 2, windowMs: DAY } }
  const apps = []
  for (let i = 0; i < 2; i++) {
    const h = await build(t, { enforceRateLimit: true, enforceScope: 'all', redis: redis.connect(), redisKeyPrefix: redis.prefix, rateLimit })
    h.app.post('/login', async (request, reply) => {
      request.appfirewall.record('auth.login_failed', { user_known: false })
      return await reply.code(401).send('no')
    })
    apps.push(h)
  }
  await redis.ready()
  const [a, b] = apps as [typeof apps[0], typeof apps[0]]
  const ip = '203.0.113.40'
  const login = async (h: LocalApp): Promise<number> => (await h.app.inject({ method: 'POST', url: '/login', remoteAddress: ip })).statusCode
  t.equal(await login(a), 401)
  t.equal(await login(b), 401)
  // The third failure passes max 2 across both instances; the shared count answers after the request.
  await login(a)
  const end = Date.now() + 5000
  let refused = false
  while (!refused && Date.now() < end) {
    refused = (await b.app.inject({ url: '/login', method: 'POST', remoteAddress: ip })).statusCode === 429
    if (!refused) await sleep(10)
  }
  t.ok(refused, 'the other instance refuses the IP too')
  t.ok([...a.limited, ...b.limited].some((i) => i.classification === 'auth.login_failed'), 'onLimited names the recorded class')
})

test('a rateLimit key within two edits of a built-in class gets one warning at register; a recorded event\'s name does not', async (t) => {
  const h = await localApp(t, { rateLimit: { 'scaner-certain': { max: 0, windowMs: DAY }, benign_miss: { max: 1, windowMs: DAY }, 'upload.parse_failed': { max: 5, windowMs: DAY } } })
  await h.app.ready()
  const warned = h.logs.filter((l) => l.level === 40).map((l) => String(l.msg))
  t.equal(warned.length, 2)
  t.match(warned[0], /"scaner-certain" is not a built-in class.*did you mean "scanner-certain"/)
  t.match(warned[1], /"benign_miss" .*did you mean "benign-miss"/)
})
