// Tells a certificate the client will not accept apart from a network blip.
// Retrying cannot fix a self-signed, expired, untrusted or misnamed
// certificate: only a change of configuration on one side can, so the HTTP
// exporter does not retry these (see the TLS section of the README).

/**
 * Node's certificate verification codes (OpenSSL's X509_V_ERR_* names, as
 * Node exposes them on `err.code`), and Node's own hostname check.
 */
const CERTIFICATE_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY',
  'CERT_SIGNATURE_FAILURE',
  'CERT_NOT_YET_VALID',
  'CERT_HAS_EXPIRED',
  'ERROR_IN_CERT_NOT_BEFORE_FIELD',
  'ERROR_IN_CERT_NOT_AFTER_FIELD',
  'CERT_CHAIN_TOO_LONG',
  'CERT_REVOKED',
  'INVALID_CA',
  'PATH_LENGTH_EXCEEDED',
  'INVALID_PURPOSE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'HOSTNAME_MISMATCH',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'ERR_TLS_CERT_ALTNAME_FORMAT'
])

/** A certificate the client refused: the Node/undici error code and its message. */
export interface CertificateProblem {
  /** e.g. `DEPTH_ZERO_SELF_SIGNED_CERT`, `CERT_HAS_EXPIRED`, `ERR_TLS_CERT_ALTNAME_INVALID`. */
  code: string
  /** The error's own message, e.g. "self-signed certificate". */
  message: string
}

// undici wraps some of these (a hostname mismatch behind a proxy becomes
// UND_ERR_PRX_TLS with the original as `cause`): look a few levels down.
const MAX_DEPTH = 4

/**
 * The certificate problem behind `err` (or its `cause` chain), or undefined
 * when `err` is anything else (refused, reset, timeout...). Never throws.
 */
export function certificateProblem (err: unknown): CertificateProblem | undefined {
  let e: unknown = err
  for (let depth = 0; depth < MAX_DEPTH && typeof e === 'object' && e !== null; depth++) {
    const code = (e as { code?: unknown }).code
    if (typeof code === 'string' && CERTIFICATE_CODES.has(code)) {
      const message = (e as { message?: unknown }).message
      return { code, message: typeof message === 'string' ? message : code }
    }
    e = (e as { cause?: unknown }).cause
  }
  return undefined
}

/** The one warning line for `problem`: what failed, what happens to the events, how to trust a private CA. */
export function certificateWarning (problem: CertificateProblem): string {
  return `appfirewall: the ingest's TLS certificate was refused (${problem.code}: ${problem.message}); ` +
    'batches are dropped (counted as dropped.rejected), not retried. For a private CA, start Node with ' +
    'NODE_EXTRA_CA_CERTS=<ca.pem> or pass the dispatcher option: new Agent({ connect: { ca } })'
}
