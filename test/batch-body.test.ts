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

t.test('the batch text is written as UTF-8 in one pass, whatever the room first given runs out on', async (t: Test) => {
  // Room first given: length + length/8 + 16 bytes. Texts that fill it
  // exactly, run out of it in the middle of a multi-byte character or of a
  // surrogate pair, or need the worst case (3 bytes a UTF-16 unit).
  const cases: string[] = ['', 'a', 'a'.repeat(1000)]
  for (let ascii = 0; ascii < 40; ascii++) {
    for (const wide of ['é', '€', '😀', '\uffff']) cases.push('a'.repeat(ascii) + wide.repeat(8) + 'z')
  }
  cases.push('€'.repeat(5000), '😀'.repeat(3000), 'a'.repeat(800) + '€'.repeat(200) + 'b'.repeat(50))
  for (const text of cases) {
    const bytes = utf8Bytes(text)
    if (!bytes.equals(Buffer.from(text, 'utf8'))) {
      t.fail(`differs from Buffer.from for ${JSON.stringify(text.slice(0, 60))} (length ${text.length})`)
      return
    }
  }
  t.pass(`${cases.length} texts equal to Buffer.from(text, 'utf8')`)
})
