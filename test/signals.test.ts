// Issue 11, item 5: signals only the app sees. A request that fails Fastify's
// schema validation, body parsing or authentication carries `signal` and
// `error_code` on its http_request event (never a body, message or value),
// and is counted per IP in the class of that name. A real Fastify app in
// local mode, its events read back from its file.
import { test, type Test } from 'tap'
import Fastify, { type FastifyInstance, type InjectOptions } from 'fastify'
import appFirewall from '../lib/index'
import type { AppFirewallOptions } from '../lib/types'
import { localApp, readEvents, tempDir, type LocalApp } from './fixtures'
import { join } from 'node:path'

const DAY = 86_400_000
const SECRET = 'hunter2-correct-horse'

/** An error as an auth plugin raises it (@fastify/jwt's, without installing it). */
function authError (code: string, statusCode = 401): Error {
  return Object.assign(new Error(`Authorization failed for ${SECRET}`), { code, statusCode })
}

/** The same routes on any app: with the plugin, and bare (to compare responses). */
function routes (app: FastifyInstance): void {
  app.post('/users', {
    schema: { body: { type: 'object', required: ['name'], properties: { name: { type: 'string', maxLength: 5 } } } }
  }, async () => ({ ok: true }))
  app.get('/search', {
    schema: { querystring: { type: 'object', required: ['page'], properties: { page: { type: 'integer' } } } }
  }, async () => ({ ok: true }))
  app.get('/items/:id', { schema: { params: { type: 'object', properties: { id: { type: 'integer' } } } } }, async () => ({ ok: true }))
  app.get('/needs-header', {
    schema: { headers: { type: 'object', required: ['x-api-version'], properties: { 'x-api-version': { type: 'string', enum: ['1', '2'] } } } }
  }, async () => ({ ok: true }))
  app.post('/small', { bodyLimit: 16 }, async () => ({ ok: true }))
  app.post('/attached', {
    attachValidation: true,
    schema: { body: { type: 'object', required: ['name'] } }
  }, async (request, reply) => {
    if (request.validationError !== undefined) return await reply.code(422).send({ error: 'invalid' })
    return { ok: true }
  })
  app.post('/login', async (_request, reply) => await reply.code(401).send({ error: 'wrong password' }))
  app.get('/admin', async (_request, reply) => await reply.code(403).send({ error: 'not yours' }))
  app.get('/jwt', { preHandler: async () => { throw authError('FST_JWT_NO_AUTHORIZATION_IN_HEADER') } }, async () => ({ ok: true }))
  app.get('/basic', { onRequest: (_request, _reply, done) => { done(authError('FST_BASIC_AUTH_MISSING_OR_BAD_AUTHORIZATION_HEADER')) } }, async () => ({ ok: true }))
  app.get('/custom-401', async () => { throw authError('INVALID_SESSION') })
  app.get('/long-code', async () => { throw authError('E'.repeat(300)) })
  app.get('/sentence-code', async () => { throw authError(`bad token ${SECRET}`) })
  app.get('/ok', async () => ({ ok: true }))
  app.get('/boom', async () => { throw new Error(`database down for ${SECRET}`) })
  app.get('/refused', async () => { throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) })
  app.get('/no-such-item', async (_request, reply) => await reply.code(404).send({ error: 'no such item' }))
  app.get('/teapot', async (_request, reply) => await reply.code(418).send('short and stout'))
  app.get('/throws-string', async () => { throw 'not an error' }) // eslint-disable-line no-throw-literal
}

async function build (t: Test, opts: AppFirewallOptions = {}): Promise<LocalApp> {
  const h = await localApp(t, { rateLimit: { validation: { max: 100, windowMs: DAY }, parse: { max: 100, windowMs: DAY }, auth: { max: 100, windowMs: DAY } }, ...opts })
  routes(h.app)
  return h
}

interface Call { name: string, req: InjectOptions, status: number }

