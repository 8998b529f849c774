// Signals only the app sees (DESIGN.md, first paragraph): a request that
// failed Fastify's schema validation, whose body could not be parsed, or that
// was refused authentication. Each marks the request's http_request event
// (`signal`, `error_code`) and is counted per IP in a limit class of its own
// name (request/finish.ts). Only the error's code is kept, never its message,
// the body or a value.
//
// Nothing here runs for a request that succeeds: the error is read by an
// onError hook (Fastify runs it only for errors), the status where the
// request ends (request/hooks.ts) after one range test.
import type { FastifyRequest } from 'fastify'
import type { RequestContext } from './context'

export type Signal = 'validation' | 'parse' | 'auth'

/**
 * Body-parsing failures by code: Fastify 5's own (lib/content-type-parser.js,
 * lib/handle-request.js), then @fastify/multipart's and @fastify/compress's
 * for the bodies they parse. A closed list: the other FST_ERR_CTP_* codes are
 * thrown at registration, not by a request.
 */
const PARSE_CODES: ReadonlySet<string> = new Set([
  'FST_ERR_CTP_INVALID_JSON_BODY', // 400 malformed JSON, and a __proto__ / constructor poisoning attempt
  'FST_ERR_CTP_EMPTY_JSON_BODY', // 400 Content-Type application/json with no body
  'FST_ERR_CTP_INVALID_MEDIA_TYPE', // 415 no parser for the Content-Type, or a malformed Content-Type
  'FST_ERR_CTP_BODY_TOO_LARGE', // 413 over bodyLimit, by Content-Length or by the bytes received
  'FST_ERR_CTP_INVALID_CONTENT_LENGTH', // 400 the body's size differs from its Content-Length
  'FST_ERR_ROUTE_MISSING_CONTENT_TYPE', // 400 a QUERY request without Content-Type
  'FST_INVALID_MULTIPART_CONTENT_TYPE', // @fastify/multipart: 406 the body is not multipart
  'FST_PARTS_LIMIT',
  'FST_FILES_LIMIT',
  'FST_FIELDS_LIMIT',
  'FST_REQ_FILE_TOO_LARGE',
  'FST_PROTO_VIOLATION',
  'FST_INVALID_JSON_FIELD_ERROR',
  'FST_CP_ERR_INVALID_CONTENT_ENCODING', // @fastify/compress: 415 unknown Content-Encoding
  'FST_CP_ERR_INVALID_CONTENT' // @fastify/compress: 400 the body does not decompress
])

/**
 * Authentication failures by code family, so that a plugin's new code is
 * still one: @fastify/jwt (`FST_JWT_NO_AUTHORIZATION_IN_HEADER`,
 * `..._TOKEN_EXPIRED`, `..._TOKEN_INVALID`, `..._TOKEN_UNTRUSTED`,
 * `FST_JWT_BAD_REQUEST` ...), fast-jwt's through it (`FAST_JWT_MISSING_SIGNATURE`
 * ...), @fastify/basic-auth (`FST_BASIC_AUTH_MISSING_OR_BAD_AUTHORIZATION_HEADER`),
 * @fastify/bearer-auth (`FST_BEARER_AUTH_MISSING_AUTHORIZATION_HEADER`,
 * `..._INVALID_AUTHORIZATION_HEADER`), @fastify/csrf-protection
 * (`FST_CSRF_INVALID_TOKEN`, `FST_CSRF_MISSING_SECRET`). @fastify/auth has no
 * code of its own: it passes on its strategies' errors and answers 401, which
 * the status catches. Their configuration errors share the prefixes but are
 * thrown at registration, never by a request.
 */
const AUTH_PREFIXES = ['FST_JWT_', 'FAST_JWT_', 'FST_BASIC_AUTH_', 'FST_BEARER_AUTH_', 'FST_CSRF_']

/** Longest error code written to an event. */
export const MAX_CODE = 64

/**
 * The error's `code` if it is shaped like one (a letter, then letters, digits,
 * `_ . : -`), clipped to MAX_CODE; anything else (a number, a sentence, a value
 * an app put there) is not written.
 */
export function codeText (code: unknown): string | undefined {
  if (typeof code !== 'string' || code.length === 0) return undefined
  const text = code.length > MAX_CODE ? code.slice(0, MAX_CODE) : code
  return CODE_SHAPE.test(text) ? text : undefined
}

const CODE_SHAPE = /^[A-Za-z][\w.:-]*$/

/** The signal class of an error's code, or undefined when the code names none. */
export function signalOfCode (code: string): Signal | undefined {
  if (code === 'FST_ERR_VALIDATION') return 'validation'
  if (PARSE_CODES.has(code)) return 'parse'
  for (const prefix of AUTH_PREFIXES) if (code.startsWith(prefix)) return 'auth'
  return undefined
}

/** What the plugin reads of an error: nothing else, never its message. */
interface ErrorLike {
  code?: unknown
  statusCode?: unknown
  status?: unknown
  validationContext?: unknown
}

/**
 * Marks the request with what its error says, from an onError hook: a code of
 * a signal class; a validation error whatever its code (a custom validator
 * may bring its own, Fastify still gives it a `validationContext`); or an
 * error meant as a 401 or 403 (its code kept, the signal decided by the
 * status the request really ends with, in signalAtEnd). A request no route
 * matched raises none: it is a 404, classified as one.
 */
export function signalFromError (ctx: RequestContext, request: FastifyRequest, error: unknown): void {
  if (ctx.signal !== undefined || typeof error !== 'object' || error === null || request.is404) return
  const err = error as ErrorLike
  const code = codeText(err.code)
  const signal = code === undefined ? undefined : signalOfCode(code)
  if (signal !== undefined) {
    ctx.signal = signal
    ctx.errorCode = code
    return
  }
  if (typeof err.validationContext === 'string') {
    ctx.signal = 'validation'
    ctx.errorCode = code ?? 'FST_ERR_VALIDATION'
    return
  }
  const status = typeof err.statusCode === 'number' ? err.statusCode : err.status
  if (status === 401 || status === 403) ctx.errorCode = code
}

/**
 * Settles the request's signal where it ends, with the status it ended with;
 * called only for a 4xx, or when an error left a code. A 401 or 403 is an
 * auth signal, with or without an error; a request whose schema validation
 * failed into `request.validationError` (`attachValidation`) and that was
 * answered with a 4xx is a validation one. A code an error left for a 401 the
 * app answered otherwise is dropped. A request the plugin refused itself, or
 * that no route matched, raises none.
 */
export function signalAtEnd (ctx: RequestContext, request: FastifyRequest | undefined, status: number): void {
  if (ctx.blocked || request === undefined || request.is404) {
    ctx.signal = ctx.errorCode = undefined
    return
  }
  if (ctx.signal !== undefined) return
  if (status === 401 || status === 403) {
    ctx.signal = 'auth'
    return
  }
  ctx.errorCode = undefined
  if (status >= 400 && status < 500) {
    const invalid = (request as { validationError?: unknown }).validationError
    if (typeof invalid === 'object' && invalid !== null) {
      ctx.signal = 'validation'
      ctx.errorCode = codeText((invalid as ErrorLike).code) ?? 'FST_ERR_VALIDATION'
    }
  }
}
