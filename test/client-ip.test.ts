// The pure client IP resolver, table-driven, plus its address parsing and
// CIDR matching. Plugin wiring over real sockets is in client-ip-plugin.test.ts.
import t from 'tap'
import type { IncomingHttpHeaders } from 'node:http'
import ipaddr from 'ipaddr.js'
import {
  compileTrustedProxies, resolveClientIp, setCloudflareRanges,
  MAX_HOPS, UNKNOWN_IP, type ClientIpResult, type TrustedProxies
} from '../lib/ip/client-ip'
import { CidrSet, canonicalIp, checkCidrs, parseIp } from '../lib/ip/cidr'
import { CLOUDFLARE_IPV4, CLOUDFLARE_IPV6, CLOUDFLARE_RANGES } from '../lib/ip/cloudflare-ranges'

// Addresses used below. Clients come from documentation ranges; the Cloudflare
// edges are inside the shipped ranges; 6.6.6.6 is an arbitrary outsider.
const CLIENT = '198.51.100.7'
const CLIENT2 = '203.0.113.9'
const CLIENT6 = '2001:db8:abcd::1'
const OUTSIDER = '6.6.6.6'
const CF4 = '173.245.48.5'
const CF4_B = '162.158.1.2'
const CF6 = '2606:4700:10::6816:1'
const LB = '10.0.0.2'

const configs: Record<string, TrustedProxies> = {
  cloudflare: compileTrustedProxies(['cloudflare']),
  lb: compileTrustedProxies(['cloudflare', '10.0.0.0/8', '2001:db8:1::/48', '192.0.2.7', '2001:db8:ff::1']),
  lbOnly: compileTrustedProxies(['10.0.0.0/8']),
  none: compileTrustedProxies([])
}

interface Case {
  name: string
  trusted?: keyof typeof configs
  peer: string | undefined
  headers?: Record<string, unknown>
  ip: string
  cloudflare?: boolean
  via?: string
  forwardedIgnored?: boolean
  privateClient?: boolean
}

const hops25 = Array.from({ length: 25 }, (_, i) => `10.0.0.${i + 1}`).join(', ')

