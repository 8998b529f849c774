// Percent-decoding as lenient back ends read it: `%XX` bytes, IIS's `%uXXXX`,
// raw latin1 request bytes, then the bytes as UTF-8 where overlong forms
// spell the ASCII they encode and full-width or look-alike `.` `/` `\` fold
// to ASCII. Repeated for double encoding, at most MAX_DECODE_ROUNDS rounds,
// each linear in its input (at most MAX_READ characters, and a few more for
// the separators of an examined query).

import { MAX_DECODE_ROUNDS, MAX_READ } from './limits'

/** Longest input decoded; the normaliser never hands over more (MAX_READ, plus a cut mark and a `&`). */
const MAX_INPUT = MAX_READ + 8

// Working memory of decodeOnce, private to it and reused by every call, so
// that decoding allocates nothing beyond the strings it returns. Each input
// char yields at most 3 bytes (surrogates are written as 3 bytes each), each
// byte at most one output char. The output is written twice, as latin1 and
// as UTF-16LE bytes, so that the common all-ASCII result is one native latin1
// conversion. Module constants rather than buffers handed down by the
// caller: V8 folds constants into the loops, and the UTF-8 loop measured
// about 1.9 times the instructions when they came in as arguments.
const BYTES = new Uint8Array(MAX_INPUT * 3)
const LATIN1 = Buffer.allocUnsafe(MAX_INPUT * 3)
const UTF16 = Buffer.allocUnsafe(MAX_INPUT * 3 * 2)

/** Whether `s` holds anything decodeRounds would change (`+` aside). */
export function needsDecoding (s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c === 37 /* % */ || c >= 0x80) return true
  }
  return false
}

/**
 * Decodes `s` (its first MAX_INPUT characters: the normaliser hands over no
 * more) up to MAX_DECODE_ROUNDS times, until nothing changes or nothing is
 * left to decode; `+` is a space in the first round when `plusIsSpace` (a
 * query string). Returns `s` itself when nothing changed.
 */
export function decodeRounds (s: string, plusIsSpace: boolean): string {
  let cur = s.length > MAX_INPUT ? s.slice(0, MAX_INPUT) : s
  for (let round = 0; round < MAX_DECODE_ROUNDS; round++) {
    const next = decodeOnce(cur, plusIsSpace && round === 0)
    // The same text back: every later round would give it back again.
    if (next === cur) break
    cur = next
    if (!needsDecoding(cur)) break
  }
  return cur
}

function hexValue (c: number): number {
  if (c >= 48 && c <= 57) return c - 48
  const l = c | 0x20
  if (l >= 97 && l <= 102) return l - 87
  return -1
}

/** Writes `cp` as (at most 3) UTF-8 bytes at bytes[n]; returns the next free index. */
function putUtf8 (bytes: Uint8Array, cp: number, n: number): number {
  if (cp < 0x80) {
    bytes[n++] = cp
  } else if (cp < 0x800) {
    bytes[n++] = 0xc0 | (cp >> 6)
    bytes[n++] = 0x80 | (cp & 0x3f)
  } else {
    bytes[n++] = 0xe0 | (cp >> 12)
    bytes[n++] = 0x80 | ((cp >> 6) & 0x3f)
    bytes[n++] = 0x80 | (cp & 0x3f)
  }
  return n
}

/**
 * One decoding round, in two passes. Chars below 0x100 are bytes (Node hands
 * raw non-ASCII request bytes over as latin1), `%XX` is a byte, `%uXXXX` a
 * code point; the bytes are then read as lenient UTF-8 where overlong forms
 * decode to the ASCII they spell (`%c0%ae` is `.`, IIS's `%c1%1c` is `\`).
 * Returns `s` itself when the round changed nothing.
 */
