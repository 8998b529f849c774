// JSON string literals measured in UTF-8 bytes, and cut to fit a number of
// bytes, for the byte budget of an event (sanitize.ts, line.ts). The size is
// counted as the text is made, never by encoding it again: a string that
// needs no escaping and is ASCII is one byte a character, anything else goes
// through JSON.stringify and is measured once.

/** Longest string value kept, in characters (before any byte budget). */
export const MAX_STRING = 2000

// Printable ASCII other than `"` and `\`: written as is, one byte per character.
const NOT_PLAIN = /[^\x20\x21\x23-\x5b\x5d-\x7e]/

/** UTF-8 size and cut state of the text a write returned: the caller's, passed in and read at once. */
export class Measure {
  /** UTF-8 bytes of the text. */
  bytes = 0
  /** The room given made the write leave something out. */
  cut = false
}

export function clip (s: string, max: number = MAX_STRING): string {
  return s.length > max ? s.slice(0, max) : s
}

/** The first `max` characters of s, one fewer rather than half a surrogate pair. */
export function cutChars (s: string, max: number): string {
  if (s.length <= max) return s
  const last = s.charCodeAt(max - 1)
  return s.slice(0, last >= 0xd800 && last <= 0xdbff ? max - 1 : max)
}

// Bytes JSON.stringify's escaping and UTF-8 make of the characters of s, up
// to the longest prefix that fits in `room`; returns its end and sets out.bytes (quotes excluded).
function fitEnd (s: string, room: number, out: Measure): number {
  let bytes = 0
  let i = 0
  while (i < s.length) {
    const c = s.charCodeAt(i)
    let n = 1
    let w: number
    if (c < 0x20) w = c === 8 || c === 9 || c === 10 || c === 12 || c === 13 ? 2 : 6
    else if (c === 0x22 || c === 0x5c) w = 2
    else if (c < 0x80) w = 1
    else if (c < 0x800) w = 2
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      w = 4
      n = 2
    } else if (c >= 0xd800 && c <= 0xdfff) w = 6 // a lone surrogate: \udxxx
    else w = 3
    if (bytes + w > room) break
    bytes += w
    i += n
  }
  out.bytes = bytes
  return i
}

/**
 * JSON string literal of s, cut to at most `room` bytes of UTF-8 (room >= 2,
 * quotes included). Sets `out`. A cut string is written in a fresh copy,
 * never as a slice that would keep the whole original alive.
 */
export function fitLiteral (s: string, room: number, out: Measure): string {
  let cut = false
  if (s.length + 2 > room) {
    s = cutChars(s, room - 2)
    cut = true
  }
  out.cut = cut
  if (!NOT_PLAIN.test(s)) {
    out.bytes = s.length + 2
    return cut ? JSON.stringify(s) : '"' + s + '"'
  }
  const text = JSON.stringify(s)
  const bytes = Buffer.byteLength(text)
  if (bytes <= room) {
    out.bytes = bytes
    return text
  }
  const end = fitEnd(s, room - 2, out)
  out.bytes += 2
  out.cut = true
  return JSON.stringify(s.slice(0, end))
}
