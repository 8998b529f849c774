// Background refresh of Cloudflare's ranges, against a real HTTP server on
// 127.0.0.1 standing in for Cloudflare's API.
import t, { type Test } from 'tap'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { once } from 'node:events'
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { startCloudflareRefresh, parseCloudflareAnswer, MAX_BODY_BYTES, MIN_PREFIX, type CloudflareRefresh } from '../lib/ip/cloudflare-refresh'
import { CLOUDFLARE_IPV4, CLOUDFLARE_IPV6, CLOUDFLARE_RANGES } from '../lib/ip/cloudflare-ranges'
import { compileTrustedProxies, resolveClientIp, setCloudflareRanges } from '../lib/ip/client-ip'
import { sleep, waitFor, within } from './fixtures'

const CLIENT = '198.51.100.7'
const SHIPPED_EDGE = '173.245.48.5'
const NEW_EDGE = '198.18.0.10'
const GOOD = JSON.stringify({
  success: true,
  errors: [],
  messages: [],
  result: { ipv4_cidrs: ['198.18.0.0/15'], ipv6_cidrs: ['2606:4700::/32'], etag: 'abc' }
})

type Handler = (req: IncomingMessage, res: ServerResponse) => void

interface Fake {
  url: string
  requests: number
  handler: Handler
  close: () => Promise<void>
}

