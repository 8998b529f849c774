// The scanning loops of the classifier: one pass of the path automaton over
// `^/seg1/.../segN/$`, which also finds the file-name patterns of the last
// segment, then one pass of the query automaton over `^query$`.
//
// Two entries:
//   scanTarget      the raw request target when it is already normalised but
//                   for ASCII case (the common case: no `%`, `\`, `;`, dot
//                   segment ...). It checks that while it scans, folds case
//                   through its class table, and gives up (returns false)
//                   at the first character that needs the normaliser.
//   scanNormalized  a path and query that lib/classify/normalize-path.ts has
//                   normalised.
// Both feed the automata the same symbols for the same input, which
// test/classify-fast-path.test.ts checks over the corpora and their disguises.

import { MAX_EXAMINED, MAX_SEGMENTS } from './limits'
import { END_COLUMN, type LiteralAutomaton } from './literal-automaton'

/**
 * Output groups of the path automaton. File-name patterns are compiled into
 * it with `^` written as `/` and `$` as `/$` (lib/classify/classify.ts), and
 * hold no other `/`, so a match lies within one segment; the scanner keeps
 * only those of the last segment.
 */
export const PATH_STRONG = 0
export const PATH_WEAK = 1
export const PATH_TAGS = 2
export const NAME_STRONG = 3
export const NAME_WEAK = 4
export const NAME_TAGS = 5
export const PATH_GROUPS = 6
/** Output groups of the query automaton. */
export const QUERY_STRONG = 0
export const QUERY_TAGS = 1
export const QUERY_GROUPS = 2

/** Longest file name a server can hold (NAME_MAX); longer last segments match no name pattern. */
const NAME_MAX = 255

/** What a scan found: bit masks (lib/classify/classify.ts names the bits) and the path's shape. */
export interface Scan {
  pathStrong: number
  pathWeak: number
  pathTags: number
  /** Name patterns found in the last segment (the file name). */
  nameStrong: number
  nameWeak: number
  nameTags: number
  /** Whether there is a non-empty query; queryStrong and queryTags are 0 without one. */
  hasQuery: boolean
  queryStrong: number
  queryTags: number
  /** The normalised path is path[0, end) (no trailing slash; '' for the root). */
  end: number
  /** Number of segments. */
  depth: number
  /** Where the last segment starts (0 for the root). */
  nameStart: number
  /** Where the first `/.` (a hidden segment) is in path[0, end); -1 for none. */
  hidden: number
  /** Whether the path may hold ASCII capitals (the raw target's; a normalised path has none). */
  upper: boolean
}

export function createScan (): Scan {
  return {
    pathStrong: 0,
    pathWeak: 0,
    pathTags: 0,
    nameStrong: 0,
    nameWeak: 0,
    nameTags: 0,
    hasQuery: false,
    queryStrong: 0,
    queryTags: 0,
    end: 0,
    depth: 0,
    nameStart: 0,
    hidden: -1,
    upper: false
  }
}

/**
 * Characters whose columns the path automaton must flag for scanTarget: the
 * ones it stops at. `/`, `.`, `?` (the end of the path) and capitals it
 * notes; at any other the raw path may differ from its normalised form
 * (lib/classify/normalize-path.ts: `%` decodes; `\` splits; `;` starts a
 * parameter; `#` and NUL end the path; whitespace and controls are trimmed;
 * `:` may start `::$DATA`) and it gives up.
 */
export const RAW_PATH_STOPS = '/.?%\\;#:ABCDEFGHIJKLMNOPQRSTUVWXYZ' + Array.from({ length: 33 }, (_, c) => String.fromCharCode(c)).join('')

export class PathScanner {
  /** `path` was built with RAW_PATH_STOPS flagged; `query` with nothing flagged. */
  constructor (private readonly path: LiteralAutomaton, private readonly query: LiteralAutomaton) {}

  /**
   * Scans a raw request target (path, maybe `?query`) that the normaliser
   * would leave as it is but for ASCII case: at most MAX_EXAMINED characters,
   * all ASCII, starting with `/`, no character of RAW_PATH_STOPS in the path
   * but `/`, `.` and the `?` that ends it, no `//`, no segment ending in `.`
   * (which rules out `.` and `..` too), at most MAX_SEGMENTS segments, no `%`
   * in the query. Fills `r` and returns true; returns false (`r` then holds
   * nothing of use) for any other target.
   */
  scanTarget (t: string, r: Scan): boolean {
    const len = t.length
    if (len === 0 || len > MAX_EXAMINED || t.charCodeAt(0) !== 47) return false
    clear(r)
    // The loop carries two numbers, the position and the state; all else it
    // finds goes into `r` on the rare characters that matter (a flagged one,
    // a state with an output), so that V8 keeps the common path in registers.
    const a = this.path
    const delta = a.delta
    const w = a.width | 0
    const flag = a.flag | 0
    const firstOutput = a.firstOutput | 0
    let s = a.start | 0
    let i = 0
    for (; i < len; i++) {
      const c = t.charCodeAt(i)
      if (c >= 128) return false
      let next = delta[(Math.imul(s, w) + c) | 0] as number
      if (next >= flag) {
        if (c === 47) {
          if (!rawSlash(t, i, r)) return false
        } else if (c === 46) {
          if (r.hidden === -1 && t.charCodeAt(i - 1) === 47) r.hidden = i - 1
        } else if (c === 63) {
          break
        } else if (c >= 65 && c <= 90) {
          r.upper = true
        } else {
          return false
        }
        next -= flag
      }
      s = next
      if (s >= firstOutput) addPathOutputs(a.out, s - firstOutput, r)
    }
    // i is where the path ends (at `?` or the end); i >= 1.
    const last = t.charCodeAt(i - 1)
    if (last === 46) return false
    // r.depth counted the slashes.
    if (last === 47) {
      r.depth--
      r.end = i - 1
    } else {
      r.end = i
      s = (delta[(Math.imul(s, w) + 47) | 0] as number) - flag
      if (s >= firstOutput) addPathOutputs(a.out, s - firstOutput, r)
    }
    if (r.depth > MAX_SEGMENTS) return false
    s = delta[(Math.imul(s, w) + END_COLUMN) | 0] as number
    if (s >= firstOutput) addPathOutputs(a.out, s - firstOutput, r)
    if (r.end - r.nameStart > NAME_MAX) clearName(r)

    if (i + 1 < len) {
      r.hasQuery = true
      const q = this.query
      const qdelta = q.delta
      const qw = q.width | 0
      const qFirstOutput = q.firstOutput | 0
      let u = q.start | 0
      for (let j = i + 1; j < len; j++) {
        let c = t.charCodeAt(j)
        if (c >= 128 || c === 37) return false
        // What the normaliser makes of them: `+` is a space, `\` a slash.
        if (c === 43) c = 32
        else if (c === 92) c = 47
        u = qdelta[(Math.imul(u, qw) + c) | 0] as number
        if (u >= qFirstOutput) addQueryOutputs(q.out, u - qFirstOutput, r)
      }
      u = qdelta[(Math.imul(u, qw) + END_COLUMN) | 0] as number
      if (u >= qFirstOutput) addQueryOutputs(q.out, u - qFirstOutput, r)
    }
    return true
  }

