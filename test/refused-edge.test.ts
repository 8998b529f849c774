// Requests that end at the socket, before or beside Fastify's hooks: what
// Node's parser refuses (in one segment, split, pipelined, inside a body, on a
// timeout), what the router answers itself (414), what Node drops past
// maxRequestsPerSocket (503) and uploads the client abandons (HTTP/1 and
// HTTP/2). Each leaves exactly one event, read from the raw head only where
// that head is known to be whole.
import { test, type Test } from 'tap'
import Fastify from 'fastify'
import type { FastifyInstance, FastifyServerOptions } from 'fastify'
import http2 from 'node:http2'
import { connect, type Socket } from 'node:net'
import { join } from 'node:path'
import appFirewall from '../lib/index'
import type { AppFirewallOptions, LimitedInfo } from '../lib/types'
import { httpGet, listen, rawGet, rawRequest, readEvents, tempDir, waitFor, within } from './fixtures'

interface Served {
  app: FastifyInstance
  port: number
  limited: LimitedInfo[]
  /** Flushes (up to 2 s), then reads the events written. */
  events: () => Promise<Array<Record<string, any>>>
}

/** A listening app with the plugin in local mode; `fastifyOpts` are the server's, `setup` adds routes and hooks before listen. */
async function serve (t: Test, fastifyOpts: FastifyServerOptions, opts: AppFirewallOptions, setup: (app: FastifyInstance) => void = () => {}): Promise<Served> {
  const file = join(tempDir(), 'events.ndjson')
  const limited: LimitedInfo[] = []
  const app = Fastify(fastifyOpts)
  t.teardown(() => app.close())
  await app.register(appFirewall, {
    mode: 'local',
    localLogPath: file,
    cloudflareRefreshMs: 0,
    onLimited: (_ip, info) => { limited.push(info) },
    ...opts
  })
  setup(app)
  const port = await listen(app)
  return {
    app,
    port,
    limited,
    events: async () => {
      await app.appfirewall.flush(2000)
      return readEvents(file)
    }
  }
}

/** The server side of every connection, in the order they arrived. */
function serverSockets (app: FastifyInstance): Socket[] {
  const sockets: Socket[] = []
  app.server.on('connection', (s: Socket) => { sockets.push(s) })
  return sockets
}

/**
 * Sends `first`, waits until the server has read all of it (so that it is a
 * TCP segment of its own), then sends `second`; resolves with everything the
 * server answered once it closes (bounded).
 */
async function sendInTwo (port: number, accepted: Socket[], first: string, second: string): Promise<string> {
  const before = accepted.length
  const chunks: Buffer[] = []
  const socket = connect(port, '127.0.0.1')
  socket.on('error', () => {})
  socket.on('data', (d) => { chunks.push(d) })
  const closed = new Promise<void>((resolve) => { socket.once('close', () => { resolve() }) })
  try {
    await within(new Promise<void>((resolve) => { socket.once('connect', () => { resolve() }) }), 2000, 'connection')
    socket.write(first)
    await waitFor(() => accepted.length > before && (accepted[before]?.bytesRead ?? 0) >= first.length, 2000, 'the server to read the first segment')
    socket.write(second)
    await within(closed, 3000, 'the server to close the connection')
  } finally {
    socket.destroy()
  }
  return Buffer.concat(chunks).toString('latin1')
}

/** Opens a connection and writes `text`; the caller ends it. */
async function open (port: number, text: string): Promise<Socket> {
  const socket = connect(port, '127.0.0.1')
  socket.on('error', () => {})
  await within(new Promise<void>((resolve) => { socket.once('connect', () => { resolve() }) }), 2000, 'connection')
  socket.write(text)
  return socket
}

const BAD_HEADER = 'Bad Header: x\r\n'

