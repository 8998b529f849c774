// Every error the package creates, in one table, made with @fastify/error the
// way fastify's own lib/errors.js is. Codes are API: users and tests match on
// `code` (exported as `errorCodes`), never on message text. A code, once
// published, is never reused for another meaning.
//
// FST_APPFIREWALL_INVALID_OPTIONS and FST_APPFIREWALL_ALREADY_REGISTERED reach user
// code: they fail `register`. The others are
// raised and caught inside the plugin (they show up in its log lines and in
// `onError: "raise"`), or guard an invariant of the package's own data.
import createError from '@fastify/error'

/** One or more options are wrong. The message lists each: the option, the value given, what is allowed. */
export const FST_APPFIREWALL_INVALID_OPTIONS = createError(
  'FST_APPFIREWALL_INVALID_OPTIONS', 'appfirewall-fastify: invalid options: %s', 500, TypeError)

/** An address list entry (trustedProxies, allowList, Cloudflare's ranges) is not a strict CIDR or IP literal. */
export const FST_APPFIREWALL_INVALID_CIDR = createError<'FST_APPFIREWALL_INVALID_CIDR', 500, [entry: string, why: string]>(
  'FST_APPFIREWALL_INVALID_CIDR', 'appfirewall-fastify: %s is not a valid CIDR or IP: %s', 500, TypeError)

/** The plugin is already registered on this instance or a parent: each app registers it once. */
export const FST_APPFIREWALL_ALREADY_REGISTERED = createError(
  'FST_APPFIREWALL_ALREADY_REGISTERED', 'appfirewall-fastify: already registered on this server (on this instance, a parent or a sibling plugin); register it once, on the root instance', 500)

/** The HTTP exporter was given an endpoint that is not an http(s) URL (register reports it first, as an invalid option). */
export const FST_APPFIREWALL_INVALID_ENDPOINT = createError<'FST_APPFIREWALL_INVALID_ENDPOINT', 500, [endpoint: string]>(
  'FST_APPFIREWALL_INVALID_ENDPOINT', 'appfirewall-fastify: option "endpoint" must be an http(s) URL, got %s', 500, TypeError)

/** Cloudflare's ranges could not be refreshed (bad status, bad answer, too large); the last good list is kept. */
export const FST_APPFIREWALL_CLOUDFLARE_RANGES = createError<'FST_APPFIREWALL_CLOUDFLARE_RANGES', 500, [why: string]>(
  'FST_APPFIREWALL_CLOUDFLARE_RANGES', 'appfirewall-fastify: Cloudflare\'s ranges were not refreshed: %s', 500)

/** A POST to the ingest took longer than `requestTimeoutMs` as a whole; it is aborted and retried. */
export const FST_APPFIREWALL_INGEST_TIMEOUT = createError<'FST_APPFIREWALL_INGEST_TIMEOUT', 500, [ms: number]>(
  'FST_APPFIREWALL_INGEST_TIMEOUT', 'appfirewall-fastify: the ingest did not answer within %s ms', 500)

/** Work still under way when the plugin closed (a POST, a refresh) was aborted. */
export const FST_APPFIREWALL_CLOSED = createError<'FST_APPFIREWALL_CLOSED', 500, [what: string]>(
  'FST_APPFIREWALL_CLOSED', 'appfirewall-fastify: closed while %s was under way', 500)

/** The package's pattern library breaks an invariant of the classifier (a bug in the package, raised at load). */
export const FST_APPFIREWALL_PATTERN_LIBRARY = createError<'FST_APPFIREWALL_PATTERN_LIBRARY', 500, [why: string]>(
  'FST_APPFIREWALL_PATTERN_LIBRARY', 'appfirewall-fastify: the pattern library does not compile: %s', 500)

/** Raised only by the fail-open tests' fault injection, never in normal use. */
export const FST_APPFIREWALL_INJECTED_FAULT = createError<'FST_APPFIREWALL_INJECTED_FAULT', 500, [stage: string]>(
  'FST_APPFIREWALL_INJECTED_FAULT', 'appfirewall-fastify: injected fault at stage %s', 500)

/** The error constructors by code, like `fastify.errorCodes`: `err instanceof errorCodes.FST_APPFIREWALL_INVALID_OPTIONS`. */
export const errorCodes = Object.freeze({
  FST_APPFIREWALL_INVALID_OPTIONS,
  FST_APPFIREWALL_INVALID_CIDR,
  FST_APPFIREWALL_ALREADY_REGISTERED,
  FST_APPFIREWALL_INVALID_ENDPOINT,
  FST_APPFIREWALL_CLOUDFLARE_RANGES,
  FST_APPFIREWALL_INGEST_TIMEOUT,
  FST_APPFIREWALL_CLOSED,
  FST_APPFIREWALL_PATTERN_LIBRARY,
  FST_APPFIREWALL_INJECTED_FAULT
})
