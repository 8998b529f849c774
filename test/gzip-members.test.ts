// The gzip step of ship mode: one stream, one gzip member per batch.
// What matters: every member decodes on its own to exactly its input, in the
// order asked, whatever the input (empty, incompressible, larger than zlib's
// 16 KiB output chunk); close() ends it; a bad input or a dead stream costs
// one member, not the next. (What a batch leaves behind for the collector:
// ship-arraybuffers.test.ts, in a process of its own.)
import t from 'tap'
import type { Test } from 'tap'
import type { Gzip } from 'node:zlib'
import { randomBytes } from 'node:crypto'
import { gunzipSync } from 'node:zlib'
import { GzipMembers } from '../lib/ship/gzip-members'

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

t.test('input that is not a Buffer is refused alone: no listener left behind, the next member is whole', async (t: Test) => {
  const gz = new GzipMembers(6)
  t.teardown(() => gz.close())
  const warnings: string[] = []
  const onWarning = (w: Error): void => { warnings.push(w.name) }
  process.on('warning', onWarning)
  t.teardown(() => { process.removeListener('warning', onWarning) })
  for (let i = 0; i < 20; i++) await t.rejects(gz.compress(42 as unknown as Buffer), { code: 'ERR_INVALID_ARG_TYPE' })
  const input = INPUTS[2] as Buffer
  t.ok(gunzipSync(await gz.compress(input)).equals(input))
  await new Promise((resolve) => setImmediate(resolve))
  t.same(warnings, [], 'no MaxListenersExceededWarning')
})

t.test('a stream that dies between members is replaced: the next member is whole', async (t: Test) => {
  // What Node does when deflateReset fails: it destroys the stream. Done here
  // from outside, between members, at once before the next call and a turn before it.
  const gz = new GzipMembers(6)
  t.teardown(() => gz.close())
  const input = INPUTS[4] as Buffer
  const stream = (): Gzip => (gz as unknown as { stream: Gzip }).stream
  t.ok(gunzipSync(await gz.compress(input)).equals(input))
  stream().destroy(new Error('injected'))
  t.ok(gunzipSync(await gz.compress(input)).equals(input), 'destroyed in the same turn')
  stream().destroy(new Error('injected'))
  await new Promise((resolve) => setImmediate(resolve))
  t.ok(gunzipSync(await gz.compress(input)).equals(input), 'destroyed a turn before')
})