test('a request the parser refuses in one segment leaves one event read from its raw head, a leading CRLF skipped', async (t) => {
  const h = await serve(t, {}, { rateLimit: { scanner: { max: 1, windowMs: 60_000 } } }, (app) => { app.get('/', async () => 'ok') })
  // A control byte in a header value; the headers before it are read, nothing after it is believed.
  const ctl = await rawRequest(h.port, 'GET /.env HTTP/1.1\r\nHost: x\r\nUser-Agent: sqlmap/1.8\r\nX-Bad: a\x01b\r\nReferer: http://after.example/\r\n\r\n')
  t.equal(ctl.status, 400)
  const crlf = await rawRequest(h.port, `\r\nGET /wp-login.php?x=1 HTTP/1.1\r\nHost: x\r\n${BAD_HEADER}\r\n`)
  t.equal(crlf.status, 400, 'a leading empty line is skipped by Node too: the request is refused for its header')
  const events = await h.events()
  t.equal(events.length, 2, 'one event per refused request, none doubled')
  t.match(events[0], { type: 'http_request', status: 400, method: 'GET', path: '/.env', ip: '127.0.0.1', classification: 'scanner', rule: 'dotfile', ua: 'sqlmap/1.8', ua_class: 'sqlmap' })
  t.notOk('referer' in (events[0] as object), 'a header after the refused line is not believed')
  t.notOk(events[0]?.would_block, 'the first probe is within max: 1')
  t.match(events[1], { status: 400, method: 'GET', path: '/wp-login.php', classification: 'scanner' })
  t.equal(events[1]?.would_block, true, 'counted like any probe: the second passes max: 1')
  t.equal(h.limited.length, 1)
  t.equal(h.app.appfirewall.stats().emitted, 2)
})

test('an SSH banner leaves one event: its first word as method, no path, classified and counted as unknown', async (t) => {
  const h = await serve(t, {}, { rateLimit: { unknown: { max: 1, windowMs: 60_000 } } })
  for (let i = 0; i < 2; i++) {
    const res = await rawRequest(h.port, 'SSH-2.0-OpenSSH_9.6\r\n')
    t.equal(res.status, 400, 'Fastify answers the banner 400')
  }
  const events = await h.events()
  t.equal(events.length, 2)
  for (const e of events) {
    t.match(e, { type: 'http_request', status: 400, method: 'SSH-2.0-OpenSSH_9.6', path: '', ip: '127.0.0.1', classification: 'unknown' })
    t.notOk('rule' in (e as object))
  }
  t.notOk(events[0]?.would_block)
  t.equal(events[1]?.would_block, true, 'the second banner passes the unknown limit of 1')
  t.equal(h.limited.length, 1)
  t.equal(h.limited[0]?.classification, 'unknown')
})

test('a refused head split over two segments, or behind a pipelined request, is not read: a peer-only event, not counted', async (t) => {
  let accepted: Socket[] = []
  const h = await serve(t, {}, { rateLimit: { scanner: { max: 1, windowMs: 60_000 } } }, (app) => {
    accepted = serverSockets(app)
    app.get('/ok', async () => 'ok')
  })
  for (let i = 0; i < 2; i++) {
    const answer = await sendInTwo(h.port, accepted, 'GET /.env HTTP/1.1\r\nHost: x\r\nUser-Agent: sqlmap/1.8\r\n', `${BAD_HEADER}\r\n`)
    t.match(answer, /^HTTP\/1\.1 400 /, 'the split request is refused')
  }
  const pipelined = await rawRequest(h.port, `GET /ok HTTP/1.1\r\nHost: x\r\n\r\nGET /.git/config HTTP/1.1\r\nHost: x\r\n${BAD_HEADER}\r\n`)
  t.match(pipelined.response, /HTTP\/1\.1 400 /, 'the pipelined request is refused')
  // Read whole, in one segment: counted. Had the three before been counted, this one would pass max: 1.
  t.equal((await rawRequest(h.port, `GET /phpmyadmin/ HTTP/1.1\r\nHost: x\r\n${BAD_HEADER}\r\n`)).status, 400)
  t.equal((await rawRequest(h.port, `GET /wp-admin/ HTTP/1.1\r\nHost: x\r\n${BAD_HEADER}\r\n`)).status, 400)

  const events = await h.events()
  const refused = events.filter((e) => e.status === 400)
  t.equal(refused.length, 5, 'one event per refused request')
  const peerOnly = refused.filter((e) => e.path === '')
  t.equal(peerOnly.length, 3, 'the split and the pipelined ones are not read as paths')
  for (const e of peerOnly) {
    t.match(e, { type: 'http_request', method: '', path: '', ip: '127.0.0.1' })
    t.notOk('classification' in (e as object), 'not classified')
    t.notOk('ua' in (e as object), 'nothing of the head is believed')
    t.notOk(e.would_block, 'not counted')
  }
  t.notOk(events.some((e) => e.path === '/.env' || e.path === '/.git/config'), 'no event reads a path from a partial packet')
  t.match(refused[3], { path: '/phpmyadmin/', classification: 'scanner' })
  t.notOk(refused[3]?.would_block, 'the first counted probe is within max: 1: nothing before it was counted')
  t.match(refused[4], { path: '/wp-admin/', would_block: true })
  t.equal(h.limited.length, 1)
  const first = events.filter((e) => e.path === '/ok')
  t.equal(first.length, 1, 'the valid request before the refused one leaves its own event, once')
  t.equal(events.length, 6)
})

