// Which errors count as a refused certificate (lib/ship/tls-errors.ts); the
// real handshakes are in test/shipper-tls.test.ts.
import t from 'tap'
import { certificateProblem } from '../lib/ship/tls-errors'

t.test('a certificate problem is found under the error undici wraps it in (UND_ERR_PRX_TLS behind a proxy)', async (t) => {
  const inner = Object.assign(new Error('Hostname/IP does not match certificate\'s altnames'), { code: 'ERR_TLS_CERT_ALTNAME_INVALID' })
  const outer = Object.assign(new Error('TLS upgrade with proxy failed', { cause: inner }), { code: 'UND_ERR_PRX_TLS' })
  t.same(certificateProblem(outer), { code: 'ERR_TLS_CERT_ALTNAME_INVALID', message: inner.message })
  t.same(certificateProblem(Object.assign(new Error('self-signed certificate'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' })), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT', message: 'self-signed certificate' })
  for (const err of [Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }), new Error('x'), undefined, null, 'CERT_HAS_EXPIRED', { code: 42 }]) {
    t.equal(certificateProblem(err), undefined, `not a certificate problem: ${String((err as { code?: unknown } | null)?.code ?? err)}`)
  }
})