  /**
   * Scans a normalised path, path[0, end) with `depth` segments, and a
   * normalised query ('' for none): lowercase, decoded, no empty or dot
   * segment (lib/classify/normalize-path.ts). `cut`: the path went on past
   * `end` (NormalizedPath.cut), so `$` is not fed and no file-name pattern
   * counts: the examined last segment is not the file name.
   */
  scanNormalized (path: string, end: number, depth: number, query: string, r: Scan, cut = false): void {
    clear(r)
    r.end = end
    r.depth = depth
    // r.hidden is found by the loop below, within path[0, end): the string may go on far past `end`.
    const a = this.path
    const w = a.width | 0
    const mask = (a.flag - 1) | 0
    const firstOutput = a.firstOutput | 0
    let s = a.start | 0
    for (let i = 0; i < end; i++) {
      const c = path.charCodeAt(i)
      if (c === 47) {
        // Name outputs are those after the last slash.
        r.nameStart = i + 1
        clearName(r)
        if (r.hidden === -1 && path.charCodeAt(i + 1) === 46) r.hidden = i
      }
      s = (a.delta[(Math.imul(s, w) + a.column(c)) | 0] as number) & mask
      if (s >= firstOutput) addPathOutputs(a.out, s - firstOutput, r)
    }
    s = (a.delta[(Math.imul(s, w) + 47) | 0] as number) & mask
    if (s >= firstOutput) addPathOutputs(a.out, s - firstOutput, r)
    if (cut) {
      r.nameStart = end
      clearName(r)
    } else {
      s = a.delta[(Math.imul(s, w) + END_COLUMN) | 0] as number
      if (s >= firstOutput) addPathOutputs(a.out, s - firstOutput, r)
      if (end - r.nameStart > NAME_MAX) clearName(r)
    }

    if (query !== '') {
      r.hasQuery = true
      const q = this.query
      const qw = q.width | 0
      const qFirstOutput = q.firstOutput | 0
      let u = q.start | 0
      for (let j = 0; j <= query.length; j++) {
        // The query, then `$`.
        const col = j === query.length ? END_COLUMN : q.column(query.charCodeAt(j))
        u = q.delta[(Math.imul(u, qw) + col) | 0] as number
        if (u >= qFirstOutput) addQueryOutputs(q.out, u - qFirstOutput, r)
      }
    }
  }
}

/** A `/` at t[i] of a raw path: false when the normaliser would change the path there. */
function rawSlash (t: string, i: number, r: Scan): boolean {
  if (i > 0) {
    // `//` is squeezed and a trailing `.` trimmed by the normaliser.
    const before = t.charCodeAt(i - 1)
    if (before === 47 || before === 46) return false
  }
  r.depth++
  // A slash that ends the path (before `?` or the end) is left out of the
  // normalised path: the last segment, and its name matches, are before it.
  if (i + 1 < t.length && t.charCodeAt(i + 1) !== 63) {
    r.nameStart = i + 1
    clearName(r)
  }
  return true
}

function addPathOutputs (out: Int32Array, state: number, r: Scan): void {
  const o = state * PATH_GROUPS
  r.pathStrong |= out[o] as number
  r.pathWeak |= out[o + 1] as number
  r.pathTags |= out[o + 2] as number
  r.nameStrong |= out[o + 3] as number
  r.nameWeak |= out[o + 4] as number
  r.nameTags |= out[o + 5] as number
}

function addQueryOutputs (out: Int32Array, state: number, r: Scan): void {
  const o = state * QUERY_GROUPS
  r.queryStrong |= out[o] as number
  r.queryTags |= out[o + 1] as number
}

function clearName (r: Scan): void {
  r.nameStrong = 0
  r.nameWeak = 0
  r.nameTags = 0
}

function clear (r: Scan): void {
  r.pathStrong = 0
  r.pathWeak = 0
  r.pathTags = 0
  clearName(r)
  r.hasQuery = false
  r.queryStrong = 0
  r.queryTags = 0
  r.end = 0
  r.depth = 0
  r.nameStart = 0
  r.hidden = -1
  r.upper = false
}