const cases: Case[] = [
  // Untrusted peers: the peer itself, headers ignored.
  { name: 'an untrusted peer without forwarding headers is the client', peer: CLIENT, ip: CLIENT, forwardedIgnored: false, privateClient: false },
  { name: 'a forged cf-connecting-ip from a non-Cloudflare peer is ignored', peer: OUTSIDER, headers: { 'cf-connecting-ip': CLIENT }, ip: OUTSIDER, cloudflare: false, forwardedIgnored: true },
  { name: 'x-forwarded-for from an untrusted peer is ignored', peer: OUTSIDER, headers: { 'x-forwarded-for': CLIENT }, ip: OUTSIDER, forwardedIgnored: true },
  { name: 'x-real-ip from an untrusted peer is ignored', peer: OUTSIDER, headers: { 'x-real-ip': CLIENT }, ip: OUTSIDER, forwardedIgnored: true },
  { name: 'forged cf-ipcountry and cf-ray from a non-Cloudflare peer do not mark the request as Cloudflare', peer: OUTSIDER, headers: { 'cf-ipcountry': 'XX', 'cf-ray': '1-ABC' }, ip: OUTSIDER, cloudflare: false, forwardedIgnored: false },
  { name: 'a loopback peer is flagged as a private client', peer: '127.0.0.1', ip: '127.0.0.1', privateClient: true },
  { name: 'an untrusted IPv4-mapped peer is written as IPv4', peer: `::ffff:${CLIENT}`, ip: CLIENT },
  { name: 'an IPv6 peer is written in RFC 5952 form', peer: '2001:0DB8:ABCD:0000:0000:0000:0000:0001', ip: CLIENT6 },
  { name: 'a zone id on the peer is stripped', peer: 'fe80::1%eth0', ip: 'fe80::1', privateClient: true },
  { name: 'a missing peer is 0.0.0.0 and not a private client', peer: undefined, headers: { 'x-forwarded-for': CLIENT }, ip: UNKNOWN_IP, privateClient: false, forwardedIgnored: false },
  { name: 'an empty peer is 0.0.0.0', peer: '', ip: UNKNOWN_IP },
  { name: 'a peer that is not an IP is 0.0.0.0', peer: 'not-an-ip', ip: UNKNOWN_IP },
  { name: 'a huge peer string is 0.0.0.0', peer: '1'.repeat(10_000), ip: UNKNOWN_IP },
  { name: 'a Cloudflare peer is not believed when "cloudflare" is not trusted', trusted: 'none', peer: CF4, headers: { 'cf-connecting-ip': CLIENT }, ip: CF4, cloudflare: false, forwardedIgnored: true, privateClient: true },
  { name: 'a bare trusted IP does not extend to its neighbour', trusted: 'lb', peer: '192.0.2.8', headers: { 'x-forwarded-for': CLIENT }, ip: '192.0.2.8', forwardedIgnored: true },
  { name: 'a bare trusted IPv6 address does not extend to its neighbour', trusted: 'lb', peer: '2001:db8:ff::2', headers: { 'x-forwarded-for': CLIENT }, ip: '2001:db8:ff::2', forwardedIgnored: true },

  // Cloudflare peers.
  { name: 'a Cloudflare IPv4 peer with a valid cf-connecting-ip gives that address', peer: CF4, headers: { 'cf-connecting-ip': CLIENT }, ip: CLIENT, cloudflare: true, forwardedIgnored: false, privateClient: false },
  { name: 'a Cloudflare IPv6 peer with an IPv6 cf-connecting-ip gives it in canonical form', peer: CF6, headers: { 'cf-connecting-ip': '2001:DB8:ABCD:0:0:0:0:1' }, ip: CLIENT6, cloudflare: true },
  { name: 'a Cloudflare IPv6 peer with an IPv4 cf-connecting-ip gives the IPv4 address', peer: CF6, headers: { 'cf-connecting-ip': CLIENT }, ip: CLIENT, cloudflare: true },
  { name: 'a Cloudflare peer without cf-connecting-ip resolves to the edge and still counts as Cloudflare', peer: CF4, ip: CF4, cloudflare: true, privateClient: true },
  { name: 'a Cloudflare peer with a garbage cf-connecting-ip resolves to the edge', peer: CF4, headers: { 'cf-connecting-ip': 'unknown' }, ip: CF4, cloudflare: true },
  { name: 'a Cloudflare peer with a comma-listed cf-connecting-ip resolves to the edge', peer: CF4_B, headers: { 'cf-connecting-ip': `${CLIENT}, ${CLIENT2}` }, ip: CF4_B, cloudflare: true },
  { name: 'a Cloudflare peer with an empty cf-connecting-ip resolves to the edge', peer: CF6, headers: { 'cf-connecting-ip': '' }, ip: CF6, cloudflare: true },
  { name: 'a hex-spelled cf-connecting-ip is not an IP', peer: CF4, headers: { 'cf-connecting-ip': '0xc6.51.100.77' }, ip: CF4, cloudflare: true },
  { name: 'a cf-connecting-ip with leading zeros is not an IP', peer: CF4, headers: { 'cf-connecting-ip': '198.051.100.7' }, ip: CF4, cloudflare: true },
  { name: 'a Cloudflare peer seen as ::ffff:a.b.c.d is recognised', peer: `::ffff:${CF4}`, headers: { 'cf-connecting-ip': CLIENT }, ip: CLIENT, cloudflare: true },
  { name: 'a Cloudflare peer seen as ::ffff:adf5:3005 is recognised', peer: '::ffff:adf5:3005', headers: { 'cf-connecting-ip': CLIENT }, ip: CLIENT, cloudflare: true },
  { name: 'a Cloudflare peer seen as 0:0:0:0:0:ffff:a.b.c.d is recognised', peer: `0:0:0:0:0:ffff:${CF4}`, headers: { 'cf-connecting-ip': CLIENT }, ip: CLIENT, cloudflare: true },
  { name: 'a Cloudflare peer seen as uppercase ::FFFF:a.b.c.d is recognised', peer: `::FFFF:${CF4}`, headers: { 'cf-connecting-ip': CLIENT }, ip: CLIENT, cloudflare: true },
  { name: 'an IPv4-mapped cf-connecting-ip is written as IPv4', peer: CF4, headers: { 'cf-connecting-ip': `::ffff:${CLIENT}` }, ip: CLIENT, cloudflare: true },
  { name: 'Pseudo IPv4 in cf-connecting-ip yields the real address from cf-connecting-ipv6', peer: CF4, headers: { 'cf-connecting-ip': '240.16.0.1', 'cf-connecting-ipv6': '2001:db8:abcd:0::1' }, ip: CLIENT6, cloudflare: true },
  { name: 'Pseudo IPv4 without cf-connecting-ipv6 keeps the class E stand-in', peer: CF4, headers: { 'cf-connecting-ip': '240.16.0.1' }, ip: '240.16.0.1', cloudflare: true },
  { name: 'Pseudo IPv4 with a garbage cf-connecting-ipv6 keeps the class E stand-in', peer: CF4, headers: { 'cf-connecting-ip': '250.1.2.3', 'cf-connecting-ipv6': 'nope' }, ip: '250.1.2.3', cloudflare: true },
  { name: 'cf-connecting-ipv6 is ignored when cf-connecting-ip is an ordinary IPv4 address', peer: CF4, headers: { 'cf-connecting-ip': CLIENT, 'cf-connecting-ipv6': CLIENT6 }, ip: CLIENT, cloudflare: true },
  { name: 'a Cloudflare peer\'s x-forwarded-for is not used', peer: CF4, headers: { 'x-forwarded-for': CLIENT2 }, ip: CF4, cloudflare: true },
  { name: 'a cf-worker header marks a Worker subrequest', peer: CF6, headers: { 'cf-connecting-ip': CLIENT, 'cf-worker': 'example.com' }, ip: CLIENT, cloudflare: true, via: 'cf-worker' },
  { name: 'a cf-worker header from a non-Cloudflare peer marks nothing', peer: OUTSIDER, headers: { 'cf-worker': 'example.com' }, ip: OUTSIDER, cloudflare: false },
  { name: 'a cf-connecting-ip that is a private address is flagged as a private client', peer: CF4, headers: { 'cf-connecting-ip': '192.168.1.10' }, ip: '192.168.1.10', cloudflare: true, privateClient: true },

  // Trusted load balancers: x-forwarded-for from the right.
  { name: 'a trusted load balancer\'s single x-forwarded-for entry is the client', trusted: 'lb', peer: LB, headers: { 'x-forwarded-for': CLIENT }, ip: CLIENT, cloudflare: false, forwardedIgnored: false },
  { name: 'a client-forged left part of x-forwarded-for loses to the rightmost untrusted address', trusted: 'lb', peer: LB, headers: { 'x-forwarded-for': `${OUTSIDER}, 1.2.3.4, ${CLIENT}` }, ip: CLIENT },
  { name: 'a forged Cloudflare address on the left of x-forwarded-for is not the client', trusted: 'lb', peer: LB, headers: { 'x-forwarded-for': `${CF4}, ${CLIENT}`, 'cf-connecting-ip': OUTSIDER }, ip: CLIENT, cloudflare: false },
  { name: 'trusted proxies on the right of x-forwarded-for are skipped', trusted: 'lb', peer: LB, headers: { 'x-forwarded-for': `${OUTSIDER}, ${CLIENT}, 10.0.0.3, 10.1.2.3` }, ip: CLIENT },
  { name: 'when every hop is trusted the leftmost address is the client', trusted: 'lb', peer: LB, headers: { 'x-forwarded-for': '10.0.0.9, 10.0.0.8' }, ip: '10.0.0.9', privateClient: true },
  { name: 'a walk broken by a non-IP hop stops at the last address reached', trusted: 'lb', peer: LB, headers: { 'x-forwarded-for': `${CLIENT}, unknown, 10.0.0.3` }, ip: '10.0.0.3' },
  { name: 'a non-IP rightmost hop leaves the peer', trusted: 'lb', peer: LB, headers: { 'x-forwarded-for': `${CLIENT}, myrouter` }, ip: LB },
  { name: 'an empty entry in x-forwarded-for breaks the walk', trusted: 'lb', peer: LB, headers: { 'x-forwarded-for': `${CLIENT},` }, ip: LB },
  { name: 'an empty x-forwarded-for leaves the peer and disables x-real-ip', trusted: 'lb', peer: LB, headers: { 'x-forwarded-for': '', 'x-real-ip': CLIENT }, ip: LB },
  { name: 'an IPv4 hop with a port has the port stripped', trusted: 'lb', peer: LB, headers: { 'x-forwarded-for': `${OUTSIDER}, ${CLIENT}:52100` }, ip: CLIENT },
  { name: 'a bracketed IPv6 hop with a port has both stripped', trusted: 'lb', peer: LB, headers: { 'x-forwarded-for': `[${CLIENT6}]:443` }, ip: CLIENT6 },
  { name: 'a bracketed IPv6 hop without a port is read', trusted: 'lb', peer: LB, headers: { 'x-forwarded-for': `[${CLIENT6}]` }, ip: CLIENT6 },
  { name: 'a trusted hop with a port is still recognised as trusted', trusted: 'lb', peer: LB, headers: { 'x-forwarded-for': `${CLIENT}, 10.0.0.3:8080` }, ip: CLIENT },
  { name: 'a hop with a non-numeric port is not an IP', trusted: 'lb', peer: LB, headers: { 'x-forwarded-for': `${CLIENT}:http` }, ip: LB },
  { name: 'a bracketed IPv4 hop is not an IP', trusted: 'lb', peer: LB, headers: { 'x-forwarded-for': `[${CLIENT}]:80` }, ip: LB },
  { name: 'a hop with leading zeros is not an IP', trusted: 'lb', peer: LB, headers: { 'x-forwarded-for': `${CLIENT}, 010.0.0.3` }, ip: LB },
  { name: 'a mapped IPv4 hop in dotted form is written as IPv4', trusted: 'lb', peer: LB, headers: { 'x-forwarded-for': `::ffff:${CLIENT}` }, ip: CLIENT },
  { name: 'a mapped IPv4 hop in hex form is written as IPv4', trusted: 'lb', peer: LB, headers: { 'x-forwarded-for': '::ffff:c633:6407' }, ip: CLIENT },
  { name: 'a mapped IPv4 hop in long form is written as IPv4', trusted: 'lb', peer: LB, headers: { 'x-forwarded-for': `0000:0000:0000:0000:0000:FFFF:${CLIENT}` }, ip: CLIENT },
  { name: 'a mapped spelling of a trusted proxy is skipped like the proxy', trusted: 'lb', peer: LB, headers: { 'x-forwarded-for': `${CLIENT}, ::ffff:10.0.0.3` }, ip: CLIENT },
  { name: 'a mapped hop with a hex-spelled IPv4 tail is not an IP', trusted: 'lb', peer: LB, headers: { 'x-forwarded-for': '::ffff:0xc6.51.100.77' }, ip: LB },
  { name: 'whitespace and tabs around hops are ignored', trusted: 'lb', peer: LB, headers: { 'x-forwarded-for': `  ${OUTSIDER} ,\t${CLIENT}\t` }, ip: CLIENT },
  { name: 'an IPv6 hop is written in canonical form', trusted: 'lb', peer: LB, headers: { 'x-forwarded-for': '2001:DB8:ABCD::0001' }, ip: CLIENT6 },
  { name: 'a trusted IPv6 hop inside a trusted IPv6 CIDR is skipped', trusted: 'lb', peer: LB, headers: { 'x-forwarded-for': `${CLIENT}, 2001:db8:1:2::9` }, ip: CLIENT },
  { name: 'a peer inside a trusted IPv6 CIDR is believed', trusted: 'lb', peer: '2001:db8:1::5', headers: { 'x-forwarded-for': CLIENT }, ip: CLIENT, forwardedIgnored: false },
  { name: 'a trusted IPv6 peer in a long spelling is believed', trusted: 'lb', peer: '2001:0db8:0001:0000:0000:0000:0000:0005', headers: { 'x-forwarded-for': CLIENT }, ip: CLIENT },
  { name: 'a trusted peer seen as an IPv4-mapped address is believed', trusted: 'lb', peer: `::ffff:${LB}`, headers: { 'x-forwarded-for': CLIENT }, ip: CLIENT },
  { name: 'a bare trusted IPv4 peer is believed', trusted: 'lb', peer: '192.0.2.7', headers: { 'x-forwarded-for': CLIENT }, ip: CLIENT },
  { name: 'a bare trusted IPv6 peer is believed', trusted: 'lb', peer: '2001:db8:ff::1', headers: { 'x-forwarded-for': CLIENT }, ip: CLIENT },
  { name: 'the walk stops at its hop bound and takes the last address reached', trusted: 'lb', peer: LB, headers: { 'x-forwarded-for': `${CLIENT}, ${hops25}` }, ip: `10.0.0.${25 - MAX_HOPS + 1}` },
  { name: 'a huge x-forwarded-for is read from the right within the length bound', trusted: 'lb', peer: LB, headers: { 'x-forwarded-for': `${'x'.repeat(100_000)}, ${CLIENT}` }, ip: CLIENT },
  { name: 'a huge single x-forwarded-for entry is not an IP', trusted: 'lb', peer: LB, headers: { 'x-forwarded-for': '1'.repeat(50_000) }, ip: LB },
  { name: 'an x-forwarded-for given as an array is read as one list', trusted: 'lb', peer: LB, headers: { 'x-forwarded-for': [OUTSIDER, `${CLIENT}, 10.0.0.3`] }, ip: CLIENT },
  { name: 'an x-forwarded-for that is not a string is ignored', trusted: 'lb', peer: LB, headers: { 'x-forwarded-for': 42 }, ip: LB },
  { name: 'Cloudflare then a load balancer then the app uses cf-connecting-ip', trusted: 'lb', peer: LB, headers: { 'x-forwarded-for': `${OUTSIDER}, ${CF4}`, 'cf-connecting-ip': CLIENT }, ip: CLIENT, cloudflare: true },
  { name: 'Cloudflare then two load balancers uses cf-connecting-ip', trusted: 'lb', peer: LB, headers: { 'x-forwarded-for': `${CF6}, 10.9.9.9`, 'cf-connecting-ip': CLIENT6 }, ip: CLIENT6, cloudflare: true },
  { name: 'Cloudflare then a load balancer without cf-connecting-ip resolves to the edge, still Cloudflare', trusted: 'lb', peer: LB, headers: { 'x-forwarded-for': CF4 }, ip: CF4, cloudflare: true, privateClient: true },
  { name: 'Cloudflare then a load balancer is not believed when "cloudflare" is not trusted', trusted: 'lbOnly', peer: LB, headers: { 'x-forwarded-for': CF4, 'cf-connecting-ip': CLIENT }, ip: CF4, cloudflare: false, privateClient: true },
  { name: 'a client that reaches the load balancer directly cannot use cf-connecting-ip', trusted: 'lb', peer: LB, headers: { 'x-forwarded-for': CLIENT, 'cf-connecting-ip': OUTSIDER }, ip: CLIENT, cloudflare: false },
  { name: 'x-real-ip is the fallback when there is no x-forwarded-for', trusted: 'lb', peer: LB, headers: { 'x-real-ip': CLIENT }, ip: CLIENT },
  { name: 'x-real-ip is never used beside x-forwarded-for', trusted: 'lb', peer: LB, headers: { 'x-forwarded-for': CLIENT2, 'x-real-ip': CLIENT }, ip: CLIENT2 },
  { name: 'a garbage x-real-ip leaves the peer', trusted: 'lb', peer: LB, headers: { 'x-real-ip': 'unknown' }, ip: LB },
  { name: 'an x-real-ip that is a Cloudflare edge leads to cf-connecting-ip', trusted: 'lb', peer: LB, headers: { 'x-real-ip': CF4, 'cf-connecting-ip': CLIENT }, ip: CLIENT, cloudflare: true },
  { name: 'a trusted peer without forwarding headers is the client, flagged as a proxy address', trusted: 'lb', peer: LB, ip: LB, privateClient: true }
]

