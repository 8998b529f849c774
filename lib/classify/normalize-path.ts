// Undoes the disguises scanners put on a probe path before any pattern list
// is consulted: percent-encoding (repeated, for double encoding), %uXXXX,
// overlong UTF-8 and full-width forms of `.` `/` `\`, case, backslashes,
// duplicate slashes, `;` path parameters, NUL bytes and whatever follows them,
// trailing junk (spaces, tabs, dots, `::$DATA`) and dot segments.
//
// Pure and bounded (lib/classify/limits.ts): at most MAX_READ characters are
// read, at most MAX_DECODE_ROUNDS decoding rounds run
// (lib/classify/percent-decode.ts), every loop is linear in the input and no
// regular expression is used. Padding a server collapses (`//`, `/./`,
// `seg/..`, encoded or not) is collapsed here before anything is counted:
// of the result, at most MAX_EXAMINED characters and MAX_SEGMENTS segments
// of the path are kept (whole segments), and of the query each parameter's
// name and value up to MAX_PARAM_EXAMINED characters, for at most MAX_PARAMS
// parameters and MAX_QUERY_EXAMINED characters in all.

import {
  MAX_EXAMINED, MAX_PARAM_EXAMINED, MAX_PARAMS, MAX_QUERY_EXAMINED, MAX_READ, MAX_SEGMENTS
} from './limits'
import { decodeRounds, needsDecoding } from './percent-decode'

/**
 * Put into the examined query where a part of it was left out (the rest of a
 * long name or value, parameters past the bounds): no pattern holds it, so
 * no match spans the gap, and `$` is never matched at a cut.
 */
export const QUERY_CUT = '\u0001'

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
  /**
   * The normalised path went on past path[0, end) (past MAX_EXAMINED,
   * MAX_SEGMENTS or MAX_READ): its last examined segment is not its file name.
   */
  cut: boolean
  /** The raw path needed decoding or cleaning (encoding, `\`, `;`, junk, dot segments). */
  disguised: boolean
}

export function createNormalizedPath (): NormalizedPath {
  return { path: '', end: 0, count: 0, query: '', traversal: false, cut: false, disguised: false }
}

/** Normalises a request target (path, optionally with a query string), with its segments split out. */
export function normalizePath (target: string): NormalizedPath & { segments: string[] } {
  const out = normalizeInto(createNormalizedPath(), target)
  const segments = out.end === 0 ? [] : out.path.slice(1, out.end).split('/')
  return { ...out, segments }
}

/**
 * Normalises `target` into `out`, which belongs to the caller and may be
 * reused (the classifier does: an ordinary path then allocates nothing).
 * Returns `out`. Never throws for a string.
 */
