// Builds the NDJSON lines of the wire schema (shared with the other SDKs)
// directly as strings: the shape is known, so there is no intermediate object
// and no JSON.stringify on the request path. Only values a client controls go
// through the escaper, and most of them need no escaping at all.
import { isoTime } from './clock'
import { clip, cutChars, fitLiteral, Measure, textOf, writeFields } from './sanitize'
import type { Classification } from '../types'
import { defaults } from '../options'

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
  /** A scanner verdict of a family whose probes no legitimate client sends: `certainty` `"certain"`, else `"likely"`. */
  certain?: boolean
  /** An app-layer signal the request raised (`"validation"`, `"parse"`, `"auth"`), and the error code behind it. */
  signal?: string | undefined
  errorCode?: string | undefined
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

/** JSON text of a request method: the common ones without the escape test (a regular expression run per request). */
function methodJson (method: string): string {
  switch (method) {
    case 'GET': return '"GET"'
    case 'POST': return '"POST"'
    case 'HEAD': return '"HEAD"'
    default: return jsonString(method)
  }
}

// `ip` is our own canonical text: it never needs escaping. The method is
// short, and app.inject() does not validate it, so it is still escaped.
export function httpRequestLine (src: EventSource, status: number, nowMs: number, envSuffix: string): string {
  let line = '{"type":"http_request","ts":"' + isoTime(nowMs) +
    '","ip":"' + src.ip +
    '","method":' + methodJson(src.method) +
    ',"path":' + jsonString(pathOf(src.url)) +
    ',"status":' + status
  if (src.uaJson !== undefined) line += ',"ua":' + src.uaJson
  if (src.referer !== undefined) line += opt('referer', src.referer)
  if (src.cfCountry !== undefined) line += opt('cf_country', src.cfCountry)
  if (src.cfRay !== undefined) line += opt('cf_ray', src.cfRay)
  if (src.cfAsn !== undefined) line += opt('cf_asn', src.cfAsn)
  if (src.classification !== undefined) {
    line += ',"classification":"' + src.classification + '"'
    if (src.classification === 'scanner') line += src.certain === true ? ',"certainty":"certain"' : ',"certainty":"likely"'
  }
  if (src.rule !== undefined) line += opt('rule', src.rule)
  if (src.uaClass !== undefined) line += opt('ua_class', src.uaClass)
  if (src.signal !== undefined) {
    line += opt('signal', src.signal)
    if (src.errorCode !== undefined) line += opt('error_code', src.errorCode)
  }
  if (src.wouldBlock) line += ',"would_block":true'
  if (src.blocked) line += ',"blocked":true'
  if (src.aborted) line += ',"aborted":true'
  if (src.via !== undefined) line += opt('via', src.via)
  return line + envSuffix + '}'
}

/** Longest name of a custom event, in characters. */
export const MAX_NAME = 200

/** Name of a custom event: whatever the app passed, as a bounded string (no app code runs: an object is named by its class). */
export function eventName (name: unknown): string {
  if (typeof name === 'string') return name === '' ? 'unnamed' : cutChars(name, MAX_NAME)
  if (name === undefined || name === null) return 'unnamed'
  return cutChars(textOf(name), MAX_NAME)
}

/** What a customLine() made: its size in UTF-8 bytes, and whether the budget clipped anything. */
export interface CustomLineSize {
  bytes: number
  clipped: boolean
}

// The environment suffix is the same for every event of a registration: measured once.
let envText = ''
let envBytes = 0

// `{"type":"custom","ts":"` + 24 + `","name":` + `,"fields":` + `}`
const FIXED_BYTES = 23 + 24 + 9 + 10 + 1
// The request's texts in a line that would not fit otherwise, in bytes: what is left goes to the path.
const TIGHT_NAME = 128
const TIGHT_METHOD = 32
const TIGHT_RAY = 64

/**
 * A `custom` event from record(), in at most `maxBytes` bytes of UTF-8: the
 * fields are clipped to fit (see writeFields); when the rest of the line
 * alone would not fit (a hostile path or name), the name, path, method and
 * cf_ray are cut too. Only an `environment` tag larger than the budget could
 * make a line longer. Sets `size` when given.
 *
 * Built as one flat string (a join): a line in the queue never keeps a huge
 * string of the app alive through a slice of it.
 */