function decodeOnce (s: string, plusIsSpace: boolean): string {
  const bytes = BYTES
  const len = s.length
  let n = 0
  let changed = false
  for (let i = 0; i < len; i++) {
    const c = s.charCodeAt(i)
    if (c === 37) {
      // Reads past the end are avoided: they would deoptimise this loop.
      if (i + 2 < len) {
        const h = hexValue(s.charCodeAt(i + 1))
        const l = hexValue(s.charCodeAt(i + 2))
        if (h !== -1 && l !== -1) {
          bytes[n++] = (h << 4) | l
          i += 2
          changed = true
          continue
        }
        if (i + 5 < len && (s.charCodeAt(i + 1) | 0x20) === 117 /* u */) {
          const a = hexValue(s.charCodeAt(i + 2))
          const b = hexValue(s.charCodeAt(i + 3))
          const d = hexValue(s.charCodeAt(i + 4))
          const e = hexValue(s.charCodeAt(i + 5))
          if ((a | b | d | e) >= 0) {
            n = putUtf8(bytes, (a << 12) | (b << 8) | (d << 4) | e, n)
            i += 5
            changed = true
            continue
          }
        }
      }
      bytes[n++] = c
    } else if (c === 43 && plusIsSpace) {
      bytes[n++] = 32
      changed = true
    } else if (c < 0x80) {
      bytes[n++] = c
    } else if (c < 0x100) {
      bytes[n++] = c
      changed = true
    } else {
      n = putUtf8(bytes, c, n)
      changed = true
    }
  }
  if (!changed) return s

  // Second pass: the bytes as lenient UTF-8.
  const latin1 = LATIN1
  const utf16 = UTF16
  let m = 0
  let wide = false
  for (let i = 0; i < n; i++) {
    const b = bytes[i] as number
    if (b < 0x80) {
      latin1[m] = b
      utf16[2 * m] = b
      utf16[2 * m + 1] = 0
      m++
      continue
    }
    let cp = -1
    if (b >= 0xc0 && b < 0xe0 && i + 1 < n) {
      // c0/c1 are overlong by definition; IIS also took a non-continuation
      // second byte (%c1%1c), so the second byte is not checked for them.
      const b1 = bytes[i + 1] as number
      if (b < 0xc2 || (b1 & 0xc0) === 0x80) {
        cp = ((b & 0x1f) << 6) | (b1 & 0x3f)
        i += 1
      }
    } else if (b >= 0xe0 && b < 0xf0 && i + 2 < n) {
      const b1 = bytes[i + 1] as number
      const b2 = bytes[i + 2] as number
      if ((b1 & 0xc0) === 0x80 && (b2 & 0xc0) === 0x80) {
        cp = ((b & 0x0f) << 12) | ((b1 & 0x3f) << 6) | (b2 & 0x3f)
        i += 2
      }
    } else if (b >= 0xf0 && b < 0xf8 && i + 3 < n) {
      const b1 = bytes[i + 1] as number
      const b2 = bytes[i + 2] as number
      const b3 = bytes[i + 3] as number
      if ((b1 & 0xc0) === 0x80 && (b2 & 0xc0) === 0x80 && (b3 & 0xc0) === 0x80) {
        cp = ((b & 0x07) << 18) | ((b1 & 0x3f) << 12) | ((b2 & 0x3f) << 6) | (b3 & 0x3f)
        i += 3
      }
    }
    if (cp === -1) {
      // A byte that is not valid UTF-8 keeps its identity in the private use
      // area (U+F780-U+F7FF), so that a lone %AD stays recognisable.
      cp = 0xf700 | b
    } else if (cp > 0xffff) {
      cp -= 0x10000
      const high = 0xd800 | (cp >> 10)
      utf16[2 * m] = high & 0xff
      utf16[2 * m + 1] = high >> 8
      m++
      cp = 0xdc00 | (cp & 0x3ff)
    } else {
      cp = foldLookalike(cp)
    }
    if (cp >= 0x80) wide = true
    latin1[m] = cp & 0xff
    utf16[2 * m] = cp & 0xff
    utf16[2 * m + 1] = cp >> 8
    m++
  }
  return wide ? utf16.toString('utf16le', 0, 2 * m) : latin1.toString('latin1', 0, m)
}

// Full-width ASCII (U+FF01-U+FF5E) and the usual look-alikes of `.` `/` `\`
// are what a lenient back end (Windows, IIS, some Java stacks) reads as ASCII.
function foldLookalike (cp: number): number {
  if (cp >= 0xff01 && cp <= 0xff5e) return cp - 0xfee0
  switch (cp) {
    case 0x2024: case 0xfe52: case 0xff61: case 0x3002: return 0x2e
    case 0x2215: case 0x2044: case 0x29f8: return 0x2f
    case 0x2216: case 0xfe68: case 0x29f9: return 0x5c
    default: return cp
  }
}