t.test('resolves the client IP for every case of the table', async (t) => {
  t.ok(cases.length >= 50, `${cases.length} cases`)
  for (const c of cases) {
    const trusted = configs[c.trusted ?? 'cloudflare']!
    const r = resolveClientIp(c.peer, (c.headers ?? {}) as IncomingHttpHeaders, trusted)
    t.equal(r.ip, c.ip, `${c.name}: ip`)
    if (c.cloudflare !== undefined) t.equal(r.cloudflare, c.cloudflare, `${c.name}: cloudflare`)
    t.equal(r.via, c.via, `${c.name}: via`)
    if (c.forwardedIgnored !== undefined) t.equal(r.forwardedIgnored, c.forwardedIgnored, `${c.name}: forwardedIgnored`)
    if (c.privateClient !== undefined) t.equal(r.privateClient, c.privateClient, `${c.name}: privateClient`)
    // A second call answers from the cache and must agree.
    const again = resolveClientIp(c.peer, (c.headers ?? {}) as IncomingHttpHeaders, trusted)
    t.same(again, r, `${c.name}: same answer from the cache`)
  }
})

t.test('fills and returns the object it is given, resetting every field', async (t) => {
  const out: ClientIpResult = { ip: 'x', cloudflare: true, via: 'cf-worker', forwardedIgnored: true, privateClient: true }
  const r = resolveClientIp(CLIENT, {}, configs.cloudflare!, out)
  t.equal(r, out)
  t.same(out, { ip: CLIENT, cloudflare: false, via: undefined, forwardedIgnored: false, privateClient: false })
  resolveClientIp(CF4, { 'cf-connecting-ip': CLIENT2, 'cf-worker': 'a.example' }, configs.cloudflare!, out)
  t.same(out, { ip: CLIENT2, cloudflare: true, via: 'cf-worker', forwardedIgnored: false, privateClient: false })
  resolveClientIp(undefined, {}, configs.cloudflare!, out)
  t.same(out, { ip: UNKNOWN_IP, cloudflare: false, via: undefined, forwardedIgnored: false, privateClient: false })
})

