// The gzip step of ship mode: one stream, one gzip member per batch.
// What matters: every member decodes on its own to exactly its input, in the
// order asked, whatever the input (empty, incompressible, larger than zlib's
// 16 KiB output chunk); close() ends it; and a batch leaves no ArrayBuffer
// behind that only a full mark-compact frees (the one-core p99 stalls of
// issue 10, see lib/ship/gzip-members.ts).
import t from 'tap'
import type { Test } from 'tap'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { randomBytes } from 'node:crypto'
import { gunzipSync } from 'node:zlib'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { GzipMembers } from '../lib/ship/gzip-members'
import { makeShipper } from './fixtures/shipper-harness'

const INPUTS: Buffer[] = [
  Buffer.alloc(0),
  Buffer.from('x'),
  Buffer.from('{"type":"http_request","path":"/"}\n'.repeat(5000)), // 175 KB, compresses well
  randomBytes(300_000), // incompressible: ~19 output chunks of 16 KiB
  Buffer.from('é€😀 mixed text\n'.repeat(2000), 'utf8')
]

t.test('every member decodes on its own to its input, in call order, also when calls overlap', async (t: Test) => {
  const gz = new GzipMembers(6)
  t.teardown(() => gz.close())
  // 60 calls made at once: they queue, one member at a time.
  const inputs = Array.from({ length: 60 }, (_, i) => INPUTS[i % INPUTS.length] as Buffer)
  const members = await Promise.all(inputs.map((input) => gz.compress(input)))
  let intact = 0
  for (let i = 0; i < members.length; i++) {
    const member = members[i] as Buffer
    if (member[0] === 0x1f && member[1] === 0x8b && gunzipSync(member).equals(inputs[i] as Buffer)) intact++
  }
  t.equal(intact, inputs.length, 'each member starts with the gzip magic bytes and decodes to its own input')
  // One after another, awaited, as the exporter calls it.
  for (const input of INPUTS) t.ok(gunzipSync(await gz.compress(input)).equals(input), `sequential, ${input.length} bytes`)
})

t.test('level 0 stores: the member is larger than its input and still decodes', async (t: Test) => {
  const gz = new GzipMembers(0)
  t.teardown(() => gz.close())
  const input = INPUTS[2] as Buffer
  const member = await gz.compress(input)
  t.ok(member.length > input.length, `${member.length} > ${input.length}`)
  t.ok(gunzipSync(member).equals(input))
})

t.test('close(): a member under way and every later call reject with FST_APPFIREWALL_CLOSED', async (t: Test) => {
  const gz = new GzipMembers(9)
  const first = gz.compress(randomBytes(2_000_000))
  const queued = gz.compress(Buffer.from('queued'))
  gz.close()
  await t.rejects(first, { code: 'FST_APPFIREWALL_CLOSED' })
  await t.rejects(queued, { code: 'FST_APPFIREWALL_CLOSED' })
  await t.rejects(gz.compress(Buffer.from('later')), { code: 'FST_APPFIREWALL_CLOSED' })
})

t.test('shipping batches leaves no ArrayBuffer behind for a full collection to free', async (t: Test) => {
  // Before the fix (a zlib.gzip() call per batch), this test measured
  // ArrayBuffers growing by ~180 KiB a batch on Node 24 and ~24 KiB on Node
  // 26: each call's zlib handle outlived the scavenges, and with it the
  // batch's UTF-8 body and zlib's output chunk, until a mark-compact. Node 20
  // and 22: ~4-8 KiB. With one stream: ~3.5 KiB on all four (output chunks
  // and Buffer pool slabs that outlive two forced scavenges).
  setFlagsFromString('--expose-gc')
  const gc = runInNewContext('gc') as (opts?: { type: 'minor' | 'major' }) => void
  // An ingest that reads each body and answers 200: decoding here would
  // allocate zlib handles of its own in this process.
  let bodies = 0
  const server = createServer((req, res) => {
    req.resume()
    req.on('end', () => { bodies++; res.end('{}') })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => server.close())
  const h = makeShipper(`http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/events`, { gzipLevel: 6 })
  t.teardown(() => h.sink.close(0))
  // Lines the size of a typical http_request line (~320 characters).
  const pad = 'a'.repeat(250)
  const batch = async (): Promise<void> => {
    for (let i = 0; i < 500; i++) h.sink.push(`{"type":"http_request","i":${i},"ua":"${pad}"}`)
    t.equal(await h.sink.flush(5000), true)
  }
  for (let i = 0; i < 5; i++) await batch()
  gc()
  const before = process.memoryUsage().arrayBuffers
  const BATCHES = 60
  for (let i = 0; i < BATCHES; i++) {
    await batch()
    // Two scavenges: what survives both is promoted, and only a
    // mark-compact frees its ArrayBuffer.
    gc({ type: 'minor' })
    gc({ type: 'minor' })
  }
  const grown = process.memoryUsage().arrayBuffers - before
  t.equal(bodies, 65, 'every batch reached the ingest')
  t.equal(h.stats().sent, 65 * 500)
  t.ok(grown < BATCHES * 8 * 1024, `ArrayBuffers grew by ${(grown / 1024).toFixed(0)} KiB over ${BATCHES} batches (bound: 8 KiB a batch)`)
})