export function normalizeInto (out: NormalizedPath, target: string): NormalizedPath {
  out.path = ''
  out.end = 0
  out.count = 0
  out.query = ''
  out.traversal = false
  out.cut = false
  out.disguised = false

  // Past MAX_READ the last path segment or query parameter read is partial.
  const partial = target.length > MAX_READ
  let s = partial ? target.slice(0, MAX_READ) : target
  s = stripSchemeAndAuthority(s)

  const q = s.indexOf('?')
  let path = q === -1 ? s : s.slice(0, q)
  let query = q === -1 ? '' : s.slice(q + 1)
  let pathPartial = partial && q === -1

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
        pathPartial = false
      }
      flags = inspect(path)
    }
  }
  if ((flags & UPPER) !== 0) path = path.toLowerCase()
  splitSegments(out, path, flags, pathPartial)

  if (query !== '') {
    query = examineQuery(query, partial)
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

// What inspect() found, as bits, with the number of slashes above them.
const DECODE = 1
const UPPER = 2
const CARE = 4
const DOUBLE_SLASH = 8
const SLASH_SHIFT = 4

/**
 * One pass over the path: does it need decoding (`%`, non-ASCII), lowercasing,
 * or the careful split (whitespace and control characters, `\`, `;`, `#`,
 * `:` for NTFS streams, dot segments, hidden names, trailing dots)? Also
 * counts the slashes and sees two in a row (DOUBLE_SLASH); the count is
 * returned in the bits from SLASH_SHIFT up. Plain loops rather than regular
 * expressions: on long input V8 runs them several times faster than its
 * regexp engine runs a character class.
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
  return flags | (double ? DOUBLE_SLASH : 0) | (n << SLASH_SHIFT)
}

// Segments of a path that needs the careful split, before they are joined:
// working memory private to splitSegments, which hands it to pushSegment.
const SEGMENTS: string[] = []

/**
 * Sets out.path/end/count from a decoded, lowercased path and its inspect()
 * flags; resolves dot segments. `partial`: the path was cut at MAX_READ, so
 * its last segment is not whole.
 */
function splitSegments (out: NormalizedPath, path: string, flags: number, partial: boolean): void {
  if ((flags & (CARE | DOUBLE_SLASH)) === 0 && path.charCodeAt(0) === 47) {
    // Ordinary paths are used as they are, a trailing slash left out.
    let end = path.length
    let count = flags >>> SLASH_SHIFT
    let lastPartial = false
    if (path.charCodeAt(end - 1) === 47) {
      end--
      count--
    } else if (partial) {
      // A segment cut at MAX_READ: three or more dots are traversal as a whole segment would be.
      if (onlyDots(path, path.lastIndexOf('/') + 1, end, 3)) {
        out.traversal = true
        return
      }
      lastPartial = true
    }
    out.path = path
    if (partial || end > MAX_EXAMINED || count > MAX_SEGMENTS) {
      examinedPrefix(out, path, end, lastPartial)
      if (partial) out.cut = true
    } else {
      out.end = end
      out.count = count
    }
    return
  }
  const segments = SEGMENTS
  const len = path.length
  let start = 0
  let param = -1
  let dotdot = false
  let total = 0
  // Every raw character is read (at most MAX_READ): dropped segments (`//`, `/./`, `seg/..`) cost no examined budget.
  let i = 0
  for (; i <= len && !out.traversal; i++) {
    const c = i === len ? 47 : path.charCodeAt(i)
    if (c === 0 || c === 35 /* # */) {
      // A NUL ends the path for a C back end; a fragment never reaches a
      // server from a browser. Either way, what follows is ignored.
      out.disguised = true
      if (pushSegment(out, path, start, param === -1 ? i : param, segments)) dotdot = true
      break
    }
    if (c === 47 || c === 92 /* \ */) {
      if (i === len && partial) {
        // The segment cut at MAX_READ is left out, but for one of three or more dots (traversal whole or not).
        if (onlyDots(path, start, param === -1 ? i : param, 3)) out.traversal = true
        out.cut = true
        break
      }
      if (c === 92) out.disguised = true
      const end = param === -1 ? i : param
      // Empty and `.` segments (`//`, `/./`: the usual padding) are dropped without a call.
      if (end > start + 1 || (end === start + 1 && path.charCodeAt(start) !== 46)) {
        if (pushSegment(out, path, start, end, segments)) dotdot = true
      }
      start = i + 1
      param = -1
    } else if (c === 59 /* ; */ && param === -1) {
      param = i
      out.disguised = true
    }
  }
  // Browsers and curl resolve dot segments before sending; a `..` that
  // arrives encoded, with `\` or `;`, is a traversal attempt.
  if (dotdot && out.disguised) out.traversal = true
  // The examined path: whole segments, at most MAX_SEGMENTS of them and MAX_EXAMINED characters.
  let joined = ''
  let k = 0
  for (; k < out.count && k < MAX_SEGMENTS; k++) {
    const seg = segments[k] as string
    total += seg.length + 1
    if (total > MAX_EXAMINED) break
    joined += '/' + seg
  }
  if (k < out.count) out.cut = true
  out.count = k
  out.path = joined
  out.end = joined.length
}

/** Whether path[start, end) is at least `least` dots and nothing else. */
function onlyDots (path: string, start: number, end: number, least: number): boolean {
  if (end - start < least) return false
  for (let k = start; k < end; k++) if (path.charCodeAt(k) !== 46) return false
  return true
}

/**
 * out.end/count/cut for an ordinary path (path[0, end), a `/` before every
 * segment, none empty) that is too long or cut at MAX_READ: the whole
 * segments that fit in MAX_EXAMINED characters and MAX_SEGMENTS segments;
 * the last segment is left out when `partial`.
 */
function examinedPrefix (out: NormalizedPath, path: string, end: number, partial: boolean): void {
  let e = 0
  let k = 0
  while (k < MAX_SEGMENTS) {
    let next = path.indexOf('/', e + 1)
    if (next === -1 || next > end) next = end
    if (next > MAX_EXAMINED || (next === end && partial)) break
    e = next
    k++
    if (next === end) break
  }
  out.end = e
  out.count = k
  out.cut = e < end
}

/**
 * The examined part of a raw query string: each parameter's name and value
 * cut to MAX_PARAM_EXAMINED characters, at most MAX_PARAMS non-empty
 * parameters and MAX_QUERY_EXAMINED characters of names and values in all,
 * QUERY_CUT wherever something was left out. Separators (`&`, `=`) are kept
 * as they are. `partial`: the query was cut at MAX_READ.
 * A query that no bound cuts is returned as it is.
 */
function examineQuery (raw: string, partial: boolean): string {
  const len = raw.length
  if (len <= MAX_PARAM_EXAMINED && !partial) return raw
  let out = ''
  let params = 0
  let examined = 0
  let eq = -2
  let i = 0
  for (;;) {
    let amp = raw.indexOf('&', i)
    if (amp === -1) amp = len
    if (amp > i) {
      if (params === MAX_PARAMS || examined === MAX_QUERY_EXAMINED) return out + QUERY_CUT
      params++
      // The first `=` of the parameter, found once per parameter at most: a search from i only when the last one found lies before it.
      if (eq !== -1 && eq < i) eq = raw.indexOf('=', i)
      const nameEnd = eq === -1 || eq > amp ? amp : eq
      let take = Math.min(nameEnd - i, MAX_PARAM_EXAMINED, MAX_QUERY_EXAMINED - examined)
      out += raw.slice(i, i + take)
      examined += take
      if (take < nameEnd - i) out += QUERY_CUT
      if (nameEnd < amp) {
        take = Math.min(amp - nameEnd - 1, MAX_PARAM_EXAMINED, MAX_QUERY_EXAMINED - examined)
        out += '=' + raw.slice(nameEnd + 1, nameEnd + 1 + take)
        examined += take
        if (take < amp - nameEnd - 1) out += QUERY_CUT
      }
    }
    if (amp === len) break
    out += '&'
    i = amp + 1
  }
  return partial ? out + QUERY_CUT : out
}

/** Pushes path[start, end) cleaned onto `segments` (or pops for `..`); returns true when it was `..`. */
function pushSegment (out: NormalizedPath, path: string, start: number, end: number, segments: string[]): boolean {
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
  segments[out.count++] = path.slice(a, b)
  return false
}