test('a body the parser refuses ends its own request: one event, with the status the client is told', async (t) => {
  let reached = 0
  const h = await serve(t, {}, {}, (app) => {
    app.addHook('onRequest', async () => { reached++ })
    app.post('/upload', async () => 'stored')
  })
  const head = (path: string): string => `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n`
  // The head accepted and handed to Fastify first, the malformed chunk size later.
  const socket = await open(h.port, head('/upload'))
  const closed = new Promise<void>((resolve) => { socket.once('close', () => { resolve() }) })
  let answer = ''
  socket.on('data', (d) => { answer += d.toString('latin1') })
  try {
    await waitFor(() => reached === 1, 2000, 'the request to reach Fastify')
    socket.write('5\r\nhello\r\nzz\r\n')
    await within(closed, 3000, 'the server to close the connection')
  } finally {
    socket.destroy()
  }
  t.match(answer, /^HTTP\/1\.1 400 /)
  // In one segment, to a path no route serves: the request is still classified.
  const probe = await rawRequest(h.port, head('/.env') + 'zz\r\n')
  t.equal(probe.status, 400)
  const events = await h.events()
  t.equal(events.length, 2, 'one event per request: clientError adds none of its own')
  t.match(events[0], { type: 'http_request', method: 'POST', path: '/upload', status: 400, ip: '127.0.0.1' })
  t.notOk('classification' in (events[0] as object), 'a matched route is no 404')
  t.match(events[1], { method: 'POST', path: '/.env', status: 400, classification: 'scanner' })
  for (const e of events) t.notOk(e.aborted, 'refused by the server, not abandoned by the client')
})

test('a client too slow for requestTimeout leaves an event with status 408, for a slow head and for a slow body', async (t) => {
  const h = await serve(t, { requestTimeout: 300 }, {}, (app) => {
    // Node checks the deadlines every connectionsCheckingInterval (30 s by default; read on 'listening'),
    // and Node 20 holds a head-complete request with its body still coming to headersTimeout.
    ;(app.server as unknown as { connectionsCheckingInterval: number }).connectionsCheckingInterval = 50
    app.server.headersTimeout = 300
    app.post('/upload', async () => 'stored')
  })
  const slowHead = await rawRequest(h.port, 'GET /.env HTTP/1.1\r\nHost: x\r\n', { timeoutMs: 3000 })
  t.equal(slowHead.status, 408)
  const slowBody = await rawRequest(h.port, 'POST /upload HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\nabc', { timeoutMs: 3000 })
  t.equal(slowBody.status, 408)
  const events = await h.events()
  t.equal(events.length, 2, 'one event each')
  t.match(events[0], { type: 'http_request', status: 408, ip: '127.0.0.1', method: '', path: '' })
  t.notOk('classification' in (events[0] as object), 'a timed-out head was never handed over whole: peer and status only')
  t.match(events[1], { status: 408, method: 'POST', path: '/upload' })
  t.notOk(events[1]?.aborted, 'the server ended it, not the client')
})

