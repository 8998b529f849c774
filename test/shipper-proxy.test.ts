// Issue 9, item 5: corporate egress. A forward proxy on 127.0.0.1
// (test/fixtures/proxy.ts, which refuses any other target) counts what goes
// through it; every ingest request's client port tells whether it came from
// the proxy. Proxy variables are set on process.env for one test at a time and
// restored after it; so is the global dispatcher.
import t from 'tap'
import type { Test } from 'tap'
import Fastify from 'fastify'
import { Agent, getGlobalDispatcher, ProxyAgent, request, setGlobalDispatcher } from 'undici'
import type { Dispatcher } from 'undici'
import appFirewall from '../lib/index'
import { healthy, makeShipper, makeTestPki, numbers, refusedPort, startIngest, startProxy, waitFor } from './fixtures'
import type { ForwardProxy, Harness, Ingest, ShipOptions } from './fixtures'

const VARS = ['HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'NO_PROXY', 'no_proxy'] as const
const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i)
const pki = makeTestPki()

/** Sets exactly these proxy variables (the others unset) until `t` ends. */
function proxyVars (t: Test, values: Partial<Record<typeof VARS[number], string>>): void {
  const saved = VARS.map((k) => [k, process.env[k]] as const)
  for (const k of VARS) Reflect.deleteProperty(process.env, k)
  Object.assign(process.env, values)
  t.teardown(() => {
    for (const [k, v] of saved) {
      if (v === undefined) Reflect.deleteProperty(process.env, k)
      else process.env[k] = v
    }
  })
}

/** Installs `d` as the global dispatcher until `t` ends. */
function globalDispatcher (t: Test, d: Dispatcher): void {
  const before = getGlobalDispatcher()
  setGlobalDispatcher(d)
  t.teardown(() => { setGlobalDispatcher(before) })
}

async function setup (t: Test, tls = false): Promise<{ ingest: Ingest, proxy: ForwardProxy }> {
  const ingest = await startIngest(healthy, 0, 5000, tls ? { tls: pki.signed } : {})
  const proxy = await startProxy()
  t.teardown(async () => {
    await ingest.close()
    await proxy.close()
  })
  return { ingest, proxy }
}

function shipper (t: Test, ingest: Ingest, overrides: Partial<ShipOptions> = {}): Harness {
  const h = makeShipper(ingest.url, { batchSize: 5, flushIntervalMs: 600000, retryDeadlineMs: 3000, ...overrides })
  t.teardown(() => h.sink.close(0))
  return h
}

/** Three batches of five, each flushed: resolves once they are through. */
async function threeBatches (t: Test, h: Harness): Promise<void> {
  for (let i = 0; i < 3; i++) {
    h.pushEvents(5)
    t.equal(await h.sink.flush(3000), true, `batch ${i} flushed`)
  }
}

/** Asserts that every request the ingest saw came from the proxy, and how many tunnels carried them. */
function throughProxy (t: Test, ingest: Ingest, proxy: ForwardProxy, tunnels: number): void {
  t.same(numbers(ingest.lines()), range(ingest.lines().length), 'every event once, in order')
  const ports = proxy.upstreamPorts()
  t.ok(ingest.requests.length > 0 && ingest.requests.every((r) => ports.has(r.remotePort)), `all ${ingest.requests.length} requests came from the proxy`)
  t.equal(proxy.tunnels.length, tunnels, `${tunnels} CONNECT tunnel(s)`)
  t.same(proxy.refused, [], 'the proxy was never asked for anything off 127.0.0.1')
}

t.test('HTTP_PROXY: every batch goes through the proxy over one kept-alive tunnel, closed at shutdown', async (t) => {
  const { ingest, proxy } = await setup(t)
  proxyVars(t, { HTTP_PROXY: proxy.url.replace('//', '//afw:s3cret@') })
  const h = shipper(t, ingest)
  await threeBatches(t, h)
  throughProxy(t, ingest, proxy, 1)
  t.equal(proxy.tunnels[0]?.target, `127.0.0.1:${ingest.port}`)
  t.equal(h.stats().sent, 15)
  const info = h.logs.find((l) => /proxy variables set/.test(l.msg))
  t.match(info?.obj, { httpProxy: proxy.url }, 'one info line names the proxy')
  t.notMatch(JSON.stringify(h.logs), /s3cret/, 'never its credentials')
  await h.sink.close(1000)
  await waitFor(() => proxy.openTunnels() === 0, 3000, 'the tunnel to close')
  t.equal(proxy.openTunnels(), 0, 'the agent the exporter made is closed with it')
})

