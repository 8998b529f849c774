// Undoes the disguises scanners put on a probe path before any pattern list
// is consulted: percent-encoding (repeated, for double encoding), %uXXXX,
// overlong UTF-8 and full-width forms of `.` `/` `\`, case, backslashes,
// duplicate slashes, `;` path parameters, NUL bytes and whatever follows them,
// trailing junk (spaces, tabs, dots, `::$DATA`) and dot segments.
//
// Pure and bounded: at most MAX_EXAMINED characters are looked at, at most
// MAX_DECODE_ROUNDS decoding rounds run, every loop is linear in the input and
// no regular expression is used.

/**
 * Characters of the request target that are examined; the rest is ignored.
 * Probes carry their signal early (the longest line of the development corpus
 * has 234 characters); past this point is padding, which only costs time.
 */
export const MAX_EXAMINED = 512
/** Percent-decoding rounds: `%25252e` needs three. */
export const MAX_DECODE_ROUNDS = 4
/** Path segments kept; no probe needs more, and `/a/a/a/...` stays cheap. */
export const MAX_SEGMENTS = 64

export interface NormalizedPath {
  /**
   * The normalised path is `path.slice(0, end)`: decoded, lowercased, `/`
   * before every segment, empty and `.` segments dropped, `..` resolved, ''
   * for the root. Kept as a string and an end so that an ordinary path (no
   * decoding, no dot segment, at most a trailing slash) is the input itself:
   * nothing is copied.
   */
  path: string
  end: number
  /** Number of segments. */
  count: number
  /** Decoded, lowercased query string (`+` read as a space, `\` as `/`); '' when absent. */
  query: string
  /** A `..` climbed above the root, a segment was only dots, or a `..` was disguised. */
  traversal: boolean
  /** The raw path needed decoding or cleaning (encoding, `\`, `;`, junk, dot segments). */
  disguised: boolean
}

export function createNormalizedPath (): NormalizedPath {
  return { path: '', end: 0, count: 0, query: '', traversal: false, disguised: false }
}

/** Normalises a request target (path, optionally with a query string), with its segments split out. */
export function normalizePath (target: string): NormalizedPath & { segments: string[] } {
  const out = normalizeInto(createNormalizedPath(), target)
  const segments = out.end === 0 ? [] : out.path.slice(1, out.end).split('/')
  return { ...out, segments }
}

// Scratch buffers shared by every call: decoding never allocates beyond the
// strings it returns. Each input char yields at most 3 bytes (surrogates are
// written as 3 bytes each), each byte at most one output char. The output is
// written twice, as latin1 and as UTF-16LE bytes, so that the common all-ASCII
// result is one native latin1 conversion.
const BYTES = new Uint8Array(MAX_EXAMINED * 3 + 8)
const OUT8 = Buffer.allocUnsafe(MAX_EXAMINED * 3 + 8)
const OUT16 = Buffer.allocUnsafe((MAX_EXAMINED * 3 + 8) * 2)
// Set by decodeOnce: whether the round changed anything.
let decodedSomething = false
// Set by inspect: slashes seen, and whether two came in a row.
let slashes = 0
let doubleSlash = false
// Segments of a path that needed the careful split, before they are joined.
const SEGMENTS: string[] = []

/**
 * Normalises `target` into `out`, which the classifier reuses: an ordinary
 * path allocates nothing. Never throws for a string.
 */
export function normalizeInto (out: NormalizedPath, target: string): NormalizedPath {
  out.path = ''
  out.end = 0
  out.count = 0
  out.query = ''
  out.traversal = false
  out.disguised = false

  let s = target.length > MAX_EXAMINED ? target.slice(0, MAX_EXAMINED) : target
  s = stripSchemeAndAuthority(s)

  const q = s.indexOf('?')
  let path = q === -1 ? s : s.slice(0, q)
  let query = q === -1 ? '' : s.slice(q + 1)

  let flags = inspect(path)
  if ((flags & DECODE) !== 0) {
    const decoded = decodeRounds(path, false)
    if (decoded !== path) {
      out.disguised = true
      path = decoded
      // An encoded `?` (%3F) hides the query inside the path.
      const q2 = path.indexOf('?')
      if (q2 !== -1) {
        query = query === '' ? path.slice(q2 + 1) : path.slice(q2 + 1) + '&' + query
        path = path.slice(0, q2)
      }
      flags = inspect(path)
    }
  }
  if ((flags & UPPER) !== 0) path = path.toLowerCase()
  splitSegments(out, path, (flags & CARE) !== 0)

  if (query !== '') {
    if (needsDecoding(query) || query.indexOf('+') !== -1) query = decodeRounds(query, true)
    query = query.toLowerCase()
    if (query.indexOf('\\') !== -1) query = query.replaceAll('\\', '/')
    out.query = query
  }
  return out
}