test('a parameter past maxParamLength (the router\'s 414) leaves one event, counted; a long 404 path is not doubled', async (t) => {
  const h = await serve(t, {}, { rateLimit: { unknown: { max: 1, windowMs: 60_000 } } }, (app) => {
    app.get('/files/:name', async () => 'file')
  })
  const long = 'a'.repeat(150) // the default maxParamLength is 100
  t.equal((await httpGet(h.port, `/files/${long}?v=1`, { 'user-agent': 'probe/1.0' })).status, 414)
  t.equal((await httpGet(h.port, `/files/b${long}`)).status, 414)
  t.equal((await httpGet(h.port, `/nothing/${long}`)).status, 404, 'a long path no route matches is an ordinary 404')
  t.equal((await httpGet(h.port, '/files/short')).status, 200)
  const events = await h.events()
  t.equal(events.length, 4, 'one event per request')
  t.match(events[0], { type: 'http_request', status: 414, method: 'GET', path: `/files/${long}`, ip: '127.0.0.1', ua: 'probe/1.0', classification: 'unknown' })
  t.notOk(events[0]?.would_block)
  t.match(events[1], { status: 414, path: `/files/b${long}`, would_block: true })
  t.match(events[2], { status: 404, path: `/nothing/${long}`, classification: 'unknown', would_block: true })
  t.match(events[3], { status: 200, path: '/files/short' })
  t.equal(h.limited.length, 1)
  t.equal(h.app.appfirewall.stats().emitted, 4)
})

test('a maxParamLength set through routerOptions (Fastify 5) is the one whose 414s are recorded', async (t) => {
  const h = await serve(t, { routerOptions: { maxParamLength: 20 } }, {}, (app) => {
    app.get('/files/:name', async () => 'file')
  })
  const long = 'a'.repeat(50) // past 20, within the old top-level default of 100
  t.equal((await httpGet(h.port, `/files/${long}`)).status, 414)
  const events = await h.events()
  t.equal(events.length, 1, 'the 414 left its event')
  t.match(events[0], { type: 'http_request', status: 414, path: `/files/${long}` })
})

test('a request Node drops past maxRequestsPerSocket (503) leaves an event, classified and counted', async (t) => {
  const h = await serve(t, { maxRequestsPerSocket: 1 }, { rateLimit: { scanner: { max: 1, windowMs: 60_000 } } }, (app) => {
    app.get('/ok', async () => 'ok')
  })
  for (const probe of ['/.env', '/wp-login.php']) {
    const res = await rawRequest(h.port, `GET /ok HTTP/1.1\r\nHost: x\r\n\r\n${rawGet(probe, { 'user-agent': 'sqlmap/1.8' })}`)
    t.equal(res.status, 200, 'the first request on the connection is served')
    t.match(res.response, /HTTP\/1\.1 503 /, 'the second is dropped by Node')
  }
  const events = await h.events()
  t.equal(events.length, 4, 'one event per request')
  t.equal(events.filter((e) => e.path === '/ok' && e.status === 200).length, 2)
  const dropped = events.filter((e) => e.status === 503)
  t.equal(dropped.length, 2)
  t.match(dropped[0], { type: 'http_request', method: 'GET', path: '/.env', ip: '127.0.0.1', classification: 'scanner', ua_class: 'sqlmap' })
  t.notOk(dropped[0]?.would_block)
  t.match(dropped[1], { path: '/wp-login.php', classification: 'scanner', would_block: true })
  t.equal(h.limited.length, 1)
})