t.test('lower-case http_proxy wins over HTTP_PROXY, as in undici', async (t) => {
  const { ingest, proxy } = await setup(t)
  proxyVars(t, { HTTP_PROXY: `http://127.0.0.1:${await refusedPort()}`, http_proxy: proxy.url })
  await threeBatches(t, shipper(t, ingest))
  throughProxy(t, ingest, proxy, 1)
})

for (const noProxy of ['127.0.0.1', '*', 'example.invalid, 127.0.0.1']) {
  t.test(`NO_PROXY=${JSON.stringify(noProxy)}: the ingest is reached directly`, async (t) => {
    const { ingest, proxy } = await setup(t)
    proxyVars(t, { HTTP_PROXY: proxy.url, NO_PROXY: noProxy })
    const h = shipper(t, ingest)
    await threeBatches(t, h)
    t.equal(proxy.count(), 0, 'the proxy saw nothing')
    t.equal(h.stats().sent, 15)
    t.equal(new Set(ingest.requests.map((r) => r.remotePort)).size, 1, 'one direct keep-alive connection')
  })
}

t.test('NO_PROXY naming another port of the same host: still through the proxy', async (t) => {
  const { ingest, proxy } = await setup(t)
  proxyVars(t, { HTTP_PROXY: proxy.url, no_proxy: `127.0.0.1:${ingest.port + 1}` })
  await threeBatches(t, shipper(t, ingest))
  throughProxy(t, ingest, proxy, 1)
})

