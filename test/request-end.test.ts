// How a request's end is seen without Fastify's onResponse and onRequestAbort
// hooks (request/hooks.ts): the response's 'finish', an HTTP/1 socket's
// 'close' for whatever was still in flight on it, an HTTP/2 stream's 'close'.
// Each kind of connection, each way of ending, one event per request.
import { test } from 'tap'
import { connect } from 'node:net'
import http, { type ServerResponse } from 'node:http'
import http2 from 'node:http2'
import { join } from 'node:path'
import Fastify from 'fastify'
import appFirewall from '../lib/index'
import { agentGet, heapGrowth, listen, localApp, rawGet, readEvents, sleep, tempDir, waitFor, within } from './fixtures'

/** Resolves once the server saw the connection (or stream) close (bounded: 5 s). */
async function closed (res: { once: (event: 'close', fn: () => void) => unknown }): Promise<void> {
  await within(new Promise<void>((resolve) => { res.once('close', resolve) }), 5000, 'the close')
}

test('three pipelined requests in flight when the client hangs up leave three aborted events, oldest first, none doubled', async (t) => {
  const h = await localApp(t)
  let entered = 0
  let finished = 0
  h.app.get('/slow/:n', async (request) => {
    entered++
    // The request's 'close': a response queued behind another is not told the socket closed.
    await closed(request.raw)
    finished++
    return 'late'
  })
  const port = await listen(h.app)
  const socket = connect(port, '127.0.0.1', () => {
    socket.write(`${rawGet('/slow/1').replace('Connection: close', 'Connection: keep-alive')}${rawGet('/slow/2').replace('Connection: close', 'Connection: keep-alive')}${rawGet('/slow/3').replace('Connection: close', 'Connection: keep-alive')}`)
  })
  socket.on('error', () => {})
  // Node hands pipelined requests to the app as it parses them, before the first is answered.
  await waitFor(() => entered === 3, 5000, 'the three handlers to run')
  socket.destroy()
  await waitFor(() => finished === 3, 5000, 'the handlers to finish')
  await sleep(50) // what a late 'finish' would add, it adds now
  const events = await h.events()
  t.equal(events.length, 3, 'one event each')
  t.same(events.map((e) => e.path), ['/slow/1', '/slow/2', '/slow/3'], 'in the order they arrived')
  t.ok(events.every((e) => e.status === 499 && e.aborted === true), 'each told nothing: 499, aborted')
})

test('a keep-alive connection: finished requests leave it, only the one in flight is aborted when it closes', async (t) => {
  const h = await localApp(t)
  h.app.get('/', async () => 'ok')
  let entered: () => void = () => {}
  h.app.get('/slow', async (_request, reply) => {
    entered()
    await closed(reply.raw as ServerResponse)
    return 'late'
  })
  const port = await listen(h.app)
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
  t.teardown(() => { agent.destroy() })
  const get = async (path: string): Promise<number> => await agentGet(port, path, agent)
  for (let i = 0; i < 50; i++) t.equal(await get('/'), 200)
  const running = new Promise<void>((resolve) => { entered = resolve })
  const slow = new Promise<void>((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/slow', agent })
    req.on('error', () => { resolve() })
    req.on('close', () => { resolve() })
    running.then(() => { req.destroy() }, () => {})
  })
  await within(slow, 5000, 'the hang-up')
  await waitFor(() => h.app.appfirewall.stats().emitted === 51, 5000, 'the 51 events')
  const events = await h.events()
  t.equal(events.length, 51)
  t.equal(events.filter((e) => e.aborted === true).length, 1, 'only the request in flight was aborted')
  t.match(events[50], { path: '/slow', status: 499, aborted: true })
})