// `GET http://host/path` (absolute form, sent by proxies and proxy probes):
// classify the path only.
function stripSchemeAndAuthority (s: string): string {
  if (s.charCodeAt(0) === 47 /* / */) return s
  const sep = s.indexOf('://')
  if (sep <= 0 || sep > 16) return s
  for (let i = 0; i < sep; i++) {
    const c = s.charCodeAt(i) | 0x20
    if (!((c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 0x2b || c === 0x2d || c === 0x2e)) return s
  }
  const slash = s.indexOf('/', sep + 3)
  return slash === -1 ? '/' : s.slice(slash)
}

const DECODE = 1
const UPPER = 2
const CARE = 4

/**
 * One pass over the path: does it need decoding (`%`, non-ASCII), lowercasing,
 * or the careful split (whitespace and control characters, `\`, `;`, `#`,
 * `:` for NTFS streams, dot segments, hidden names, trailing dots)? Plain
 * loops rather than regular expressions: on long input V8 runs them several
 * times faster than its regexp engine runs a character class.
 */
function inspect (path: string): number {
  let flags = 0
  let n = 0
  let double = false
  const last = path.length - 1
  for (let i = 0; i <= last; i++) {
    const c = path.charCodeAt(i)
    if (c >= 97) {
      if (c >= 0x80) flags |= DECODE | UPPER
    } else if (c === 47) {
      n++
      if (i > 0 && path.charCodeAt(i - 1) === 47) double = true
    } else if (c >= 65 && c <= 90) {
      flags |= UPPER
    } else if (c === 37) {
      flags |= DECODE
    } else if (c <= 32 || c === 92 || c === 59 || c === 35 || c === 58) {
      flags |= CARE
    } else if (c === 46 && (i === last || path.charCodeAt(i + 1) === 47 || (i > 0 && path.charCodeAt(i - 1) === 47))) {
      flags |= CARE
    }
  }
  slashes = n
  doubleSlash = double
  return flags
}

function needsDecoding (s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c === 37 /* % */ || c >= 0x80) return true
  }
  return false
}

function decodeRounds (s: string, plusIsSpace: boolean): string {
  let cur = s
  for (let round = 0; round < MAX_DECODE_ROUNDS; round++) {
    const next = decodeOnce(cur, plusIsSpace && round === 0)
    if (!decodedSomething) break
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

function putUtf8 (cp: number, n: number): number {
  if (cp < 0x80) {
    BYTES[n++] = cp
  } else if (cp < 0x800) {
    BYTES[n++] = 0xc0 | (cp >> 6)
    BYTES[n++] = 0x80 | (cp & 0x3f)
  } else {
    BYTES[n++] = 0xe0 | (cp >> 12)
    BYTES[n++] = 0x80 | ((cp >> 6) & 0x3f)
    BYTES[n++] = 0x80 | (cp & 0x3f)
  }
  return n
}

/**
 * One decoding round. Chars below 0x100 are bytes (Node hands raw non-ASCII
 * request bytes over as latin1), `%XX` is a byte, `%uXXXX` a code point; the
 * bytes are then read as lenient UTF-8 where overlong forms decode to the
 * ASCII they spell (`%c0%ae` is `.`, IIS's `%c1%1c` is `\`).
 */
function decodeOnce (s: string, plusIsSpace: boolean): string {
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
          BYTES[n++] = (h << 4) | l
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
            n = putUtf8((a << 12) | (b << 8) | (d << 4) | e, n)
            i += 5
            changed = true
            continue
          }
        }
      }
      BYTES[n++] = c
    } else if (c === 43 && plusIsSpace) {
      BYTES[n++] = 32
      changed = true
    } else if (c < 0x80) {
      BYTES[n++] = c
    } else if (c < 0x100) {
      BYTES[n++] = c
      changed = true
    } else {
      n = putUtf8(c, n)
      changed = true
    }
  }
  decodedSomething = changed
  return changed ? readUtf8Leniently(n) : s
}