const json = { 'content-type': 'application/json' }

const PARSE: Array<Call & { code: string }> = [
  { name: 'malformed JSON', req: { method: 'POST', url: '/users', headers: json, payload: `{"name":"${SECRET}",` }, status: 400, code: 'FST_ERR_CTP_INVALID_JSON_BODY' },
  { name: 'a prototype-poisoning JSON body', req: { method: 'POST', url: '/users', headers: json, payload: `{"__proto__":{"admin":"${SECRET}"}}` }, status: 400, code: 'FST_ERR_CTP_INVALID_JSON_BODY' },
  { name: 'an empty JSON body', req: { method: 'POST', url: '/users', headers: json, payload: '' }, status: 400, code: 'FST_ERR_CTP_EMPTY_JSON_BODY' },
  { name: 'an unsupported media type', req: { method: 'POST', url: '/users', headers: { 'content-type': 'application/xml' }, payload: `<name>${SECRET}</name>` }, status: 415, code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE' },
  { name: 'a malformed Content-Type', req: { method: 'POST', url: '/users', headers: { 'content-type': '/;;' }, payload: `{"name":"${SECRET}"}` }, status: 415, code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE' },
  { name: 'a body over the route\'s bodyLimit', req: { method: 'POST', url: '/small', headers: json, payload: `{"name":"${SECRET}"}` }, status: 413, code: 'FST_ERR_CTP_BODY_TOO_LARGE' },
  { name: 'a body shorter than its Content-Length', req: { method: 'POST', url: '/users', headers: { ...json, 'content-length': '64' }, payload: `{"name":"${SECRET}"}` }, status: 400, code: 'FST_ERR_CTP_INVALID_CONTENT_LENGTH' }
]

const VALIDATION: Call[] = [
  { name: 'the body', req: { method: 'POST', url: '/users', headers: json, payload: { name: SECRET } }, status: 400 },
  { name: 'the querystring', req: { url: `/search?page=${SECRET}` }, status: 400 },
  // A param is part of the path, which every event carries: not a secret.
  { name: 'the params', req: { url: '/items/first' }, status: 400 },
  { name: 'the headers', req: { url: '/needs-header', headers: { 'x-api-version': SECRET } }, status: 400 }
]

async function one (h: LocalApp, req: InjectOptions): Promise<{ status: number, line: string, event: Record<string, any> }> {
  const before = readEvents(h.file).length
  const res = await h.app.inject({ remoteAddress: '203.0.113.7', ...req })
  await h.app.appfirewall.flush(2000)
  const { readFileSync } = await import('node:fs')
  const lines = readFileSync(h.file, 'utf8').split('\n').filter((l) => l !== '')
  const line = lines[before] as string
  return { status: res.statusCode, line, event: JSON.parse(line) }
}

test('each body-parsing failure is a parse signal with Fastify\'s code, and the body never reaches the event', async (t) => {
  const h = await build(t)
  for (const c of PARSE) {
    const { status, line, event } = await one(h, c.req)
    t.equal(status, c.status, `${c.name}: answered ${c.status}`)
    t.equal(event.signal, 'parse', `${c.name}: parse signal`)
    t.equal(event.error_code, c.code, `${c.name}: ${c.code}`)
    t.notOk(line.includes(SECRET), `${c.name}: no body on the line`)
    t.notOk('classification' in event, `${c.name}: a routed request is not classified`)
  }
})

test('a schema validation failure of the body, querystring, params or headers is a validation signal', async (t) => {
  const h = await build(t)
  for (const c of VALIDATION) {
    const { status, line, event } = await one(h, c.req)
    t.equal(status, c.status, `${c.name}: answered ${c.status}`)
    t.equal(event.signal, 'validation', `${c.name}: validation signal`)
    t.equal(event.error_code, 'FST_ERR_VALIDATION', `${c.name}: Fastify's code`)
    t.notOk(line.includes(SECRET), `${c.name}: no value on the line`)
    t.notOk(line.includes('must'), `${c.name}: no validation message on the line`)
  }
})

test('a validation failure is a signal whatever status the app\'s error handler answers it with', async (t) => {
  const h = await localApp(t)
  h.app.setErrorHandler(async (error: { validation?: unknown }, _request, reply) => {
    return await reply.code(error.validation !== undefined ? 422 : 500).send({ error: 'nope' })
  })
  routes(h.app)
  const { status, event } = await one(h, VALIDATION[0]?.req as InjectOptions)
  t.equal(status, 422)
  t.equal(event.signal, 'validation')
  t.equal(event.error_code, 'FST_ERR_VALIDATION')
})

test('with attachValidation, a failed validation the handler answers with a 4xx is a validation signal; one it lets pass is none', async (t) => {
  const h = await build(t)
  const bad = await one(h, { method: 'POST', url: '/attached', headers: json, payload: { other: SECRET } })
  t.equal(bad.status, 422)
  t.equal(bad.event.signal, 'validation')
  t.equal(bad.event.error_code, 'FST_ERR_VALIDATION')
  t.notOk(bad.line.includes(SECRET))
  const good = await one(h, { method: 'POST', url: '/attached', headers: json, payload: { name: 'x' } })
  t.equal(good.status, 200)
  t.notOk('signal' in good.event)
})

test('a 401 or 403 the app answers itself is an auth signal without a code', async (t) => {
  const h = await build(t)
  const login = await one(h, { method: 'POST', url: '/login', headers: json, payload: { user: 'a', password: SECRET } })
  t.equal(login.status, 401)
  t.equal(login.event.signal, 'auth')
  t.notOk('error_code' in login.event)
  t.notOk(login.line.includes(SECRET))
  const admin = await one(h, { url: '/admin' })
  t.equal(admin.status, 403)
  t.equal(admin.event.signal, 'auth')
  t.notOk('error_code' in admin.event)
})

test('an auth plugin\'s error is an auth signal with its code, from a preHandler or an onRequest hook', async (t) => {
  const h = await build(t)
  const jwt = await one(h, { url: '/jwt' })
  t.equal(jwt.status, 401)
  t.equal(jwt.event.signal, 'auth')
  t.equal(jwt.event.error_code, 'FST_JWT_NO_AUTHORIZATION_IN_HEADER')
  t.notOk(jwt.line.includes(SECRET), 'no error message on the line')
  const basic = await one(h, { url: '/basic' })
  t.equal(basic.status, 401)
  t.equal(basic.event.signal, 'auth')
  t.equal(basic.event.error_code, 'FST_BASIC_AUTH_MISSING_OR_BAD_AUTHORIZATION_HEADER')
})

test('an auth plugin\'s code is an auth signal even when the app\'s error handler answers it otherwise', async (t) => {
  const h = await localApp(t)
  h.app.setErrorHandler(async (_error, _request, reply) => await reply.code(302).header('location', '/sign-in').send())
  routes(h.app)
  const { status, event } = await one(h, { url: '/jwt' })
  t.equal(status, 302)
  t.equal(event.signal, 'auth')
  t.equal(event.error_code, 'FST_JWT_NO_AUTHORIZATION_IN_HEADER')
})

test('an app\'s own 401 error keeps its code only while it is code-shaped, clipped, and only if the answer is a 401', async (t) => {
  const h = await build(t)
  const custom = await one(h, { url: '/custom-401' })
  t.equal(custom.status, 401)
  t.equal(custom.event.signal, 'auth')
  t.equal(custom.event.error_code, 'INVALID_SESSION')
  const long = await one(h, { url: '/long-code' })
  t.equal(long.event.signal, 'auth')
  t.equal(long.event.error_code, 'E'.repeat(64), 'clipped to 64 characters')
  const sentence = await one(h, { url: '/sentence-code' })
  t.equal(sentence.event.signal, 'auth')
  t.notOk('error_code' in sentence.event, 'a code with spaces is not a code')
  t.notOk(sentence.line.includes(SECRET))

  const other = await localApp(t)
  other.app.setErrorHandler(async (_error, _request, reply) => await reply.code(500).send({ error: 'oops' }))
  routes(other.app)
  const hidden = await one(other, { url: '/custom-401' })
  t.equal(hidden.status, 500)
  t.notOk('signal' in hidden.event, 'an unknown code answered 500 is no auth signal')
  t.notOk('error_code' in hidden.event, 'and leaves no code')
})

test('no signal on an ordinary 200, 500, 404 or other 4xx, nor on an error with an unknown code', async (t) => {
  const h = await build(t)
  const calls: Array<[string, number]> = [['/ok', 200], ['/boom', 500], ['/refused', 500], ['/no-such-item', 404], ['/no/route/here', 404], ['/.env', 404], ['/teapot', 418], ['/throws-string', 500]]
  for (const [url, expected] of calls) {
    const { status, line, event } = await one(h, { url })
    t.equal(status, expected, url)
    t.notOk('signal' in event, `${url}: no signal`)
    t.notOk('error_code' in event, `${url}: no error_code`)
    t.notOk(line.includes(SECRET), `${url}: no error message`)
  }
})

test('a 401 on a path no route matches is a 404 probe, not an auth signal', async (t) => {
  const h = await build(t)
  // Authentication in front of everything, the not-found handler included.
  h.app.addHook('onRequest', async (request) => {
    if (request.headers.authorization === undefined) throw authError('FST_JWT_NO_AUTHORIZATION_IN_HEADER')
  })
  const probe = await one(h, { url: '/.git/config' })
  t.equal(probe.status, 401)
  t.notOk('signal' in probe.event)
  t.notOk('error_code' in probe.event)
  t.equal(probe.event.classification, 'scanner', 'classified as the probe it is')
  const page = await one(h, { url: '/ok' })
  t.equal(page.status, 401)
  t.equal(page.event.signal, 'auth', 'the same hook on a route is an auth signal')
  const plain404 = await one(h, { url: '/.env', headers: { authorization: 'Bearer x' } })
  t.equal(plain404.status, 404)
  t.notOk('signal' in plain404.event)
})

test('a malformed body on a path no route matches raises no parse signal', async (t) => {
  const h = await build(t)
  const { status, event } = await one(h, { method: 'POST', url: '/no/such/upload', headers: json, payload: `{"name":"${SECRET}",` })
  t.ok(status === 400 || status === 404, `answered ${status}`)
  t.notOk('signal' in event)
})

test('credential guessing: 401s from one address pass the auth limit and mark it; another address is not marked', async (t) => {
  const h = await build(t, { enforceScope: 'all', rateLimit: { auth: { max: 3, windowMs: DAY } } })
  for (let i = 0; i < 5; i++) await h.app.inject({ method: 'POST', url: '/login', remoteAddress: '198.51.100.20', headers: json, payload: { password: `guess${i}` } })
  await h.app.inject({ method: 'POST', url: '/login', remoteAddress: '198.51.100.21', headers: json, payload: { password: 'x' } })
  const events = await h.events()
  t.same(events.filter((e) => e.ip === '198.51.100.20').map((e) => e.would_block === true), [false, false, false, true, true])
  t.same(events.filter((e) => e.ip === '198.51.100.21').map((e) => e.would_block === true), [false])
})

test('with enforcement, a client over the auth limit gets our 429, which carries no signal of its own', async (t) => {
  const h = await build(t, { enforceRateLimit: true, enforceScope: 'all', rateLimit: { auth: { max: 1, windowMs: DAY } } })
  const statuses: number[] = []
  for (let i = 0; i < 4; i++) statuses.push((await h.app.inject({ method: 'POST', url: '/login', remoteAddress: '198.51.100.30', headers: json, payload: { password: `guess${i}` } })).statusCode)
  t.same(statuses, [401, 401, 429, 429])
  const events = await h.events()
  const refused = events.filter((e) => e.status === 429)
  t.equal(refused.length, 2)
  for (const e of refused) {
    t.equal(e.blocked, true)
    t.notOk('signal' in e, 'our own refusal is not an auth signal')
  }
})

test('auth failures count only when credentials were tried: a logged-out page polling, or a GET of something forbidden, never adds up', async (t) => {
  const h = await build(t, { enforceScope: 'all', rateLimit: { auth: { max: 2, windowMs: DAY } } })
  h.app.get('/api/me', async (request, reply) => await reply.code(401).send({ error: 'not signed in' }))
  const ip = '198.51.100.31'
  for (let i = 0; i < 5; i++) await h.app.inject({ url: '/api/me', remoteAddress: ip })
  for (let i = 0; i < 5; i++) await h.app.inject({ url: '/admin', remoteAddress: ip, headers: { authorization: 'Bearer a-valid-token' } })
  let events = (await h.events()).filter((e) => e.ip === ip)
  t.equal(events.length, 10)
  t.ok(events.every((e) => e.signal === 'auth'), 'each is still marked on its event')
  t.ok(events.every((e) => e.would_block !== true), 'none is counted toward the auth limit')
  // A token tried and refused (401 with Authorization) counts.
  for (let i = 0; i < 3; i++) await h.app.inject({ url: '/api/me', remoteAddress: ip, headers: { authorization: `Bearer guess${i}` } })
  events = (await h.events()).filter((e) => e.ip === ip)
  t.same(events.slice(10).map((e) => e.would_block === true), [false, false, true])
})

test('auth counts distinct credentials: a guessed API key each time, the same expired token once, a logged-out POST /graphql never', async (t) => {
  const h = await build(t, { enforceScope: 'all', rateLimit: { auth: { max: 3, windowMs: DAY } } })
  h.app.get('/api/data', async (_request, reply) => await reply.code(401).send({ error: 'bad key' }))
  h.app.post('/graphql', async (_request, reply) => await reply.code(401).send({ errors: [{ message: 'not signed in' }] }))
  const marks = async (ip: string): Promise<boolean[]> => (await h.events()).filter((e) => e.ip === ip).map((e) => e.would_block === true)
  for (let i = 0; i < 5; i++) await h.app.inject({ url: '/api/data', remoteAddress: '198.51.100.60', headers: { 'x-api-key': `k${i}` } })
  t.same(await marks('198.51.100.60'), [false, false, false, true, true], 'five keys tried: the fourth passes max 3')
  for (let i = 0; i < 8; i++) await h.app.inject({ url: '/api/data', remoteAddress: '198.51.100.61', headers: { authorization: 'Bearer expired' } })
  t.same(await marks('198.51.100.61'), Array(8).fill(false), 'one token, polled')
  for (let i = 0; i < 8; i++) await h.app.inject({ method: 'POST', url: '/graphql', remoteAddress: '198.51.100.62', headers: json, payload: { query: '{ me { id } }' } })
  t.same(await marks('198.51.100.62'), Array(8).fill(false), 'a logged-out page polling')
})

test('with the default scope, a client over the auth limit is marked on its 404s, not on the login route\'s answers', async (t) => {
  const h = await build(t, { rateLimit: { auth: { max: 1, windowMs: DAY } } })
  for (let i = 0; i < 3; i++) await h.app.inject({ method: 'POST', url: '/login', remoteAddress: '198.51.100.70', headers: json, payload: { password: `guess${i}` } })
  await h.app.inject({ url: '/no/such/page', remoteAddress: '198.51.100.70' })
  const events = (await h.events()).filter((e) => e.ip === '198.51.100.70')
  t.same(events.map((e) => [e.status, e.would_block === true]), [[401, false], [401, false], [401, false], [404, true]])
})

test('auth: bodies sent to a login path count each, whatever fixed credential header rides along; trailing slashes and ;params too', async (t) => {
  const h = await build(t, { enforceScope: 'all', rateLimit: { auth: { max: 3, windowMs: DAY } } })
  h.app.post('/api/v2/auth/login/', async (_request, reply) => await reply.code(401).send({ error: 'no' }))
  const ip = '198.51.100.80'
  for (let i = 0; i < 3; i++) await h.app.inject({ method: 'POST', url: '/login', remoteAddress: ip, headers: { ...json, 'x-api-key': 'public-app-key' }, payload: { password: `guess${i}` } })
  await h.app.inject({ method: 'POST', url: '/api/v2/auth/login/', remoteAddress: ip, headers: json, payload: { password: 'x' } })
  const events = (await h.events()).filter((e) => e.ip === ip)
  t.same(events.map((e) => e.would_block === true), [false, false, false, true])
})

test('a skipped request leaves no event, signal or not', async (t) => {
  const h = await build(t, { skip: (request) => request.url === '/login' })
  await h.app.inject({ method: 'POST', url: '/login' })
  await h.app.inject({ url: '/admin' })
  const events = await h.events()
  t.same(events.map((e) => e.path), ['/admin'])
})

test('responses are byte for byte what the app answers without the plugin', async (t) => {
  const bare = Fastify()
  routes(bare)
  t.teardown(() => bare.close())
  const file = join(tempDir(), 'events.ndjson')
  const withPlugin = Fastify()
  await withPlugin.register(appFirewall, { mode: 'local', localLogPath: file, cloudflareRefreshMs: 0 })
  routes(withPlugin)
  t.teardown(() => withPlugin.close())
  const calls: InjectOptions[] = [...PARSE.map((c) => c.req), ...VALIDATION.map((c) => c.req),
    { method: 'POST', url: '/login' }, { url: '/admin' }, { url: '/jwt' }, { url: '/basic' }, { url: '/custom-401' }, { url: '/sentence-code' },
    { url: '/ok' }, { url: '/boom' }, { url: '/throws-string' }]
  for (const c of calls) {
    const a = await bare.inject(c)
    const b = await withPlugin.inject(c)
    const label = `${c.method ?? 'GET'} ${String(c.url)}`
    t.equal(b.statusCode, a.statusCode, `${label}: status`)
    t.equal(b.body, a.body, `${label}: body`)
    const { date: _a, ...headersA } = a.headers
    const { date: _b, ...headersB } = b.headers
    t.same(headersB, headersA, `${label}: headers`)
  }
  await withPlugin.appfirewall.flush(2000)
  t.equal(readEvents(file).length, calls.length, 'one event each')
})

test('an auth hook that runs before the plugin\'s own onRequest still marks its request', async (t) => {
  const file = join(tempDir(), 'events.ndjson')
  const app = Fastify()
  app.addHook('onRequest', async (request) => {
    if (request.headers.authorization === undefined) throw authError('FST_BEARER_AUTH_MISSING_AUTHORIZATION_HEADER')
  })
  await app.register(appFirewall, { mode: 'local', localLogPath: file, cloudflareRefreshMs: 0 })
  app.get('/ok', async () => ({ ok: true }))
  t.teardown(() => app.close())
  t.equal((await app.inject({ url: '/ok', remoteAddress: '203.0.113.8' })).statusCode, 401)
  t.equal((await app.inject({ url: '/ok', headers: { authorization: 'Bearer k' } })).statusCode, 200)
  await app.appfirewall.flush(2000)
  const [refused, served] = readEvents(file)
  t.equal(refused?.ip, '203.0.113.8')
  t.equal(refused?.signal, 'auth')
  t.equal(refused?.error_code, 'FST_BEARER_AUTH_MISSING_AUTHORIZATION_HEADER')
  t.notOk('signal' in (served as object))
})
