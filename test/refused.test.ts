// Fastify answers a malformed percent-encoding with 400 before any hook runs.
// Over real HTTP, the plugin still records and classifies those requests.
import { test } from 'tap'
import Fastify from 'fastify'
import { request as httpRequest } from 'node:http'
import { join } from 'node:path'
import appFirewall from '../lib/index'
import { readEvents, tempDir } from './fixtures'

function get (port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, agent: false, headers: { 'user-agent': 'probe/1.0' } }, (res) => {
      res.resume()
      res.on('end', () => resolve(res.statusCode ?? 0))
    })
    req.on('error', reject)
    req.end()
  })
}

test('malformed percent-encodings answered 400 by the router are still recorded and classified', async (t) => {
  const file = join(tempDir(), 'e.ndjson')
  const app = Fastify()
  await app.register(appFirewall, { mode: 'local', localLogPath: file, cloudflareRefreshMs: 0 })
  app.get('/', async () => 'ok')
  app.get('/files/:name', async (req) => (req.params as { name: string }).name)
  await app.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(() => app.close())
  const port = (app.server.address() as { port: number }).port

  t.equal(await get(port, '/%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd'), 400)
  t.equal(await get(port, '/%%%'), 400)
  t.equal(await get(port, '/files/a%20b'), 200, 'a valid encoding is routed as usual')
  t.equal(await get(port, '/missing%2Fthing'), 404)
  await app.appfirewall.flush(2000)
  const events = readEvents(file)
  t.equal(events.length, 4, 'one event per request: none lost, none doubled')
  const [overlong, garbage, ok, miss] = events
  t.equal(overlong?.status, 400)
  t.equal(overlong?.path, '/%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd')
  t.equal(overlong?.classification, 'scanner')
  t.type(overlong?.rule, 'string')
  t.equal(overlong?.ip, '127.0.0.1')
  t.equal(overlong?.ua, 'probe/1.0')
  t.equal(garbage?.status, 400)
  t.type(garbage?.classification, 'string')
  t.equal(ok?.status, 200)
  t.notOk('classification' in (ok as object))
  t.equal(miss?.status, 404)
  t.equal(miss?.classification, 'unknown')
})

test('the raw listener is removed on close', async (t) => {
  const app = Fastify()
  const before = app.server.listenerCount('request')
  await app.register(appFirewall, { mode: 'local', localLogPath: join(tempDir(), 'e.ndjson'), cloudflareRefreshMs: 0 })
  await app.ready()
  t.equal(app.server.listenerCount('request'), before + 1)
  await app.close()
  t.equal(app.server.listenerCount('request'), before)
})