t.test('HTTPS_PROXY carries an https ingest; an untrusted certificate behind it is still a certificate problem, not retried', async (t) => {
  const { ingest, proxy } = await setup(t, true)
  proxyVars(t, { HTTPS_PROXY: proxy.url })
  const h = shipper(t, ingest)
  h.pushEvents(5)
  t.equal(await h.sink.flush(3000), true)
  t.equal(proxy.tunnels.length, 1, 'one CONNECT, no retry')
  t.equal(h.stats().dropped.rejected, 5)
  t.match(h.warnings(), [{ obj: { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' } }])
})

t.test('dispatcher option: a ProxyAgent trusting a private CA reaches an https ingest through a tunnel', async (t) => {
  const { ingest, proxy } = await setup(t, true)
  const agent = new ProxyAgent({ uri: proxy.url, requestTls: { ca: pki.ca } })
  t.teardown(() => agent.close())
  await threeBatches(t, shipper(t, ingest, { dispatcher: agent }))
  throughProxy(t, ingest, proxy, 1)
  t.equal(ingest.connections(), 1, 'one TLS connection inside one tunnel')
})

t.test('dispatcher option: absolute-form requests (proxyTunnel false), kept alive; the exporter leaves the dispatcher open', async (t) => {
  const { ingest, proxy } = await setup(t)
  const agent = new ProxyAgent({ uri: proxy.url, proxyTunnel: false })
  t.teardown(() => agent.close())
  const h = shipper(t, ingest, { dispatcher: agent })
  await threeBatches(t, h)
  t.same(proxy.forwards.map((f) => f.url), [ingest.url, ingest.url, ingest.url], 'one absolute-form POST per batch')
  t.equal(proxy.clientConnections(), 1, 'all three over one kept-alive connection to the proxy')
  throughProxy(t, ingest, proxy, 0)
  const headers = ingest.requests[0]?.headers ?? {}
  t.match(headers, { authorization: 'Bearer test-key', 'content-encoding': 'gzip' }, 'the ingest contract holds through the proxy')
  t.ok(typeof headers['idempotency-key'] === 'string')
  await h.sink.close(1000)
  const res = await request(ingest.url, { dispatcher: agent, method: 'POST', body: '' })
  await res.body.dump()
  t.equal(res.statusCode, 200, 'the user\'s dispatcher still works after the sink closed')
})

t.test('dispatcher option wins over the proxy variables and over a global dispatcher', async (t) => {
  const { ingest, proxy } = await setup(t)
  proxyVars(t, { HTTP_PROXY: proxy.url })
  const global = new ProxyAgent(proxy.url)
  t.teardown(() => global.close())
  globalDispatcher(t, global)
  const direct = new Agent()
  t.teardown(() => direct.close())
  const h = shipper(t, ingest, { dispatcher: direct })
  await threeBatches(t, h)
  t.equal(proxy.count(), 0, 'nothing through the proxy')
  t.equal(h.stats().sent, 15)
})

t.test('a global dispatcher the app installed (setGlobalDispatcher) is followed, before the proxy variables, and left open', async (t) => {
  const { ingest, proxy } = await setup(t)
  proxyVars(t, { HTTP_PROXY: `http://127.0.0.1:${await refusedPort()}` })
  const global = new ProxyAgent(proxy.url)
  t.teardown(() => global.close())
  globalDispatcher(t, global)
  const h = shipper(t, ingest)
  await threeBatches(t, h)
  throughProxy(t, ingest, proxy, 1)
  t.match(h.logs.find((l) => /global undici dispatcher/.test(l.msg))?.obj, { dispatcher: 'ProxyAgent' })
  await h.sink.close(1000)
  t.equal(proxy.openTunnels(), 1, 'the app\'s dispatcher keeps its tunnel: the exporter did not close it')
})

t.test('a plain Agent as global dispatcher (undici\'s default looks the same) is not followed: the proxy variables apply', async (t) => {
  const { ingest, proxy } = await setup(t)
  proxyVars(t, { HTTP_PROXY: proxy.url })
  const plain = new Agent()
  t.teardown(() => plain.close())
  globalDispatcher(t, plain)
  await threeBatches(t, shipper(t, ingest))
  throughProxy(t, ingest, proxy, 1)
})

for (const value of ['proxy.invalid:3128', 'socks5://127.0.0.1:1080']) {
  t.test(`a proxy variable that is not an http(s) URL (${value}): one warning, and the ingest is reached directly`, async (t) => {
    const { ingest, proxy } = await setup(t)
    proxyVars(t, { HTTP_PROXY: value })
    const h = shipper(t, ingest)
    await threeBatches(t, h)
    t.equal(proxy.count(), 0)
    t.equal(h.stats().sent, 15)
    t.equal(h.warnings().length, 1)
    t.match(h.warnings()[0]?.msg, /HTTP_PROXY\/HTTPS_PROXY is not a proxy URL/)
  })
}

t.test('the plugin: HTTP_PROXY from the environment, and the dispatcher option passed through register', async (t) => {
  const { ingest, proxy } = await setup(t)
  const base = { mode: 'ship' as const, apiKey: 'k', endpoint: ingest.url, cloudflareRefreshMs: 0, flushIntervalMs: 600000 }
  const serve = async (opts: object): Promise<number> => {
    const app = Fastify()
    await app.register(appFirewall, { ...base, ...opts })
    app.get('/', async () => 'ok')
    for (let i = 0; i < 5; i++) t.equal((await app.inject('/')).body, 'ok')
    t.equal(await app.appfirewall.flush(3000), true)
    const sent = app.appfirewall.stats().sent
    await app.close()
    return sent
  }
  const agent = new ProxyAgent({ uri: proxy.url, proxyTunnel: false })
  t.teardown(() => agent.close())
  t.equal(await serve({ dispatcher: agent }), 5)
  t.equal(proxy.forwards.length, 1, 'the dispatcher option reached the exporter')
  proxyVars(t, { HTTP_PROXY: proxy.url })
  t.equal(await serve({}), 5)
  t.equal(proxy.tunnels.length, 1, 'HTTP_PROXY was honoured')
  t.equal(ingest.lines().length, 10)
  t.ok(ingest.requests.every((r) => proxy.upstreamPorts().has(r.remotePort)), 'both apps shipped through the proxy')
})
