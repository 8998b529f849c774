// A client that hangs up before the response finishes: Fastify never runs
// onResponse for it, yet it must leave its event, classified and counted.
import { test } from 'tap'
import type { LimitedInfo } from '../lib/types'
import { connect } from 'node:net'
import type { ServerResponse } from 'node:http'
import { join } from 'node:path'
import Fastify from 'fastify'
import appFirewall from '../lib/index'
import { heapGrowth, listen, localApp, rawGet, rawRequest, sleep, tempDir, waitFor, within } from './fixtures'

/** Resolves once the server saw the connection close (bounded: 5 s). */
async function closed (res: ServerResponse): Promise<void> {
  await within(new Promise((resolve) => { res.once('close', resolve) }), 5000, 'the close of the connection')
}

test('a client that disconnects while a slow not-found handler runs leaves one aborted event, classified and counted', async (t) => {
  const limited: LimitedInfo[] = []
  const h = await localApp(t, { rateLimit: { scanner: { max: 1, windowMs: 60_000 } }, onLimited: (_ip, info) => { limited.push(info) } })
  // The client hangs up once the handler is running (a client that hangs up
  // before Node parsed its request made no request at all), and the test
  // reads the events once both handlers have finished writing to closed
  // sockets: no clock decides what happened.
  let entered: () => void = () => {}
  let finished = 0
  h.app.setNotFoundHandler(async (_request, reply) => {
    entered()
    await closed(reply.raw)
    finished++
    return reply.code(404).send('nope')
  })
  const port = await listen(h.app)
  for (let i = 0; i < 2; i++) {
    const running = new Promise<void>((resolve) => { entered = resolve })
    const res = await rawRequest(port, rawGet('/.git/config', { 'user-agent': 'sqlmap/1.8' }), { hangUp: running })
    t.equal(res.status, 0, 'the client left before any answer')
  }
  await waitFor(() => finished === 2, 5000, 'both handlers to finish')
  await sleep(50) // what a late onResponse would add, it adds now
  const events = (await h.events()).filter((e) => e.type === 'http_request')
  t.equal(events.length, 2, 'one event per aborted request, none doubled when the handler finished later')
  t.match(events[0], { status: 499, aborted: true, path: '/.git/config', ip: '127.0.0.1', classification: 'scanner', rule: 'vcs', ua_class: 'sqlmap' })
  t.notOk(events[0]?.would_block, 'the first probe is within max: 1')
  t.equal(events[1]?.would_block, true, 'the second passes the limit: aborted probes are counted')
  t.equal(limited.length, 1, 'onLimited ran once')
})

test('an aborted request to a matched route is recorded with its status and no classification', async (t) => {
  const h = await localApp(t)
  let handlersDone = 0
  const started = new Promise<void>((resolve) => {
    h.app.get('/slow', async (_request, reply) => {
      resolve()
      await closed(reply.raw)
      handlersDone++
      return 'late'
    })
  })
  h.app.get('/stream', async (_request, reply) => {
    reply.raw.writeHead(200, { 'content-type': 'text/plain' })
    reply.raw.write('first part ')
    await closed(reply.raw)
    reply.raw.end('rest')
    handlersDone++
    return reply
  })
  const port = await listen(h.app)
  const slow = rawRequest(port, rawGet('/slow'), { hangUp: started })
  await started
  t.equal((await slow).status, 0)
  const streamed = await rawRequest(port, rawGet('/stream'), { hangUp: 'first-data' })
  t.equal(streamed.status, 200, 'the stream had sent its head')
  await waitFor(() => handlersDone === 2, 5000, 'both handlers to finish')
  await sleep(50) // what a late onResponse would add, it adds now
  const events = await h.events()
  t.equal(events.length, 2)
  t.match(events[0], { path: '/slow', status: 499, aborted: true })
  t.notOk('classification' in (events[0] as object), 'a matched route is no 404')
  t.match(events[1], { path: '/stream', status: 200, aborted: true }, 'what the client was told, once the head went out')
})

test('20,000 aborted requests leave no growth of heap', async (t) => {
  // No logger: a captured log would itself grow with every request.
  const app = Fastify()
  await app.register(appFirewall, { mode: 'local', localLogPath: join(tempDir(), 'e.ndjson'), cloudflareRefreshMs: 0, queueSize: 20_000 })
  t.teardown(() => app.close())
  const h = { app }
  let pending: Array<() => void> = []
  h.app.setNotFoundHandler(async (_request, reply) => {
    await new Promise<void>((resolve) => { pending.push(resolve) })
    return reply.code(404).send('nope')
  })
  const port = await listen(h.app)
  let total = 0
  // Each round: 50 clients send a probe, and hang up once every handler is
  // waiting (a client that hangs up before Node parsed its request made no
  // request at all: nothing to record).
  const batch = async (n: number): Promise<void> => {
    for (let done = 0; done < n; done += 50) {
      const sockets = Array.from({ length: 50 }, (_, i) => {
        const s = connect(port, '127.0.0.1', () => { s.write(rawGet(`/wp-admin/x${done + i}.php`)) })
        s.on('error', () => {})
        return s
      })
      await waitFor(() => pending.length === 50, 5000, 'every handler to wait')
      await Promise.all(sockets.map((s) => new Promise((resolve) => { s.once('close', resolve); s.destroy() })))
      await waitFor(() => h.app.appfirewall.stats().emitted >= total + done + 50, 5000, 'the aborted events')
      for (const release of pending) release()
      pending = []
    }
    total += n
    await h.app.appfirewall.flush(5000)
  }
  // 20,000: what V8 itself keeps moving between two measures must stay well
  // below what a leak of even 100 bytes a request would add (2 MiB); a
  // retained request context is several times that.
  const grown = await heapGrowth(batch, 1000, 20_000)
  const s = h.app.appfirewall.stats()
  t.equal(s.emitted, 21_000, 'every aborted request left its event')
  t.equal(s.sent, 21_000)
  t.ok(grown < 2 * 1024 * 1024, `heap grew ${(grown / 1024).toFixed(0)} KiB over 20,000 aborted requests`)
})