// A reset, and a close of its side (a FIN): Node reads the FIN mid-body as a
// parser error (HPE_INVALID_EOF_STATE), yet the client went away: 499, not 400.
for (const [how, close] of [['resets the connection', (s: Socket) => { s.resetAndDestroy() }], ['closes its side (a FIN)', (s: Socket) => { s.destroy() }]] as const) {
  test(`an HTTP/1 client that ${how} mid-body leaves one event with status 499`, async (t) => {
    let reached = 0
    const h = await serve(t, {}, {}, (app) => {
      app.addHook('onRequest', async () => { reached++ })
      app.post('/upload', async () => 'stored')
    })
    const socket = await open(h.port, 'POST /upload HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\n0123456789')
    try {
      await waitFor(() => reached === 1, 2000, 'the request to reach Fastify')
    } finally {
      close(socket)
    }
    await waitFor(() => h.app.appfirewall.stats().emitted === 1, 2000, 'the event')
    const events = await h.events()
    t.equal(events.length, 1)
    t.match(events[0], { type: 'http_request', method: 'POST', path: '/upload', status: 499, aborted: true, ip: '127.0.0.1' })
  })
}

test('an HTTP/2 stream cancelled mid-upload leaves one event with status 499', async (t) => {
  const file = join(tempDir(), 'events.ndjson')
  const app = Fastify({ http2: true })
  t.teardown(() => app.close())
  await app.register(appFirewall, { mode: 'local', localLogPath: file, cloudflareRefreshMs: 0 })
  let reached = 0
  let handled = 0
  app.addHook('onRequest', async () => { reached++ })
  app.post('/upload', async () => {
    handled++
    return 'stored'
  })
  const port = await listen(app)
  const session = http2.connect(`http://127.0.0.1:${port}`)
  session.on('error', () => {})
  try {
    const stream = session.request({ ':method': 'POST', ':path': '/upload', 'content-type': 'text/plain', 'user-agent': 'h2upload' })
    stream.on('error', () => {})
    const closed = new Promise<void>((resolve) => { stream.once('close', () => { resolve() }) })
    stream.write('0123456789')
    await waitFor(() => reached === 1, 2000, 'the request to reach Fastify')
    // RST_STREAM (CANCEL) without END_STREAM: the upload is abandoned.
    stream.destroy()
    await within(closed, 2000, 'the stream to close')
    await waitFor(() => app.appfirewall.stats().emitted === 1, 2000, 'the event')
  } finally {
    session.destroy()
  }
  await app.appfirewall.flush(2000)
  const events = readEvents(file)
  t.equal(events.length, 1, 'one event, whether the handler still ran or not')
  t.match(events[0], { type: 'http_request', method: 'POST', path: '/upload', status: 499, aborted: true, ip: '127.0.0.1', ua: 'h2upload' })
  t.ok(handled <= 1)
})

test('a CONNECT nobody serves (an open-proxy probe) leaves one event, classified a certain probe, and its socket is closed unanswered as before', async (t) => {
  const h = await serve(t, {}, { rateLimit: { 'scanner-certain': { max: 0, windowMs: 60_000 } } })
  const res = await rawRequest(h.port, 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n')
  t.equal(res.response, '', 'no answer, as Node gives when nobody listens for CONNECT')
  const events = await h.events()
  t.equal(events.length, 1)
  t.match(events[0], { type: 'http_request', method: 'CONNECT', path: 'example.com:443', status: 444, classification: 'scanner', rule: 'open-proxy', certainty: 'certain', would_block: true, ip: '127.0.0.1' })
  t.equal(h.limited[0]?.classification, 'scanner-certain')
})

test('an app that serves CONNECT itself keeps its answer and its socket; the plugin records nothing of it', async (t) => {
  const h = await serve(t, {}, {}, (app) => {
    app.server.on('connect', (_req, socket: Socket) => { socket.end('HTTP/1.1 200 Connection Established\r\n\r\n') })
  })
  const res = await rawRequest(h.port, 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n')
  t.equal(res.status, 200, 'the app\'s own answer')
  t.same(await h.events(), [])
})