t.test('never throws and always returns a canonical IP, whatever the headers hold', async (t) => {
  const weird: unknown[] = [
    undefined, null, 0, 42, -1, NaN, true, {}, [], [1, 2], ['a', 3], [''], '', ',', ',,,', ' ', '[', ']', '[]', '[::1', '::1]:80',
    '1.2.3.4:', ':80', '1.2.3.4:999999', '[::1]:', '[::1]x', '%', 'fe80::1%', '::ffff:', '1.2.3.4.5', '256.1.1.1',
    'a'.repeat(200_000), ','.repeat(200_000), `${CLIENT},`.repeat(20_000), '\u0000', '\uFFFF', '１.２.３.４', Symbol('x').toString()
  ]
  const names = ['x-forwarded-for', 'x-real-ip', 'cf-connecting-ip', 'cf-connecting-ipv6', 'cf-worker']
  const peers = [undefined, LB, CF4, CF6, OUTSIDER, `::ffff:${CF4}`]
  let checked = 0
  for (const config of Object.values(configs)) {
    for (const peer of peers) {
      for (const value of weird) {
        const headers: Record<string, unknown> = {}
        for (const name of names) headers[name] = value
        const r = resolveClientIp(peer, headers as IncomingHttpHeaders, config)
        if (canonicalIp(r.ip) !== r.ip) t.fail(`not canonical: ${r.ip}`)
        checked++
      }
    }
  }
  t.pass(`${checked} hostile header sets resolved to canonical IPs`)
  for (const headers of [undefined, null, 'x-forwarded-for: 1.2.3.4', 42]) {
    t.equal(resolveClientIp(LB, headers as unknown as IncomingHttpHeaders, configs.lb!).ip, LB, `headers ${String(headers)}`)
  }
})

