// Behaviour per IP (issue 11, item 2): a client that collects many distinct
// 404s no route matched, or asks for server-side scripts a Node app never
// serves, is probing even when no single path is a known probe. The idea is
// CrowdSec's http-probing scenario (distinct URIs answered 404, static
// resources left out); these are the two checks it needs, both cheap enough
// for the 404 path and bounded in memory whatever an attacker sends.

/** Characters of a path that are hashed: enough to tell probes apart, bounded for any input. */
const HASHED = 256
/** Slots of the table of recently seen (key, path) pairs: 2^15, 384 KiB a class. */
const SLOTS = 1 << 15

/**
 * Remembers which (client key, path) pairs were seen in the current or the
 * previous window, so that a client asking for the same missing path again
 * (a reload, a page polling a missing endpoint) is counted once, and only
 * new paths add up. A direct-mapped table of 32-bit fingerprints: fixed
 * memory, no allocation per call, O(path) work. A pair pushed out of its
 * slot by another (a collision, or a flood of distinct pairs) counts again
 * when it comes back: the filter errs towards counting a repeat, never
 * towards hiding a new path. Two pairs with the same fingerprint (about one
 * in four billion) count as one.
 */
export class DistinctPaths {
  private readonly prints = new Int32Array(SLOTS)
  // The window a slot was written in, +1 (0: never written).
  private readonly windows = new Float64Array(SLOTS)

  /**
   * `windowMs`: the class's window. `ids`: a path segment that is an id (digits,
   * or hex and dashes with a digit: `42`, a UUID, a hash) counts as any other
   * id, so that an old app asking a removed `/api/v1/item/<id>` for many ids
   * is one path, not many.
   */
  constructor (private readonly windowMs: number, private readonly ids = false) {}

  /** True when `path[0, pathEnd)` is new for `key` in this window or the one before (and remembers it). */
  firstSeen (key: string, path: string, pathEnd: number, now: number): boolean {
    let h = 0x811c9dc5
    for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193)
    h = Math.imul(h ^ 0x20, 0x01000193)
    const end = pathEnd < HASHED ? pathEnd : HASHED
    if (this.ids) {
      for (let start = 0; start < end;) {
        let stop = path.indexOf('/', start + 1)
        if (stop === -1 || stop > end) stop = end
        if (isId(path, start + 1, stop)) {
          h = Math.imul(h ^ 0x2f, 0x01000193)
          h = Math.imul(h ^ 0x23, 0x01000193)
        } else {
          for (let i = start; i < stop; i++) h = Math.imul(h ^ path.charCodeAt(i), 0x01000193)
        }
        start = stop
      }
    } else {
      for (let i = 0; i < end; i++) h = Math.imul(h ^ path.charCodeAt(i), 0x01000193)
    }
    // murmur3's finaliser: FNV's low bits, which pick the slot, mix poorly alone.
    h ^= h >>> 16
    h = Math.imul(h, 0x85ebca6b)
    h ^= h >>> 13
    h = Math.imul(h, 0xc2b2ae35)
    h ^= h >>> 16
    const slot = h & (SLOTS - 1)
    const window = Math.floor(now / this.windowMs) + 1
    const seenIn = this.windows[slot] as number
    if (this.prints[slot] === h && seenIn !== 0 && window - seenIn <= 1) return false
    this.prints[slot] = h
    this.windows[slot] = window
    return true
  }
}

/**
 * path[start, end) (an extension left out) is an id: digits, or hex digits
 * and dashes with a digit (`42`, a UUID, a hash), or 8 or more characters of
 * `A-Z a-z 0-9 _ -` with a digit (a nanoid, a ULID, base64url, `user_1234`).
 */
function isId (path: string, start: number, end: number): boolean {
  const dot = path.lastIndexOf('.', end - 1)
  if (dot > start) end = dot
  if (end <= start) return false
  let digit = false
  let hex = true
  for (let i = start; i < end; i++) {
    const c = path.charCodeAt(i)
    const l = c | 0x20
    if (c >= 48 && c <= 57) digit = true
    else if ((l >= 97 && l <= 102) || c === 45) continue
    else if ((l >= 97 && l <= 122) || c === 95) hex = false
    else return false
  }
  return digit && (hex || end - start >= 8)
}

/** What a 404's last path segment says about the request: a page (or anything else), a server-side script, a static asset. */
export const PAGE = 0
export const SCRIPT_FILE = 1
export const STATIC_FILE = 2

// Server-side script extensions: a Node app serves none of them, a probe asks
// for them (`.do` and `.action` are Struts', `.axd`/`.asmx` ASP.NET's).
const SCRIPT = new Set(['php', 'php3', 'php4', 'php5', 'php7', 'php8', 'phtml', 'pht', 'phar', 'asp', 'aspx', 'ashx',
  'asmx', 'asa', 'axd', 'jsp', 'jspx', 'jsf', 'do', 'action', 'cgi', 'pl', 'cfm', 'cfml'])
// What a page loads on its own (images, fonts, styles, scripts, media): a page
// with twenty broken images is one user, not twenty probes (CrowdSec's
// http-probing leaves static resources out for the same reason).
const STATIC = new Set(['png', 'jpg', 'jpeg', 'gif', 'webp', 'avif', 'svg', 'ico', 'bmp', 'tif', 'tiff', 'heic',
  'css', 'js', 'mjs', 'cjs', 'map', 'woff', 'woff2', 'ttf', 'eot', 'otf', 'mp4', 'webm', 'mov', 'm4v', 'mp3',
  'm4a', 'wav', 'ogg', 'flac', 'aac', 'vtt', 'srt', 'webmanifest', 'avi', 'jfif'])
/** Longest extension looked up: longer ones are neither. */
const MAX_EXTENSION = 11

/**
 * The kind of the file the path names, from the extension of its last
 * segment (`url[0, pathEnd)`, `;` parameters left out), any case. Disguised
 * scripts (`%2ephp`) are the classifier's business: it decodes them.
 */
export function pathKind (url: string, pathEnd: number): number {
  let end = pathEnd
  const semi = url.lastIndexOf(';', end - 1)
  const slash = url.lastIndexOf('/', end - 1)
  if (semi > slash) end = semi
  const dot = url.lastIndexOf('.', end - 1)
  if (dot <= slash || end - dot - 1 > MAX_EXTENSION || end - dot - 1 === 0) return PAGE
  const ext = url.slice(dot + 1, end).toLowerCase()
  return SCRIPT.has(ext) ? SCRIPT_FILE : STATIC.has(ext) ? STATIC_FILE : PAGE
}
