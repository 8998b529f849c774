// What a shipped batch leaves for the garbage collector: nothing that only a
// full mark-compact frees. On Node 24 and 26 a zlib.gzip() call per batch did
// (the one-core p99 stalls of issue 10, see lib/ship/gzip-members.ts). In a
// file of its own: buffers other tests leave in flight (a destroyed zlib
// stream still finishing its work on the pool) would move the measure.
import t from 'tap'
import type { Test } from 'tap'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { collector } from './fixtures/heap'
import { makeShipper } from './fixtures/shipper-harness'

t.test('shipping batches leaves no ArrayBuffer behind for a full collection to free', async (t: Test) => {
  // Before the fix (a zlib.gzip() call per batch), this test measured
  // ArrayBuffers growing by ~180 KiB a batch on Node 24 and 26: each call's
  // zlib handle outlived the scavenges, and with it the batch's UTF-8 body
  // and zlib's output chunk, until a mark-compact. Node 20 and 22: ~4-8 KiB.
  // With one stream: ~3.7-4.4 KiB on all four (output chunks and Buffer pool
  // slabs that outlive two forced scavenges).
  const gc = collector()
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