t.test('a refreshed Cloudflare list replaces cached verdicts for known peers', async (t) => {
  const trusted = compileTrustedProxies(['cloudflare'])
  const newEdge = '198.18.0.10'
  t.equal(resolveClientIp(newEdge, { 'cf-connecting-ip': CLIENT }, trusted).ip, newEdge, 'not Cloudflare yet')
  t.equal(resolveClientIp(CF4, { 'cf-connecting-ip': CLIENT }, trusted).ip, CLIENT)
  setCloudflareRanges(trusted, ['198.18.0.0/15', '2606:4700::/32'])
  t.equal(resolveClientIp(newEdge, { 'cf-connecting-ip': CLIENT }, trusted).ip, CLIENT, 'the new range is believed')
  const old = resolveClientIp(CF4, { 'cf-connecting-ip': CLIENT }, trusted)
  t.equal(old.ip, CF4, 'a range no longer listed is no longer believed')
  t.equal(old.forwardedIgnored, true)
})

t.test('a bad Cloudflare list is refused and the current one kept', async (t) => {
  const trusted = compileTrustedProxies(['cloudflare'])
  t.throws(() => { setCloudflareRanges(trusted, ['173.245.48.0/20', 'bogus']) }, { code: 'FST_APPFIREWALL_INVALID_CIDR' })
  t.equal(resolveClientIp(CF4, { 'cf-connecting-ip': CLIENT }, trusted).ip, CLIENT)
})

