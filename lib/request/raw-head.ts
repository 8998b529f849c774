// What can be read of a request that Node's HTTP parser refused (a space in
// the target, headers too large, a bad header byte): its request line and the
// few headers the plugin reads, from the bytes Node already holds
// (`err.rawPacket` of a 'clientError'). Bounded: at most RAW_HEAD_BYTES are
// looked at, whatever the attacker sent, and nothing is kept.
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

export interface RawHead {
  method: string
  /** The request target as sent (path and query), '' when the line had none. */
  target: string
  headers: IncomingHttpHeaders
}

/** Reads the head of a refused request; undefined when not even a request line arrived. */
export function readRawHead (packet: unknown): RawHead | undefined {
  if (!Buffer.isBuffer(packet) || packet.length === 0) return undefined
  const text = packet.toString('latin1', 0, Math.min(packet.length, RAW_HEAD_BYTES))
  let eol = text.indexOf('\n')
  if (eol === -1) eol = text.length
  const line = text.slice(0, eol).replace(/\r$/, '')
  const sp = line.indexOf(' ')
  if (sp <= 0) return undefined
  const method = line.slice(0, Math.min(sp, MAX_METHOD))
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
    if (colon <= 0) continue
    const name = header.slice(0, colon).trim().toLowerCase()
    if (!WANTED.has(name)) continue
    const value = header.slice(colon + 1).trim()
    const seen = headers[name]
    // As Node does: repeated x-forwarded-for lines are one list; for the others the first wins.
    if (seen === undefined) headers[name] = value
    else if (name === 'x-forwarded-for') headers[name] = `${seen as string}, ${value}`
  }
  return { method, target, headers }
}