test('20,000 requests over keep-alive connections leave no growth of heap (finished requests are let go)', async (t) => {
  // No logger: a captured log would itself grow with every request.
  const app = Fastify()
  await app.register(appFirewall, { mode: 'local', localLogPath: join(tempDir(), 'e.ndjson'), cloudflareRefreshMs: 0, queueSize: 20_000 })
  t.teardown(() => app.close())
  app.get('/', async () => 'ok')
  const port = await listen(app)
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 })
  t.teardown(() => { agent.destroy() })
  const get = async (): Promise<number> => await agentGet(port, '/', agent)
  const run = async (n: number): Promise<void> => {
    for (let i = 0; i < n; i += 4) await Promise.all([get(), get(), get(), get()])
    await app.appfirewall.flush(5000)
  }
  // A context kept per request (~0.5 KiB with its request and response) would add ~10 MiB.
  const grown = await heapGrowth(run, 1000, 20_000)
  t.equal(app.appfirewall.stats().emitted, 21_000, 'every request left its event')
  t.ok(grown < 2 * 1024 * 1024, `heap grew ${(grown / 1024).toFixed(0)} KiB over 20,000 keep-alive requests`)
})

test('over HTTP/2: a stream the client resets mid-handler is aborted, its neighbour on the session finishes, one event each', async (t) => {
  const file = join(tempDir(), 'e.ndjson')
  const app = Fastify({ http2: true })
  await app.register(appFirewall, { mode: 'local', localLogPath: file, cloudflareRefreshMs: 0 })
  let entered: () => void = () => {}
  let finished = 0
  app.get('/slow', async (request) => {
    entered()
    await closed(request.raw)
    finished++
    return 'late'
  })
  app.get('/', async () => 'ok')
  const port = await listen(app)
  t.teardown(() => app.close())
  const session = http2.connect(`http://127.0.0.1:${port}`)
  t.teardown(() => { session.close() })
  const running = new Promise<void>((resolve) => { entered = resolve })
  const slow = session.request({ ':path': '/slow' })
  slow.on('error', () => {})
  slow.end()
  await within(running, 5000, 'the slow handler')
  slow.close(http2.constants.NGHTTP2_CANCEL)
  const status = await within(new Promise<number>((resolve, reject) => {
    const stream = session.request({ ':path': '/' })
    stream.on('response', (headers) => { resolve(Number(headers[':status'])) })
    stream.on('error', reject)
    stream.resume()
    stream.end()
  }), 5000, 'the second stream')
  t.equal(status, 200, 'the session still serves')
  await waitFor(() => finished === 1, 5000, 'the slow handler to finish')
  await waitFor(() => app.appfirewall.stats().emitted === 2, 5000, 'the two events')
  await sleep(50)
  await app.appfirewall.flush(2000)
  const events = readEvents(file)
  t.equal(events.length, 2, 'one event per stream')
  const aborted = events.find((e) => e.path === '/slow')
  t.match(aborted, { status: 499, aborted: true })
  t.match(events.find((e) => e.path === '/'), { status: 200 })
  t.notOk(events.find((e) => e.path === '/')?.aborted, 'the finished stream was not aborted')
})

test('with the server\'s request listeners reordered (a wrapper re-adds the first one last), each request still leaves exactly one event', async (t) => {
  const h = await localApp(t, { skip: (request) => request.url === '/health' })
  h.app.get('/', async () => 'ok')
  h.app.get('/health', async () => 'up')
  const port = await listen(h.app)
  // What a benchmark or an instrumentation wrapper may do: take the first
  // 'request' listener (the plugin's, prepended) and re-add it, wrapped, after Fastify's.
  const [first] = h.app.server.listeners('request') as Array<(...args: unknown[]) => void>
  h.app.server.removeListener('request', first as (...args: unknown[]) => void)
  let seen = 0
  h.app.server.on('request', function (this: unknown, ...args: unknown[]) { seen++; (first as (...a: unknown[]) => void).apply(this, args) })
  const agent = new http.Agent({ keepAlive: true, maxSockets: 2 })
  t.teardown(() => { agent.destroy() })
  const get = async (path: string): Promise<number> => await agentGet(port, path, agent)
  for (let i = 0; i < 20; i++) t.equal(await get(i % 5 === 4 ? '/health' : i % 5 === 3 ? '/.env' : '/'), i % 5 === 3 ? 404 : 200)
  t.equal(seen, 20, 'the wrapper saw every request')
  const events = await h.events()
  t.equal(events.length, 16, 'one event per request, none for the skipped health checks')
  t.equal(events.filter((e) => e.path === '/.env' && e.classification === 'scanner').length, 4)
  t.same(h.logs.filter((l) => /internal error/.test(String(l.msg))), [], 'no internal error')
})