t.test('the peer cache stays bounded under a flood of distinct peers', async (t) => {
  const trusted = compileTrustedProxies(['cloudflare'])
  resolveClientIp(CF4, { 'cf-connecting-ip': CLIENT }, trusted)
  for (let i = 0; i < 20_000; i++) {
    resolveClientIp(`2001:db8:${(i >>> 16).toString(16)}:${(i & 0xffff).toString(16)}::1`, {}, trusted)
    // A hot peer keeps being seen, so it survives the flood.
    if (i % 100 === 0) resolveClientIp(CF4, { 'cf-connecting-ip': CLIENT }, trusted)
  }
  t.ok(trusted.cache.size + trusted.previous.size <= 4096, `${trusted.cache.size} + ${trusted.previous.size} entries`)
  t.ok(trusted.cache.has(CF4) || trusted.previous.has(CF4), 'the hot peer is still cached')
})

t.test('compileTrustedProxies refuses a bad entry with a coded error naming it', async (t) => {
  for (const bad of ['nope', '10.0.0.0/33', '10.0.0.0/', '10.0.0.0/08', '2001:db8::/129', '0xc6.51.100.77', '1.2.3', 'Cloudflare', '10.0.0.0/8/8', '']) {
    let caught: any
    try {
      compileTrustedProxies(['cloudflare', bad])
    } catch (err) {
      caught = err
    }
    t.equal(caught?.code, 'FST_APPFIREWALL_INVALID_CIDR', `refuses ${JSON.stringify(bad)}`)
    t.ok(String(caught?.message).includes(JSON.stringify(bad)), `names ${JSON.stringify(bad)}`)
  }
  t.equal(checkCidrs(['10.0.0.0/8', '::1']), null)
  t.match(checkCidrs(['10.0.0.0/8', 'nope']), /"nope"/)
  t.equal(compileTrustedProxies(['cloudflare']).cloudflare, true)
  t.equal(compileTrustedProxies(['10.0.0.0/8']).cloudflare, false)
})

t.test('canonicalIp writes one form per address and refuses loose literals', async (t) => {
  const table: Array<[string, string | undefined]> = [
    ['1.2.3.4', '1.2.3.4'],
    ['0.0.0.0', '0.0.0.0'],
    ['255.255.255.255', '255.255.255.255'],
    ['::ffff:1.2.3.4', '1.2.3.4'],
    ['::ffff:102:304', '1.2.3.4'],
    ['0:0:0:0:0:ffff:1.2.3.4', '1.2.3.4'],
    ['0:0:0:0:0:FFFF:0102:0304', '1.2.3.4'],
    ['::FFFF:1.2.3.4', '1.2.3.4'],
    ['::ffff:1.2.3.4%eth0', '1.2.3.4'],
    ['2001:DB8::1', '2001:db8::1'],
    ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['fe80::1%eth0', 'fe80::1'],
    ['fe80::1%25', 'fe80::1'],
    ['::', '::'],
    ['::1', '::1'],
    ['::1.2.3.4', '::102:304'],
    ['::0.0.0.1', '::1'],
    ['64:ff9b::1.2.3.4', '64:ff9b::102:304'],
    ['0xc6.51.100.77', undefined],
    ['::ffff:0xc6.51.100.77', undefined],
    ['::ffff:010.1.1.1', undefined],
    ['010.1.1.1', undefined],
    ['1.2.3', undefined],
    ['1.2.3.4.5', undefined],
    ['256.1.1.1', undefined],
    ['3232235777', undefined],
    [' 1.2.3.4', undefined],
    ['1.2.3.4 ', undefined],
    ['1.2.3.4%eth0', undefined],
    ['fe80::1%', undefined],
    ['[::1]', undefined],
    ['1::2::3', undefined],
    ['1:2:3:4:5:6:7:8:9', undefined],
    ['', undefined],
    ['unknown', undefined],
    ['1'.repeat(101), undefined]
  ]
  for (const [input, expected] of table) t.equal(canonicalIp(input), expected, JSON.stringify(input))
})

t.test('the strict IPv4 parser agrees with ipaddr.js on valid four-part decimals', async (t) => {
  let seed = 7
  const rnd = (): number => { seed = (seed * 1103515245 + 12345) >>> 0; return seed }
  for (let i = 0; i < 2000; i++) {
    const text = [rnd() % 300, rnd() % 256, rnd() % 256, rnd() % 256].join('.')
    const ours = parseIp(text)
    const valid = ipaddr.IPv4.isValidFourPartDecimal(text)
    if ((ours !== undefined) !== valid) t.fail(`disagree on ${text}`)
    if (ours !== undefined && ours.text !== ipaddr.IPv4.parse(text).toString()) t.fail(`different text for ${text}`)
  }
  t.pass('2000 random quads agree')
})