async function fakeCloudflare (t: Test): Promise<Fake> {
  const fake: Fake = {
    url: '',
    requests: 0,
    handler: (_req, res) => { res.end(GOOD) },
    close: async () => {}
  }
  const server = createServer((req, res) => {
    fake.requests++
    fake.handler(req, res)
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/client/v4/ips`
  fake.close = async () => {
    server.closeAllConnections()
    server.close()
    await once(server, 'close')
  }
  t.teardown(fake.close)
  return fake
}

function warnings (): { log: { warn: (obj: object, msg: string) => void }, lines: string[], objects: object[] } {
  const lines: string[] = []
  const objects: object[] = []
  return { log: { warn: (obj, msg) => { lines.push(msg); objects.push(obj) } }, lines, objects }
}

function started (t: Test, refresh: CloudflareRefresh): CloudflareRefresh {
  t.teardown(() => { refresh.stop() })
  return refresh
}

t.test('a good answer replaces the list used to recognise Cloudflare peers', async (t) => {
  const fake = await fakeCloudflare(t)
  const trusted = compileTrustedProxies(['cloudflare'])
  const { log, lines } = warnings()
  let method = ''
  fake.handler = (req, res) => { method = req.method ?? ''; res.setHeader('content-type', 'application/json'); res.end(GOOD) }
  const refresh = started(t, startCloudflareRefresh({
    url: fake.url, intervalMs: 0, onRanges: (r) => { setCloudflareRanges(trusted, r) }, log
  }))
  t.equal(resolveClientIp(NEW_EDGE, { 'cf-connecting-ip': CLIENT }, trusted).ip, NEW_EDGE, 'unknown before the refresh')
  t.equal(await within(refresh.refreshNow(), 5000), true)
  t.equal(method, 'GET')
  const r = resolveClientIp(NEW_EDGE, { 'cf-connecting-ip': CLIENT }, trusted)
  t.equal(r.ip, CLIENT, 'the new range is believed')
  t.equal(r.cloudflare, true)
  t.equal(resolveClientIp(SHIPPED_EDGE, { 'cf-connecting-ip': CLIENT }, trusted).ip, SHIPPED_EDGE, 'a dropped range is not')
  t.same(lines, [])
})

function answering (ipv4: unknown[], ipv6: unknown[]): Handler {
  return (_req, res) => { res.end(JSON.stringify({ success: true, result: { ipv4_cidrs: ipv4, ipv6_cidrs: ipv6 } })) }
}

const badAnswers: Array<[string, Handler]> = [
  ['an empty body', (_req, res) => { res.end() }],
  ['malformed JSON', (_req, res) => { res.end('{"success": true, "result": {') }],
  ['a JSON value that is not an object', (_req, res) => { res.end('null') }],
  ['success: false', (_req, res) => { res.end(JSON.stringify({ success: false, result: { ipv4_cidrs: ['1.0.0.0/8'], ipv6_cidrs: ['2001:db8::/32'] } })) }],
  ['no result', (_req, res) => { res.end(JSON.stringify({ success: true })) }],
  ['empty lists', (_req, res) => { res.end(JSON.stringify({ success: true, result: { ipv4_cidrs: [], ipv6_cidrs: [] } })) }],
  ['an empty IPv6 list', (_req, res) => { res.end(JSON.stringify({ success: true, result: { ipv4_cidrs: ['198.18.0.0/15'], ipv6_cidrs: [] } })) }],
  ['an invalid CIDR', (_req, res) => { res.end(JSON.stringify({ success: true, result: { ipv4_cidrs: ['198.18.0.0/15', '0.0.0.0/0x'], ipv6_cidrs: ['2606:4700::/32'] } })) }],
  ['entries that are not strings', (_req, res) => { res.end(JSON.stringify({ success: true, result: { ipv4_cidrs: [42], ipv6_cidrs: ['2606:4700::/32'] } })) }],
  ['the whole IPv4 space', answering(['0.0.0.0/0'], ['2606:4700::/32'])],
  ['the whole IPv6 space', answering(['198.18.0.0/15'], ['::/0'])],
  ['an IPv4 range wider than any Cloudflare publishes', answering(['198.18.0.0/15', '104.0.0.0/11'], ['2606:4700::/32'])],
  ['an IPv6 range wider than any Cloudflare publishes', answering(['198.18.0.0/15'], ['2a06::/27'])],
  ['an IPv6 range among the IPv4 ranges', answering(['198.18.0.0/15', '2606:4700::/32'], ['2606:4700::/32'])],
  ['an IPv4 range among the IPv6 ranges', answering(['198.18.0.0/15'], ['2606:4700::/32', '198.18.0.0/15'])],
  ['an IPv4-mapped range among the IPv6 ranges', answering(['198.18.0.0/15'], ['::ffff:198.18.0.0/111'])],
  ['an IPv4 range written as IPv4-mapped IPv6', answering(['::ffff:198.18.0.0/111'], ['2606:4700::/32'])],
  ['an IPv6 range outside 2000::/3, which holds the IPv4-mapped space (every IPv4 peer)', answering(['198.18.0.0/15'], ['::/28'])],
  ['an IPv6 range over the mapped space', answering(['198.18.0.0/15'], ['::ffff:0:0/96'])],
  ['a private IPv4 range', answering(['198.18.0.0/15', '10.0.0.0/12'], ['2606:4700::/32'])],
  ['a loopback IPv4 range', answering(['127.0.0.0/12'], ['2606:4700::/32'])],
  ['more IPv4 addresses in all than Cloudflare could have', answering(Array.from({ length: 990 }, (_, i) => `${(i >> 4) + 1}.${(i & 15) << 4}.0.0/12`).filter((c) => !/^(10|100|127)\./.test(c)), ['2606:4700::/32'])],
  ['a bare address instead of a range', answering(['198.18.0.1'], ['2606:4700::/32'])],
  ['more ranges than Cloudflare would ever publish', answering(Array.from({ length: 1001 }, (_, i) => `10.${i >> 8}.${i & 255}.0/24`), ['2606:4700::/32'])],
  ['a 500', (_req, res) => { res.statusCode = 500; res.end(GOOD) }],
  ['a 404', (_req, res) => { res.statusCode = 404; res.end('not found') }],
  ['a body over the size cap', (_req, res) => { res.end(' '.repeat(MAX_BODY_BYTES + 10) + GOOD) }],
  ['a connection closed mid-answer', (req, res) => { res.writeHead(200, { 'content-length': '1000' }); res.write(GOOD.slice(0, 10)); setTimeout(() => req.socket.destroy(), 20) }]
]

for (const [what, handler] of badAnswers) {
  t.test(`an answer with ${what} keeps the current list`, async (t) => {
    const fake = await fakeCloudflare(t)
    fake.handler = handler
    const trusted = compileTrustedProxies(['cloudflare'])
    const { log, lines, objects } = warnings()
    let calls = 0
    const refresh = started(t, startCloudflareRefresh({
      url: fake.url, intervalMs: 0, onRanges: (r) => { calls++; setCloudflareRanges(trusted, r) }, log
    }))
    t.equal(await within(refresh.refreshNow(), 5000), false)
    t.equal(calls, 0, 'onRanges is not called')
    t.equal(resolveClientIp(SHIPPED_EDGE, { 'cf-connecting-ip': CLIENT }, trusted).ip, CLIENT, 'the shipped list still works')
    t.equal(lines.length, 1, 'one warning')
    if (what === 'malformed JSON' || what === 'success: false') t.match(objects[0], { code: 'FST_APPFIREWALL_CLOUDFLARE_RANGES' }, 'naming the coded error')
  })
}

t.test('an answer is held to what Cloudflare publishes: the shipped list passes, as do ranges one bit wider than its widest', async (t) => {
  const answer = (ipv4: string[], ipv6: string[]): string => JSON.stringify({ success: true, result: { ipv4_cidrs: ipv4, ipv6_cidrs: ipv6 } })
  t.same(parseCloudflareAnswer(answer([...CLOUDFLARE_IPV4], [...CLOUDFLARE_IPV6])), CLOUDFLARE_RANGES)
  t.same(MIN_PREFIX, { v4: 12, v6: 28 }, 'the widest shipped ranges are a /13 and a /29')
  t.same(parseCloudflareAnswer(answer(['104.16.0.0/12'], ['2a06:98c0::/28'])), ['104.16.0.0/12', '2a06:98c0::/28'])
  t.throws(() => parseCloudflareAnswer(answer(['104.0.0.0/11'], ['2a06:98c0::/29'])), { code: 'FST_APPFIREWALL_CLOUDFLARE_RANGES', message: /"104\.0\.0\.0\/11" is wider than any range Cloudflare publishes/ })
  t.throws(() => parseCloudflareAnswer(answer(['104.16.0.0/13'], ['2a06::/27'])), { code: 'FST_APPFIREWALL_CLOUDFLARE_RANGES', message: /"2a06::\/27"/ })
})

t.test('a server that never answers is given up on after the timeout', async (t) => {
  const fake = await fakeCloudflare(t)
  fake.handler = () => {}
  const { log, lines } = warnings()
  let calls = 0
  const refresh = started(t, startCloudflareRefresh({ url: fake.url, intervalMs: 0, timeoutMs: 200, onRanges: () => { calls++ }, log }))
  t.equal(await within(refresh.refreshNow(), 5000), false)
  t.equal(calls, 0)
  t.equal(lines.length, 1)
})

t.test('a server that sends headers and then stalls the body is given up on', async (t) => {
  const fake = await fakeCloudflare(t)
  fake.handler = (_req, res) => { res.writeHead(200, { 'content-type': 'application/json' }); res.write('{"success":') }
  const { log } = warnings()
  const refresh = started(t, startCloudflareRefresh({ url: fake.url, intervalMs: 0, timeoutMs: 200, onRanges: () => { t.fail('no ranges') }, log }))
  t.equal(await within(refresh.refreshNow(), 5000), false)
})

t.test('an unreachable server keeps the list', async (t) => {
  const fake = await fakeCloudflare(t)
  const url = fake.url
  await fake.close()
  const { log, lines } = warnings()
  const refresh = started(t, startCloudflareRefresh({ url, intervalMs: 0, onRanges: () => { t.fail('no ranges') }, log }))
  t.equal(await within(refresh.refreshNow(), 5000), false)
  t.equal(lines.length, 1)
})

t.test('warns once per run of failures, not once per attempt', async (t) => {
  const fake = await fakeCloudflare(t)
  fake.handler = (_req, res) => { res.statusCode = 503; res.end() }
  const { log, lines } = warnings()
  const refresh = started(t, startCloudflareRefresh({ url: fake.url, intervalMs: 0, onRanges: () => {}, log }))
  for (let i = 0; i < 3; i++) t.equal(await within(refresh.refreshNow(), 5000), false)
  t.equal(lines.length, 1, 'three failures, one warning')
  fake.handler = (_req, res) => { res.end(GOOD) }
  t.equal(await within(refresh.refreshNow(), 5000), true)
  fake.handler = (_req, res) => { res.statusCode = 503; res.end() }
  t.equal(await within(refresh.refreshNow(), 5000), false)
  t.equal(lines.length, 2, 'a new run of failures warns again')
})

t.test('an onRanges that throws counts as a failed refresh', async (t) => {
  const fake = await fakeCloudflare(t)
  const { log, lines } = warnings()
  const refresh = started(t, startCloudflareRefresh({ url: fake.url, intervalMs: 0, onRanges: () => { throw new Error('boom') }, log }))
  t.equal(await within(refresh.refreshNow(), 5000), false)
  t.equal(lines.length, 1)
})

t.test('the timer refreshes after each interval, not at start', async (t) => {
  const fake = await fakeCloudflare(t)
  const trusted = compileTrustedProxies(['cloudflare'])
  const { log } = warnings()
  let calls = 0
  started(t, startCloudflareRefresh({
    url: fake.url, intervalMs: 30, onRanges: (r) => { calls++; setCloudflareRanges(trusted, r) }, log
  }))
  t.equal(fake.requests, 0, 'nothing is fetched at start')
  await waitFor(() => calls >= 2, 5000)
  t.equal(resolveClientIp(NEW_EDGE, { 'cf-connecting-ip': CLIENT }, trusted).ip, CLIENT)
})

t.test('the timer does not keep the process alive', async (t) => {
  const fake = await fakeCloudflare(t)
  const { log } = warnings()
  // getActiveResourcesInfo lists only the timers that hold the event loop open.
  const before = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length
  const refresh = started(t, startCloudflareRefresh({ url: fake.url, intervalMs: 60_000, onRanges: () => {}, log }))
  const after = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length
  t.equal(after, before)
  refresh.stop()
})

t.test('a process whose only remaining work is the refresh timer exits by itself', async (t) => {
  const fake = await fakeCloudflare(t)
  // The same TypeScript loader tap runs this file with, and nothing else.
  const loader = process.execArgv.filter((a) => a.includes('@tapjs/typescript'))
  const child = spawn(process.execPath, [...loader, join(__dirname, 'fixtures', 'refresh-child.ts'), fake.url], {
    stdio: ['ignore', 'pipe', 'inherit']
  })
  let stdout = ''
  child.stdout.setEncoding('utf8')
  child.stdout.on('data', (d: string) => { stdout += d })
  const killer = setTimeout(() => { child.kill('SIGKILL') }, 20_000)
  const [code, signal] = await once(child, 'exit') as [number | null, NodeJS.Signals | null]
  clearTimeout(killer)
  t.equal(signal, null, 'not killed: it exited on its own')
  t.equal(code, 0)
  t.match(stdout, /ranges 2/, 'the timer did refresh while the process was alive')
  t.match(stdout, /released/)
})

t.test('stop() ends the timer: no fetch happens afterwards', async (t) => {
  const fake = await fakeCloudflare(t)
  const { log } = warnings()
  let calls = 0
  const refresh = startCloudflareRefresh({ url: fake.url, intervalMs: 20, onRanges: () => { calls++ }, log })
  await waitFor(() => calls >= 1, 5000)
  refresh.stop()
  const seen = fake.requests
  await sleep(150)
  t.equal(fake.requests, seen, 'no request after stop')
  t.equal(await refresh.refreshNow(), false, 'refreshNow after stop does nothing')
  t.equal(fake.requests, seen)
})

t.test('stop() aborts a fetch in flight without a warning', async (t) => {
  const fake = await fakeCloudflare(t)
  fake.handler = () => {}
  const { log, lines } = warnings()
  const refresh = startCloudflareRefresh({ url: fake.url, intervalMs: 0, timeoutMs: 60_000, onRanges: () => { t.fail('no ranges') }, log })
  const pending = refresh.refreshNow()
  await waitFor(() => fake.requests === 1, 5000)
  refresh.stop()
  t.equal(await within(pending, 5000), false)
  t.same(lines, [])
})

t.test('concurrent refreshNow calls share one request', async (t) => {
  const fake = await fakeCloudflare(t)
  const held: ServerResponse[] = []
  fake.handler = (_req, res) => { held.push(res) }
  const { log } = warnings()
  const refresh = started(t, startCloudflareRefresh({ url: fake.url, intervalMs: 0, onRanges: () => {}, log }))
  const a = refresh.refreshNow()
  const b = refresh.refreshNow()
  t.equal(a, b)
  await waitFor(() => held.length === 1, 5000)
  held[0]!.end(GOOD)
  t.equal(await within(a, 5000), true)
  t.equal(fake.requests, 1)
})

t.test('an interval beyond the timer range does not turn into a busy loop', async (t) => {
  const fake = await fakeCloudflare(t)
  const { log } = warnings()
  let warned = false
  const onWarning = (): void => { warned = true }
  process.on('warning', onWarning)
  t.teardown(() => { process.off('warning', onWarning) })
  started(t, startCloudflareRefresh({ url: fake.url, intervalMs: 2 ** 33, onRanges: () => {}, log }))
  await sleep(100)
  t.equal(fake.requests, 0)
  t.equal(warned, false, 'no TimeoutOverflowWarning')
})

t.test('parseCloudflareAnswer returns IPv4 ranges first, then IPv6', async (t) => {
  t.same(parseCloudflareAnswer(GOOD), ['198.18.0.0/15', '2606:4700::/32'])
  t.throws(() => parseCloudflareAnswer('[]'))
  t.throws(() => parseCloudflareAnswer(JSON.stringify({ success: true, result: { ipv4_cidrs: 'x', ipv6_cidrs: [] } })))
  t.throws(() => parseCloudflareAnswer(JSON.stringify({ success: true, result: { ipv4_cidrs: ['nope'], ipv6_cidrs: ['2606:4700::/32'] } })), { code: 'FST_APPFIREWALL_INVALID_CIDR' })
})
