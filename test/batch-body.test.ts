// The bytes of a batch (ship: the gzipped POST body; local: the appended
// text) are each line in UTF-8 followed by a newline, whatever the lines hold:
// batches that start with ASCII and end with text of two, three and four
// UTF-8 bytes per character. (Written for a line-by-line writer into a
// growing buffer, which measured slower than the join and was dropped; the
// behaviour it pinned down holds for any way of building the body.)
import t from 'tap'
import type { Test } from 'tap'
import Fastify from 'fastify'
import type { FastifyInstance } from 'fastify'
import { readFileSync } from 'node:fs'
import appFirewall from '../lib/index'
import { utf8Bytes } from '../lib/ship/http-exporter'
import { localApp, startIngest } from './fixtures'

const TEXTS = ['plain ascii', 'é'.repeat(300), '€'.repeat(500), '😀'.repeat(400), 'mixé€😀'.repeat(200), '\u0000"\\ control']

/** Records one custom event per text, in order, on a request to `/`. */
function routes (app: FastifyInstance): void {
  app.get('/', async (request) => {
    for (let i = 0; i < 40; i++) request.appfirewall.record('ascii.' + i, { n: i })
    for (const text of TEXTS) request.appfirewall.record('text', { text })
    return 'ok'
  })
}

function customTexts (lines: string[]): string[] {
  return lines.map((l) => JSON.parse(l)).filter((e) => e.type === 'custom' && e.name === 'text').map((e) => e.fields.text)
}

t.test('ship: the gunzipped body is every line in UTF-8, each followed by a newline', async (t: Test) => {
  const ingest = await startIngest()
  t.teardown(() => ingest.close())
  const app = Fastify()
  await app.register(appFirewall, { mode: 'ship', apiKey: 'k', endpoint: ingest.url, cloudflareRefreshMs: 0, batchSize: 1000 })
  routes(app)
  t.teardown(() => app.close())
  const res = await app.inject('/')
  t.equal(res.statusCode, 200)
  t.equal(await app.appfirewall.flush(5000), true)
  t.equal(ingest.accepted().length, 1, 'one batch')
  const req = ingest.accepted()[0]!
  t.equal(req.decodeError, undefined)
  t.equal(req.endsWithNewline, true)
  t.equal(req.lines.length, 40 + TEXTS.length + 1, 'every custom event and the http_request')
  t.same(customTexts(req.lines), TEXTS, 'every text intact, in order')
})

t.test('local: the appended text is the same lines, UTF-8, newline-terminated', async (t: Test) => {
  const { app, file } = await localApp(t, { batchSize: 1000 })
  routes(app)
  await app.inject('/')
  t.equal(await app.appfirewall.flush(5000), true)
  const text = readFileSync(file, 'utf8')
  t.ok(text.endsWith('\n'))
  const lines = text.slice(0, -1).split('\n')
  t.equal(lines.length, 40 + TEXTS.length + 1)
  t.same(customTexts(lines), TEXTS)
  t.notOk(text.includes('\ufffd'), 'valid UTF-8: no character was replaced')
})

t.test('the batch text is written as UTF-8 in one pass, wherever the room first given runs out', async (t: Test) => {
  // The room first given is length + length/8 + 16 bytes. An ASCII prefix of
  // p characters, then 200 characters of one wide kind, runs out of it with
  // d bytes of room left over (d = 0: the room is filled exactly, at a
  // character's end; 0 < d < the character's width: in the middle of one, or
  // of a surrogate pair). p from 0 to 63 gives every d of every kind.
  const kinds: Array<[string, number]> = [['é', 2], ['€', 3], ['😀', 4], ['\ud800', 3], ['\udc00', 3]]
  for (const [wide, width] of kinds) {
    const leftOver = new Set<number>()
    for (let p = 0; p < 64; p++) {
      const text = 'a'.repeat(p) + wide.repeat(200)
      const room = text.length + (text.length >>> 3) + 16
      leftOver.add((room - p) % width)
      const bytes = utf8Bytes(text)
      if (!bytes.equals(Buffer.from(text, 'utf8'))) {
        t.fail(`${JSON.stringify(wide)} after ${p} ASCII characters: differs from Buffer.from`)
        return
      }
    }
    t.same([...leftOver].sort(), Array.from({ length: width }, (_, d) => d), `${JSON.stringify(wide)}: the room ran out at every offset in a character`)
  }
  for (const text of ['', 'a', 'a'.repeat(1000), '€'.repeat(5000), 'a'.repeat(800) + '😀'.repeat(300) + 'b']) {
    t.ok(utf8Bytes(text).equals(Buffer.from(text, 'utf8')), `length ${text.length}`)
  }
})