function readUtf8Leniently (n: number): string {
  let m = 0
  let wide = false
  for (let i = 0; i < n; i++) {
    const b = BYTES[i] as number
    if (b < 0x80) {
      OUT8[m] = b
      OUT16[2 * m] = b
      OUT16[2 * m + 1] = 0
      m++
      continue
    }
    let cp = -1
    if (b >= 0xc0 && b < 0xe0 && i + 1 < n) {
      // c0/c1 are overlong by definition; IIS also took a non-continuation
      // second byte (%c1%1c), so the second byte is not checked for them.
      const b1 = BYTES[i + 1] as number
      if (b < 0xc2 || (b1 & 0xc0) === 0x80) {
        cp = ((b & 0x1f) << 6) | (b1 & 0x3f)
        i += 1
      }
    } else if (b >= 0xe0 && b < 0xf0 && i + 2 < n) {
      const b1 = BYTES[i + 1] as number
      const b2 = BYTES[i + 2] as number
      if ((b1 & 0xc0) === 0x80 && (b2 & 0xc0) === 0x80) {
        cp = ((b & 0x0f) << 12) | ((b1 & 0x3f) << 6) | (b2 & 0x3f)
        i += 2
      }
    } else if (b >= 0xf0 && b < 0xf8 && i + 3 < n) {
      const b1 = BYTES[i + 1] as number
      const b2 = BYTES[i + 2] as number
      const b3 = BYTES[i + 3] as number
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
      OUT16[2 * m] = high & 0xff
      OUT16[2 * m + 1] = high >> 8
      m++
      cp = 0xdc00 | (cp & 0x3ff)
    } else {
      cp = foldLookalike(cp)
    }
    if (cp >= 0x80) wide = true
    OUT8[m] = cp & 0xff
    OUT16[2 * m] = cp & 0xff
    OUT16[2 * m + 1] = cp >> 8
    m++
  }
  return wide ? OUT16.toString('utf16le', 0, 2 * m) : OUT8.toString('latin1', 0, m)
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

/** Sets out.path/end/count from a decoded, lowercased path; resolves dot segments. */
function splitSegments (out: NormalizedPath, path: string, careful: boolean): void {
  if (!careful && !doubleSlash && path.charCodeAt(0) === 47) {
    // Ordinary paths are used as they are, a trailing slash left out.
    let end = path.length
    let count = slashes
    if (path.charCodeAt(end - 1) === 47) {
      end--
      count--
    }
    if (count > MAX_SEGMENTS) {
      count = MAX_SEGMENTS
      end = 0
      for (let k = 0; k < MAX_SEGMENTS; k++) end = path.indexOf('/', end + 1)
    }
    out.path = path
    out.end = end
    out.count = count
    return
  }
  const len = path.length
  let start = 0
  let param = -1
  let dotdot = false
  // Raw segments looked at, dropped ones included (`/./././...`).
  let budget = MAX_SEGMENTS * 4
  let i = 0
  for (; i <= len && out.count < MAX_SEGMENTS && budget > 0 && !out.traversal; i++) {
    const c = i === len ? 47 : path.charCodeAt(i)
    if (c === 0 || c === 35 /* # */) {
      // A NUL ends the path for a C back end; a fragment never reaches a
      // server from a browser. Either way, what follows is ignored.
      out.disguised = true
      if (pushSegment(out, path, start, param === -1 ? i : param)) dotdot = true
      break
    }
    if (c === 47 || c === 92 /* \ */) {
      if (c === 92) out.disguised = true
      if (pushSegment(out, path, start, param === -1 ? i : param)) dotdot = true
      start = i + 1
      param = -1
      budget--
    } else if (c === 59 /* ; */ && param === -1) {
      param = i
      out.disguised = true
    }
  }
  // Browsers and curl resolve dot segments before sending; a `..` that
  // arrives encoded, with `\` or `;`, is a traversal attempt.
  if (dotdot && out.disguised) out.traversal = true
  let joined = ''
  for (let k = 0; k < out.count; k++) joined += '/' + (SEGMENTS[k] as string)
  out.path = joined
  out.end = joined.length
}

/** Returns true when the segment was `..`. */
function pushSegment (out: NormalizedPath, path: string, start: number, end: number): boolean {
  if (end <= start) return false
  let a = start
  let b = end
  // Trailing junk that Windows and lenient servers ignore: spaces, control
  // characters and dots; and NTFS stream suffixes (`::$DATA`).
  for (let k = a; k + 1 < b; k++) {
    if (path.charCodeAt(k) === 58 && path.charCodeAt(k + 1) === 58) {
      b = k
      out.disguised = true
      break
    }
  }
  while (a < b && path.charCodeAt(a) <= 32) a++
  while (b > a && path.charCodeAt(b - 1) <= 32) b--
  if (a !== start || b !== end) out.disguised = true
  if (a === b) return false

  // Dot segments: `.` is dropped, `..` climbs, three or more dots (old IIS
  // and Windows read `...` as two levels up) are traversal outright.
  if (path.charCodeAt(a) === 46) {
    let k = a
    while (k < b && path.charCodeAt(k) === 46) k++
    if (k === b) {
      const dots = b - a
      if (dots === 2) {
        if (out.count === 0) out.traversal = true
        else out.count--
        return true
      }
      if (dots > 2) out.traversal = true
      return false
    }
  }
  const trimmedEnd = b
  while (b > a && (path.charCodeAt(b - 1) === 46 || path.charCodeAt(b - 1) <= 32)) b--
  if (b !== trimmedEnd) out.disguised = true
  if (a === b) return false
  SEGMENTS[out.count++] = path.slice(a, b)
  return false
}
