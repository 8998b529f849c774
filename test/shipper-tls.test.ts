// Issue 9, item 4: a certificate the client refuses is a configuration error,
// not a network blip. Real HTTPS ingests on 127.0.0.1 with throwaway
// certificates (test/fixtures/tls-certs.ts): the batch is dropped as
// rejected after one handshake, with one warning naming the error code; the
// breaker stays closed; a private CA trusted through `dispatcher` works.
import t from 'tap'
import type { Test } from 'tap'
import { Agent, request } from 'undici'
import { healthy, makeShipper, makeTestPki, numbers, startIngest } from './fixtures'
import type { Harness, Ingest, Pem, ShipOptions } from './fixtures'

const pki = makeTestPki()
const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i)

async function httpsIngest (t: Test, pem: Pem): Promise<Ingest> {
  const ingest = await startIngest(healthy, 0, 5000, { tls: pem })
  t.teardown(() => ingest.close())
  return ingest
}

/** An Agent that trusts the test CA, closed when `t` ends (the exporter must not close it). */
function trustingAgent (t: Test): Agent {
  const agent = new Agent({ connect: { ca: pki.ca } })
  t.teardown(() => agent.close())
  return agent
}

function shipper (t: Test, ingest: Ingest, overrides: Partial<ShipOptions> = {}): Harness {
  // A long deadline and a low breaker threshold: a retried certificate
  // failure would show as many handshakes and an open breaker.
  const h = makeShipper(ingest.url, { batchSize: 5, flushIntervalMs: 600000, breakerThreshold: 2, retryDeadlineMs: 60000, ...overrides })
  t.teardown(() => h.sink.close(0))
  return h
}

/** Two batches to an ingest whose certificate is refused with `code`: each is one handshake, dropped as rejected, one warning in all. */
async function refusedTwice (t: Test, ingest: Ingest, code: string, overrides: Partial<ShipOptions> = {}): Promise<void> {
  const h = shipper(t, ingest, overrides)
  h.pushEvents(5)
  t.equal(await h.sink.flush(3000), true, 'flush learns at once that the batch is dropped')
  t.equal(ingest.connections(), 1, 'one handshake: no retry')
  h.pushEvents(5)
  t.equal(await h.sink.flush(3000), true)
  t.equal(ingest.connections(), 2, 'the next batch tries once more (a fixed certificate is picked up), once')
  const s = h.stats()
  t.equal(s.sent, 0)
  t.equal(s.dropped.rejected, 10, 'counted as rejected')
  t.equal(s.dropped.breaker, 0)
  t.equal(s.failures, 2)
  t.equal(s.breaker, 'closed', 'the breaker is not opened by configuration errors')
  t.ok(h.balanced())
  const warnings = h.warnings()
  t.equal(warnings.length, 1, 'one warning for the code, however many batches')
  t.match(warnings[0], { obj: { code, endpoint: new URL(ingest.url).origin }, msg: new RegExp(`certificate.*${code}`) }, 'the warning names the problem')
  t.match(warnings[0]?.msg, /NODE_EXTRA_CA_CERTS.*dispatcher/, 'and says how to trust a private CA')
  t.equal(ingest.requests.length, 0, 'nothing reached the ingest')
}

t.test('self-signed certificate: DEPTH_ZERO_SELF_SIGNED_CERT, dropped as rejected, not retried', async (t) => {
  await refusedTwice(t, await httpsIngest(t, pki.selfSigned), 'DEPTH_ZERO_SELF_SIGNED_CERT')
})

t.test('certificate from a CA the client does not trust: UNABLE_TO_VERIFY_LEAF_SIGNATURE, not retried', async (t) => {
  await refusedTwice(t, await httpsIngest(t, pki.signed), 'UNABLE_TO_VERIFY_LEAF_SIGNATURE')
})

t.test('expired certificate (trusted CA): CERT_HAS_EXPIRED, not retried', async (t) => {
  await refusedTwice(t, await httpsIngest(t, pki.expired), 'CERT_HAS_EXPIRED', { dispatcher: trustingAgent(t) })
})

t.test('certificate for another name (trusted CA): ERR_TLS_CERT_ALTNAME_INVALID, not retried', async (t) => {
  await refusedTwice(t, await httpsIngest(t, pki.wrongHost), 'ERR_TLS_CERT_ALTNAME_INVALID', { dispatcher: trustingAgent(t) })
})

t.test('a private CA trusted through the dispatcher option: delivered over one keep-alive connection, and the agent is left open', async (t) => {
  const ingest = await httpsIngest(t, pki.signed)
  const agent = trustingAgent(t)
  const h = shipper(t, ingest, { dispatcher: agent })
  for (let i = 0; i < 3; i++) {
    h.pushEvents(5)
    t.equal(await h.sink.flush(3000), true)
  }
  t.same(numbers(ingest.lines()), range(15))
  t.equal(h.stats().sent, 15)
  t.equal(h.warnings().length, 0)
  t.equal(ingest.connections(), 1, 'one TLS connection for the three batches')
  t.equal(new Set(ingest.requests.map((r) => r.remotePort)).size, 1)
  await h.sink.close(1000)
  t.equal(agent.closed || agent.destroyed, false, 'the exporter did not close the user\'s agent')
  const res = await request(ingest.url, { dispatcher: agent, method: 'POST', body: '' })
  await res.body.dump()
  t.equal(res.statusCode, 200, 'and it still works')
})