export function customLine (src: EventSource | undefined, name: unknown, fields: unknown, nowMs: number, envSuffix: string,
  maxBytes: number = defaults.maxEventBytes, size?: CustomLineSize): string {
  const m = new Measure()
  if (envSuffix !== envText) {
    envText = envSuffix
    envBytes = Buffer.byteLength(envSuffix)
  }
  const evName = eventName(name)
  let nameText = fitLiteral(evName, Infinity, m)
  let nameBytes = m.bytes
  let tail = ''
  let tailBytes = 0
  let clipped = false
  if (src !== undefined) {
    const r = new RequestPart(src, m)
    if (FIXED_BYTES + nameBytes + r.bytes + envBytes + 2 > maxBytes) {
      clipped = true
      nameText = fitLiteral(evName, TIGHT_NAME, m)
      nameBytes = m.bytes
      r.fit(maxBytes - (FIXED_BYTES + nameBytes + envBytes + 2))
    }
    tail = r.text()
    tailBytes = r.bytes
  } else if (FIXED_BYTES + nameBytes + envBytes + 2 > maxBytes) {
    clipped = true
    nameText = fitLiteral(evName, TIGHT_NAME, m)
    nameBytes = m.bytes
  }
  const head = '{"type":"custom","ts":"' + isoTime(nowMs) + '","name":' + nameText + ',"fields":'
  const fieldsText = writeFields(fields, Math.max(2, maxBytes - (FIXED_BYTES + nameBytes + tailBytes + envBytes)), m)
  if (size !== undefined) {
    size.clipped = clipped || m.cut
    size.bytes = FIXED_BYTES + nameBytes + tailBytes + envBytes + m.bytes
  }
  return [head, fieldsText, tail, envSuffix, '}'].join('')
}

/** The request's part of a custom line (`,"ip":...,"path":...,"method":...,"cf_ray":...`) and its UTF-8 size. */
class RequestPart {
  private readonly ip: string
  private readonly path: string
  private readonly method: string
  private readonly ray: string | undefined
  private pathText: string
  private methodText: string
  private rayText = ''
  /** UTF-8 bytes of text(). */
  bytes: number

  constructor (src: EventSource, private readonly m: Measure) {
    this.ip = jsonString(src.ip) // our canonical text: ASCII
    this.path = pathOf(src.url)
    this.method = clip(src.method, MAX_HEADER_TEXT)
    this.ray = src.cfRay === undefined ? undefined : clip(src.cfRay, MAX_HEADER_TEXT)
    // `,"ip":` 6, `,"path":` 8, `,"method":` 10, `,"cf_ray":` 10
    this.bytes = 6 + this.ip.length + 8 + 10
    this.pathText = fitLiteral(this.path, Infinity, this.m)
    this.bytes += this.m.bytes
    this.methodText = fitLiteral(this.method, Infinity, this.m)
    this.bytes += this.m.bytes
    if (this.ray !== undefined) {
      this.rayText = fitLiteral(this.ray, Infinity, this.m)
      this.bytes += 10 + this.m.bytes
    }
  }

  /** Cuts the method and cf_ray to a few bytes, and the path to what is left of `room` bytes. */
  fit (room: number): void {
    this.bytes = 6 + this.ip.length + 8 + 10
    this.methodText = fitLiteral(this.method, TIGHT_METHOD, this.m)
    this.bytes += this.m.bytes
    if (this.ray !== undefined) {
      this.rayText = fitLiteral(this.ray, TIGHT_RAY, this.m)
      this.bytes += 10 + this.m.bytes
    }
    this.pathText = fitLiteral(this.path, Math.max(2, room - this.bytes), this.m)
    this.bytes += this.m.bytes
  }

  text (): string {
    return ',"ip":' + this.ip + ',"path":' + this.pathText + ',"method":' + this.methodText +
      (this.ray === undefined ? '' : ',"cf_ray":' + this.rayText)
  }
}