/** What ipaddr.js makes of a literal, with our two documented differences applied. */
function referenceCanonical (text: string): string | undefined {
  if (text.indexOf(':') === -1) return ipaddr.IPv4.isValidFourPartDecimal(text) ? text : undefined
  if (!ipaddr.IPv6.isValid(text)) return undefined
  const tail = text.slice(text.lastIndexOf(':') + 1)
  // Difference 1: an embedded IPv4 tail must be a strict dotted quad.
  if (tail.includes('.') && !ipaddr.IPv4.isValidFourPartDecimal(tail)) return undefined
  const parsed = ipaddr.IPv6.parse(text)
  // Difference 2: `::a.b.c.d` is IPv4-compatible (::0:0/96), which ipaddr.js reads as mapped.
  if (/^::[0-9]+\./.test(text)) return new ipaddr.IPv6([0, 0, 0, 0, 0, 0, parsed.parts[6]!, parsed.parts[7]!]).toRFC5952String()
  if (parsed.isIPv4MappedAddress()) return parsed.toIPv4Address().toString()
  return parsed.toRFC5952String()
}

t.test('the fast parser agrees with ipaddr.js on random address-like text', async (t) => {
  let seed = 12345
  const rnd = (n: number): number => { seed = (seed * 1103515245 + 12345) >>> 0; return (seed >>> 8) % n }
  const hex = '0123456789abcdefABCDEF'
  const group = (): string => {
    const len = rnd(10) === 0 ? rnd(7) : 1 + rnd(4)
    let g = ''
    for (let i = 0; i < len; i++) g += hex[rnd(rnd(8) === 0 ? 22 : 16)]
    return g
  }
  const quad = (): string => Array.from({ length: rnd(8) === 0 ? 3 + rnd(3) : 4 }, () => String(rnd(5) === 0 ? rnd(300) : rnd(256))).map((p) => (rnd(30) === 0 ? '0' + p : p)).join('.')
  const candidates: string[] = []
  for (let i = 0; i < 20000; i++) {
    const n = rnd(10)
    const parts = Array.from({ length: n }, group)
    if (rnd(3) === 0) parts.push(quad())
    let text = parts.join(':')
    if (rnd(2) === 0) {
      const at = rnd(text.length + 1)
      text = text.slice(0, at) + (rnd(6) === 0 ? ':::' : '::') + text.slice(at)
    }
    if (rnd(5) === 0) text = text.replace(/^[^:]*/, rnd(2) === 0 ? 'ffff' : '')
    if (rnd(4) === 0) text = '::ffff:' + quad()
    candidates.push(text)
  }
  candidates.push('1:2:3:4:5:6:7::', '::2:3:4:5:6:7:8', '1:2:3:4:5:6:7::8', '1::2:3:4:5:6:7', '::', ':::', ':', '1:', ':1', '1::',
    '::1.2.3.4', '::ffff:1.2.3.4', '1:2:3:4:5:6:1.2.3.4', '1:2:3:4:5:6:7:1.2.3.4', '1:2:3:4:5::1.2.3.4', '1.2.3.4::', '::1.2.3.4:1',
    '00000::1', 'ffff::FFFF', '::0:0:0:0:0:0:0', '0:0:0:0:0:0:0:0', '1:0:0:2:0:0:0:3', '1:0:0:2:0:0:3:4', '0:0:1:0:0:0:0:0')
  let accepted = 0
  let disagreements = 0
  for (const text of candidates) {
    const ours = canonicalIp(text)
    const reference = referenceCanonical(text)
    if (ours !== reference) {
      disagreements++
      if (disagreements <= 10) t.fail(`${JSON.stringify(text)}: ours ${ours}, ipaddr.js ${reference}`)
    }
    if (ours !== undefined) accepted++
  }
  t.equal(disagreements, 0, `${candidates.length} inputs, ${accepted} valid`)
  t.ok(accepted > 2000, 'enough valid addresses were generated to mean something')
})

t.test('CidrSet matches IPv4 and IPv6 ranges on integers', async (t) => {
  const set = CidrSet.parse(['10.0.0.0/8', '192.0.2.7', '10.200.0.1/16', '2001:db8::/32', '2001:db8:ff::1', 'fe80::/10'])
  const table: Array<[string, boolean]> = [
    ['10.0.0.0', true], ['10.255.255.255', true], ['11.0.0.0', false], ['9.255.255.255', false],
    ['192.0.2.7', true], ['192.0.2.6', false], ['192.0.2.8', false],
    ['10.200.255.255', true],
    ['::ffff:10.1.2.3', true], ['::ffff:a01:203', true],
    ['2001:db8::1', true], ['2001:db8:ffff:ffff:ffff:ffff:ffff:ffff', true], ['2001:db9::', false], ['2001:db7:ffff::', false],
    ['2001:db8:ff::1', true],
    ['fe80::1', true], ['febf:ffff::1', true], ['fec0::1', false],
    ['1.2.3.4', false], ['::1', false], ['not an ip', false]
  ]
  for (const [ip, expected] of table) t.equal(set.has(ip), expected, ip)
  t.equal(CidrSet.parse([]).empty, true)
  t.equal(set.empty, false)
})

