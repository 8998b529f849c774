// Trust settings that would let any client choose its IP (DESIGN.md, "Client
// IP resolution"): refused at register, and refused in a refresh of
// Cloudflare's ranges, through the plugin as an app registers it.
import { test, type Test } from 'tap'
import Fastify from 'fastify'
import { createServer, type Server } from 'node:http'
import appFirewall from '../lib/index'
import { FST_APPFIREWALL_INVALID_OPTIONS } from '../lib/errors'
import { compileTrustedProxies } from '../lib/ip/client-ip'
import { localApp, pluginLogs, sleep, waitFor } from './fixtures'

async function registerError (trustedProxies: string[]): Promise<Error & { code?: string }> {
  const app = Fastify()
  try {
    await app.register(appFirewall, { mode: 'off', trustedProxies })
    await app.ready()
  } catch (err) {
    return err as Error & { code?: string }
  } finally {
    await app.close().catch(() => {})
  }
  throw new Error(`register accepted ${JSON.stringify(trustedProxies)}`)
}

// Each list, and the entries the error must name.
const anyClient: Array<[string, string[], RegExp]> = [
  ['all of IPv4', ['0.0.0.0/0'], /"0\.0\.0\.0\/0" holds 100% of the public IPv4 addresses/],
  ['all of IPv6', ['::/0'], /"::\/0" holds 100% of the public IPv4 addresses and 100% of the public IPv6 addresses/],
  ['half of IPv6, which holds every IPv4-mapped and every public address', ['::/1'], /"::\/1" holds/],
  ['a quarter of IPv6, which still does', ['cloudflare', '::/2'], /"::\/2" holds/],
  ['the global unicast space', ['2000::/3'], /"2000::\/3" holds 100% of the public IPv6 addresses/],
  ['half of the global unicast space', ['2000::/4'], /"2000::\/4" holds 50% of the public IPv6 addresses/],
  ['an IPv4-mapped CIDR in IPv6 form with prefix 8', ['::ffff:10.0.0.0/8'], /"::ffff:10\.0\.0\.0\/8" holds 100% of the public IPv4 addresses/],
  ['an IPv4-mapped CIDR with prefix 95', ['0:0:0:0:0:ffff:0a00:0/95'], /holds 100% of the public IPv4 addresses/],
  ['the whole IPv4-mapped space', ['::ffff:0.0.0.0/96'], /holds 100% of the public IPv4 addresses/],
  ['an IPv6 range over the mapped space', ['::/80'], /"::\/80" holds 100% of the public IPv4 addresses/],
  ['half of IPv4', ['0.0.0.0/1'], /"0\.0\.0\.0\/1" holds/],
  ['two halves of IPv4', ['10.0.0.0/8', '0.0.0.0/1', '128.0.0.0/1'], /"0\.0\.0\.0\/1" holds/],
  ['every unicast IPv4 address, in three ranges', ['0.0.0.0/1', '128.0.0.0/2', '192.0.0.0/3'], /holds/],
  ['everything but 0/8, in eight ranges', ['1.0.0.0/8', '2.0.0.0/7', '4.0.0.0/6', '8.0.0.0/5', '16.0.0.0/4', '32.0.0.0/3', '64.0.0.0/2', '128.0.0.0/1'], /holds/],
  ['many small ranges together', Array.from({ length: 8 }, (_, i) => `${i * 8 + 1}.0.0.0/8`), /together hold \d+% of the public IPv4 addresses/],
  ['a mapped half and an IPv4 half', ['::ffff:0.0.0.0/97', '128.0.0.0/1'], /holds/],
  ['two halves of the global unicast space', ['2000::/4', '3000::/4'], /holds/]
]

for (const [what, list, names] of anyClient) {
  test(`register refuses trustedProxies holding ${what}`, async (t) => {
    const err = await registerError(list)
    t.equal(err.code, 'FST_APPFIREWALL_INVALID_OPTIONS')
    t.ok(err instanceof FST_APPFIREWALL_INVALID_OPTIONS)
    t.match(err.message, /"trustedProxies" would let any client choose its IP/)
    t.match(err.message, names)
  })
}

test('compileTrustedProxies refuses the same lists, for callers that skip register', async (t) => {
  for (const [, list] of anyClient) {
    t.throws(() => compileTrustedProxies(list), { code: 'FST_APPFIREWALL_INVALID_CIDR', message: /any client could choose its IP/ }, list.join(' '))
  }
  t.doesNotThrow(() => compileTrustedProxies(['cloudflare', '::ffff:10.0.0.0/104', '8000::/1', '10.0.0.0/8', '52.0.0.0/11', '2600:1f00::/24']),
    'private ranges, space no client comes from, and a provider\'s ranges a few million wide')
})

