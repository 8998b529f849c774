// What can be read of a request that Node's HTTP parser refused (a space in
// the target, headers too large, a bad header byte, bytes that are not HTTP
// at all): its request line and the few headers the plugin reads, from the
// bytes Node already holds (`err.rawPacket` of a 'clientError'). Bounded: at
// most RAW_HEAD_BYTES are looked at, whatever the attacker sent, and nothing
// is kept. Read the way Node reads: leading empty lines are skipped, and a
// header line Node would refuse ends the headers (nothing after it is
// believed).
import type { IncomingHttpHeaders } from 'node:http'

/** Bytes of a refused request examined: the request line and the headers that fit (Node's own limit is 16 KiB). */
export const RAW_HEAD_BYTES = 4096
/** Longest method kept; anything longer is not an HTTP method. */
const MAX_METHOD = 32

// The headers the client IP resolution and the event read; nothing else is kept.
const WANTED = new Set([
  'x-forwarded-for', 'x-real-ip', 'cf-connecting-ip', 'cf-connecting-ipv6', 'cf-ipcountry', 'cf-ray', 'cf-asn',
  'cf-worker', 'user-agent', 'referer'
])
// RFC 9110 token characters: a header name is one, or the line is not a header.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/

export interface RawHead {
  /** The first word of the request line (the method, or the first word of whatever was sent), '' when none. */
  method: string
  /** The request target as sent (path and query), '' when the line had none. */
  target: string
  headers: IncomingHttpHeaders
}

/**
 * Reads the head of a refused request; undefined when the packet holds no
 * byte, or when `failedAt` (the parser's `bytesParsed`) lies past the end of
 * the first head: the failure was then in a body or a later request, which
 * this head does not describe.
 */
export function readRawHead (packet: unknown, failedAt?: number): RawHead | undefined {
  if (!Buffer.isBuffer(packet) || packet.length === 0) return undefined
  const text = packet.toString('latin1', 0, Math.min(packet.length, RAW_HEAD_BYTES))
  let start = 0
  while (start < text.length && (text.charCodeAt(start) === 13 || text.charCodeAt(start) === 10)) start++
  const headEnd = text.indexOf('\r\n\r\n', start)
  if (headEnd !== -1 && typeof failedAt === 'number' && failedAt > headEnd + 4) return undefined
  let eol = text.indexOf('\n', start)
  if (eol === -1) eol = text.length
  const line = text.slice(start, eol).replace(/\r$/, '')
  const sp = line.indexOf(' ')
  // No space: not a request line (an SSH banner, a TLS hello, random bytes): its first word is all there is.
  const method = (sp === -1 ? line : line.slice(0, sp)).slice(0, MAX_METHOD)
  if (sp <= 0) return { method, target: '', headers: {} }
  // The last " HTTP/x.y" ends the target; a space inside the target (the
  // very thing the parser refused) stays part of it.
  let end = line.length
  const version = line.lastIndexOf(' HTTP/')
  if (version > sp) end = version
  const target = line.slice(sp + 1, end)
  const headers: IncomingHttpHeaders = {}
  let at = eol + 1
  while (at < text.length) {
    const next = text.indexOf('\n', at)
    // A header cut by the byte cap is not read: half a value could mislead.
    if (next === -1) break
    const header = text.slice(at, next).replace(/\r$/, '')
    at = next + 1
    if (header === '') break
    const colon = header.indexOf(':')
    const name = colon <= 0 ? '' : header.slice(0, colon)
    // A line Node would refuse (no colon, a space before it, a bad byte) ends what is believed.
    if (!TOKEN.test(name) || /[\x00-\x08\x0a-\x1f\x7f]/.test(header)) break // eslint-disable-line no-control-regex
    const lower = name.toLowerCase()
    if (!WANTED.has(lower)) continue
    const value = header.slice(colon + 1).trim()
    const seen = headers[lower]
    // As Node does: repeated x-forwarded-for lines are one list; for the others the first wins.
    if (seen === undefined) headers[lower] = value
    else if (lower === 'x-forwarded-for') headers[lower] = `${seen as string}, ${value}`
  }
  return { method, target, headers }
}
