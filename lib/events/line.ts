// Builds the NDJSON lines of the wire schema (shared with the other SDKs)
// directly as strings: the shape is known, so there is no intermediate object
// and no JSON.stringify on the request path. Only values a client controls go
// through the escaper, and most of them need no escaping at all.
import { isoTime } from './clock'
import { clip, sanitizeFields } from './sanitize'
import type { Classification } from '../types'

/** Longest path, user agent or referer written to an event. */
export const MAX_HEADER_TEXT = 2048

// Quote, backslash, control characters and lone surrogates need JSON escaping.
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/ // eslint-disable-line no-control-regex

/** JSON string literal of s. */
export function jsonString (s: string): string {
  return NEEDS_ESCAPE.test(s) ? JSON.stringify(s) : '"' + s + '"'
}

/** The part of a request URL before the query string (and fragment), clipped. */
export function pathOf (url: string): string {
  let end = url.indexOf('?')
  if (end === -1) end = url.indexOf('#')
  const path = end === -1 ? url : url.slice(0, end)
  return clip(path, MAX_HEADER_TEXT)
}

/** What an http_request or custom event reads from its request. */
export interface EventSource {
  ip: string
  method: string
  url: string
  /** JSON text of the user agent (escaped and clipped once per distinct UA), or undefined when none was sent. */
  uaJson: string | undefined
  referer: string | undefined
  cfCountry: string | undefined
  cfRay: string | undefined
  cfAsn: string | undefined
  via: string | undefined
  classification: Classification | undefined
  rule: string | undefined
  uaClass: string | undefined
  wouldBlock: boolean
  blocked: boolean
  /** The client went away before the response finished. */
  aborted: boolean
}

/** `,"environment":"..."` or '' — computed once per registration. */
export function environmentSuffix (environment: string | undefined): string {
  return environment === undefined ? '' : ',"environment":' + jsonString(clip(environment, 200))
}

function opt (name: string, value: string | undefined): string {
  return value === undefined ? '' : ',"' + name + '":' + jsonString(clip(value, MAX_HEADER_TEXT))
}

// `ip` is our own canonical text: it never needs escaping. The method is
// short, and app.inject() does not validate it, so it is still escaped.
export function httpRequestLine (src: EventSource, status: number, nowMs: number, envSuffix: string): string {
  let line = '{"type":"http_request","ts":"' + isoTime(nowMs) +
    '","ip":"' + src.ip +
    '","method":' + jsonString(src.method) +
    ',"path":' + jsonString(pathOf(src.url)) +
    ',"status":' + status
  if (src.uaJson !== undefined) line += ',"ua":' + src.uaJson
  if (src.referer !== undefined) line += opt('referer', src.referer)
  if (src.cfCountry !== undefined) line += opt('cf_country', src.cfCountry)
  if (src.cfRay !== undefined) line += opt('cf_ray', src.cfRay)
  if (src.cfAsn !== undefined) line += opt('cf_asn', src.cfAsn)
  if (src.classification !== undefined) line += ',"classification":"' + src.classification + '"'
  if (src.rule !== undefined) line += opt('rule', src.rule)
  if (src.uaClass !== undefined) line += opt('ua_class', src.uaClass)
  if (src.wouldBlock) line += ',"would_block":true'
  if (src.blocked) line += ',"blocked":true'
  if (src.aborted) line += ',"aborted":true'
  if (src.via !== undefined) line += opt('via', src.via)
  return line + envSuffix + '}'
}

/** Name of a custom event: whatever the app passed, as a bounded string. */
export function eventName (name: unknown): string {
  if (typeof name === 'string') return name === '' ? 'unnamed' : clip(name, 200)
  if (name === undefined || name === null) return 'unnamed'
  try {
    return clip(String(name), 200)
  } catch {
    return 'unnamed'
  }
}

/**
 * A `custom` event from record(). Not on the per-request path of every
 * request (only where the app records), so the sanitised fields go through
 * JSON.stringify. Throws only if stringify does, which the caller counts as a
 * serialisation drop.
 */
export function customLine (src: EventSource | undefined, name: unknown, fields: unknown, nowMs: number, envSuffix: string): string {
  let line = '{"type":"custom","ts":"' + isoTime(nowMs) +
    '","name":' + jsonString(eventName(name)) +
    ',"fields":' + JSON.stringify(sanitizeFields(fields))
  if (src !== undefined) {
    line += ',"ip":' + jsonString(src.ip) +
      ',"path":' + jsonString(pathOf(src.url)) +
      ',"method":' + jsonString(src.method)
    if (src.cfRay !== undefined) line += opt('cf_ray', src.cfRay)
  }
  return line + envSuffix + '}'
}