t.test('CidrSet agrees with ipaddr.js matching on random ranges and addresses', async (t) => {
  let seed = 99
  const rnd = (n: number): number => { seed = (seed * 1103515245 + 12345) >>> 0; return (seed >>> 8) % n }
  const v4 = (): string => [rnd(256), rnd(256), rnd(256), rnd(256)].join('.')
  // Few distinct high bits, so that ranges and addresses often meet.
  const v6 = (): string => [0x2001, 0xdb8, rnd(4), rnd(65536), rnd(65536), 0, rnd(3), rnd(65536)].map((g) => g.toString(16)).join(':')
  let mismatches = 0
  let hits = 0
  for (let round = 0; round < 200; round++) {
    const ranges: Array<[ipaddr.IPv4 | ipaddr.IPv6, number]> = []
    const texts: string[] = []
    for (let k = 0; k < 1 + rnd(5); k++) {
      const isV6 = rnd(2) === 0
      const prefix = rnd(4) === 0 ? rnd(isV6 ? 129 : 33) : (isV6 ? 64 + rnd(65) : 16 + rnd(17))
      const text = `${isV6 ? v6() : v4()}/${prefix}`
      texts.push(text)
      ranges.push(ipaddr.parseCIDR(text))
    }
    const set = CidrSet.parse(texts)
    for (let k = 0; k < 50; k++) {
      const first = ranges[0]![0]
      // Often a neighbour of the first range's network, so that IPv4 hits are common too.
      const near = first.kind() === 'ipv4' ? first.toString().replace(/\d+$/, String(rnd(256))) : v6()
      const addr = rnd(3) === 0 ? v6() : (rnd(2) === 0 ? near : v4())
      const parsed = ipaddr.parse(addr)
      // An IPv4 address is also its mapped IPv6 form, so IPv6 ranges over ::ffff:0:0/96 hold it.
      const expected = ranges.some(([net, bits]) => {
        if (net.kind() === parsed.kind()) return parsed.match(net, bits)
        return parsed.kind() === 'ipv4' && (parsed as ipaddr.IPv4).toIPv4MappedAddress().match(net, bits)
      })
      if (set.has(addr) !== expected) {
        mismatches++
        if (mismatches < 5) t.fail(`${addr} in ${texts.join(' ')}: ours ${set.has(addr)}, ipaddr.js ${expected}`)
      }
      if (expected) hits++
    }
  }
  t.equal(mismatches, 0, `10000 lookups, ${hits} inside`)
  t.ok(hits > 1000 && hits < 9000, 'enough lookups fell inside and outside')
})

t.test('CidrSet handles ranges that span several first octets', async (t) => {
  const set = CidrSet.parse(['8.0.0.0/7', '255.255.255.255', '128.0.0.0/1'])
  t.equal(set.has('8.0.0.0'), true)
  t.equal(set.has('9.255.255.255'), true)
  t.equal(set.has('7.255.255.255'), false)
  t.equal(set.has('10.0.0.0'), false)
  t.equal(set.has('200.1.2.3'), true)
  t.equal(set.has('255.255.255.255'), true)
  t.equal(set.has('127.255.255.255'), false)
  t.equal(CidrSet.parse(['0.0.0.0/0']).has('255.255.255.255'), true)
  t.equal(CidrSet.parse(['0.0.0.0/0']).has('0.0.0.0'), true)
})

t.test('CidrSet treats mapped IPv6 ranges and short IPv6 prefixes as covering IPv4', async (t) => {
  const mapped = CidrSet.parse(['::ffff:10.0.0.0/104'])
  t.equal(mapped.has('10.9.9.9'), true)
  t.equal(mapped.has('11.0.0.1'), false)
  const all6 = CidrSet.parse(['::/0'])
  t.equal(all6.has('1.2.3.4'), true, '::/0 spans the mapped space')
  t.equal(all6.has('2001:db8::1'), true)
  const docs = CidrSet.parse(['2001:db8::/32'])
  t.equal(docs.has('1.2.3.4'), false, 'an unrelated IPv6 range does not')
  const wideMapped = CidrSet.parse(['::ffff:0:0/80'])
  t.equal(wideMapped.has('1.2.3.4'), true)
  t.equal(CidrSet.parse(['0.0.0.0/0']).has('2001:db8::1'), false, 'an IPv4 range never covers IPv6')
})

t.test('the shipped Cloudflare list parses and covers known edges', async (t) => {
  t.equal(CLOUDFLARE_IPV4.length, 15)
  t.equal(CLOUDFLARE_IPV6.length, 7)
  t.same(CLOUDFLARE_RANGES, [...CLOUDFLARE_IPV4, ...CLOUDFLARE_IPV6])
  const set = CidrSet.parse(CLOUDFLARE_RANGES)
  for (const ip of [CF4, CF4_B, CF6, '104.16.0.1', '172.71.255.255', '2a06:98c7:ffff::1', '131.0.75.255']) t.equal(set.has(ip), true, ip)
  for (const ip of ['1.1.1.1', '104.32.0.0', '172.72.0.0', '2a06:98c8::1', OUTSIDER]) t.equal(set.has(ip), false, ip)
})