test('narrow mapped CIDRs and private ranges are accepted, and a mapped /104 trusts exactly its IPv4 /8', async (t) => {
  const h = await localApp(t, { trustedProxies: ['::ffff:10.0.0.0/104', '192.168.0.0/16', 'fc00::/7', '2001:db8::/32'] })
  h.app.get('/', async (request) => request.appfirewall.ip)
  const ip = async (peer: string): Promise<string> =>
    (await h.app.inject({ url: '/', remoteAddress: peer, headers: { 'x-forwarded-for': '203.0.113.9' } })).body
  t.equal(await ip('10.20.30.40'), '203.0.113.9', 'a proxy in 10.0.0.0/8 is believed')
  t.equal(await ip('11.0.0.1'), '11.0.0.1', 'a peer outside it is not')
  t.equal(await ip('2001:db8::5'), '203.0.113.9')
})

/** A stand-in for Cloudflare's API answering `ipv4` and `ipv6`, closed when the test ends. */
async function rangesApi (t: Test, ipv4: string[], ipv6: string[]): Promise<string> {
  const api: Server = createServer((_req, res) => {
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify({ success: true, result: { ipv4_cidrs: ipv4, ipv6_cidrs: ipv6 } }))
  })
  await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { api.close() })
  return `http://127.0.0.1:${(api.address() as { port: number }).port}/client/v4/ips`
}

const wideAnswers: Array<[string, string[], string[]]> = [
  ['the whole address space', ['0.0.0.0/0'], ['::/0']],
  ['an IPv4 range wider than any Cloudflare publishes', ['127.0.0.0/8'], ['2400:cb00::/32']],
  ['an IPv6 range wider than any Cloudflare publishes', ['173.245.48.0/20'], ['::/1']],
  ['an IPv4-mapped range among the IPv6 ranges', ['173.245.48.0/20'], ['::ffff:0:0/96']]
]

for (const [what, ipv4, ipv6] of wideAnswers) {
  test(`a Cloudflare refresh answering ${what} is refused and the shipped list kept`, async (t) => {
    const url = await rangesApi(t, ipv4, ipv6)
    const h = await localApp(t, { cloudflareRefreshMs: 20, cloudflareRangesUrl: url })
    h.app.get('/', async (request) => request.appfirewall.ip)
    await waitFor(() => pluginLogs(h.logs).some((l) => /refreshing Cloudflare's IP ranges failed/.test(l.msg)), 5000, 'the refresh to fail')
    const failed = pluginLogs(h.logs).find((l) => /refreshing Cloudflare's IP ranges failed/.test(l.msg))
    t.match(failed?.err, /wider than any range Cloudflare publishes|is not an IPv6 range/, 'the warning says why')
    const ip = async (peer: string): Promise<string> =>
      (await h.app.inject({ url: '/', remoteAddress: peer, headers: { 'cf-connecting-ip': '198.51.100.99' } })).body
    t.equal(await ip('127.0.0.1'), '127.0.0.1', 'a peer the answer claimed is not taken for Cloudflare')
    t.equal(await ip('173.245.48.5'), '198.51.100.99', 'a Cloudflare edge of the shipped list still is')
  })
}

test('a Cloudflare refresh as wide as the bound (IPv4 /12, IPv6 /28) is applied', async (t) => {
  // 104.28.0.1 is inside 104.16.0.0/12 but in none of the shipped ranges.
  const url = await rangesApi(t, ['104.16.0.0/12'], ['2a06:98c0::/28'])
  const h = await localApp(t, { cloudflareRefreshMs: 20, cloudflareRangesUrl: url })
  h.app.get('/', async (request) => request.appfirewall.ip)
  let ip = ''
  for (let i = 0; i < 250 && ip !== '198.51.100.99'; i++) {
    ip = (await h.app.inject({ url: '/', remoteAddress: '104.28.0.1', headers: { 'cf-connecting-ip': '198.51.100.99' } })).body
    if (ip !== '198.51.100.99') await sleep(20)
  }
  t.equal(ip, '198.51.100.99', 'the refreshed ranges took effect')
  t.same(pluginLogs(h.logs).filter((l) => /refreshing Cloudflare/.test(l.msg)), [], 'the refresh did not fail')
})
