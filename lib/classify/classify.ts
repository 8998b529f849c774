// The 404 classifier: `scanner`, `benign-miss` or `unknown`, and for a scanner
// the family that fired (`rule`) and whether that family's probes are
// certain (`certain`: one is enough to mark an IP). Pure: a string in, a
// shared frozen verdict out; no clock, no I/O, and an ordinary path
// allocates nothing.
//
// The pattern library (lib/classify/patterns.ts) is compiled on first use into
// two literal automata (lib/classify/literal-automaton.ts): one over the
// normalised path, which also carries the file-name patterns, one over the
// query. Each scan reads every character once and never backtracks, so the
// cost is linear in the (capped) input whatever it contains. A request target
// that is already normalised but for case (most of them) is scanned as it is,
// in one pass that checks that on the way (lib/classify/path-scan.ts); any
// other goes through lib/classify/normalize-path.ts first.

import type { Classification } from '../types'
import { FST_APPFIREWALL_PATTERN_LIBRARY } from '../errors'
import {
  families, nameTags, pathTags, queryTags, allowedDotSegments, vcsDotPrefixes
} from './patterns'
import { createNormalizedPath, normalizeInto } from './normalize-path'
import { LiteralAutomaton, type Pattern } from './literal-automaton'
import {
  createScan, PathScanner, PATH_GROUPS, PATH_STRONG, PATH_WEAK, PATH_TAGS, NAME_STRONG, NAME_WEAK, NAME_TAGS,
  QUERY_GROUPS, QUERY_STRONG, QUERY_TAGS, RAW_PATH_STOPS, type Scan
} from './path-scan'

export interface PathVerdict {
  readonly classification: Classification
  /** The pattern family that made it a scanner; undefined otherwise. */
  readonly rule: string | undefined
  /**
   * A scanner verdict of a `certain` family (lib/classify/patterns.ts): a probe no
   * legitimate client sends, enough on its own to mark an IP. False otherwise.
   */
  readonly certain: boolean
}

// ---------------------------------------------------------------------------
// Compiling the library

if (families.length > 31) throw new FST_APPFIREWALL_PATTERN_LIBRARY(`${families.length} families, at most 31 fit in a bit mask`)

/** Families whose probes no legitimate client sends: when one fires, it wins over likely ones. */
const CERTAIN = families.reduce((bits, f, i) => {
  if (f.certainty !== 'certain' && f.certainty !== 'likely') throw new FST_APPFIREWALL_PATTERN_LIBRARY(`family ${f.rule} has no certainty`)
  return f.certainty === 'certain' ? bits | (1 << i) : bits
}, 0)

function familyBit (rule: string): number {
  const i = families.findIndex((f) => f.rule === rule)
  if (i === -1) throw new FST_APPFIREWALL_PATTERN_LIBRARY(`no family named ${rule}`)
  return 1 << i
}

/**
 * A file-name pattern, which sees `^<last segment>$`, as a path pattern, which
 * sees `^/seg1/.../segN/$`: `^` becomes the `/` before the segment and `$` the
 * `/$` after the last one. Without another `/` in it, a match then lies
 * within one segment, and lib/classify/path-scan.ts keeps the last segment's.
 */
function nameAsPathPattern (text: string): string {
  const core = text.replace(/^\^/, '').replace(/\$$/, '')
  if (core === '' || core.includes('/')) throw new FST_APPFIREWALL_PATTERN_LIBRARY(`file name pattern ${JSON.stringify(text)} is empty or holds a slash`)
  return (text.startsWith('^') ? '/' : '') + core + (text.endsWith('$') ? '/$' : '')
}

function tagBits<T extends Record<string, readonly string[]>> (tags: T, into: Pattern[], group: number, rewrite = (text: string) => text): Record<keyof T, number> {
  const bits: Record<string, number> = {}
  let i = 0
  for (const key of Object.keys(tags)) {
    const bit = 1 << i++
    bits[key] = bit
    for (const text of tags[key] as readonly string[]) into.push({ text: rewrite(text), group, bit })
  }
  // Rebuilt by JSON.parse: an object built key by key goes to dictionary mode past about 20 keys, and
  // every `NT.x` in decide() then costs a slow lookup; JSON.parse gives fast properties, each written once.
  return JSON.parse(JSON.stringify(bits)) as Record<keyof T, number>
}

const pathPatterns: Pattern[] = []
const queryPatterns: Pattern[] = []
families.forEach((f, i) => {
  const bit = 1 << i
  for (const text of f.path ?? []) pathPatterns.push({ text, group: PATH_STRONG, bit })
  for (const text of f.pathOutsideContent ?? []) pathPatterns.push({ text, group: PATH_WEAK, bit })
  for (const text of f.name ?? []) pathPatterns.push({ text: nameAsPathPattern(text), group: NAME_STRONG, bit })
  for (const text of f.scriptName ?? []) pathPatterns.push({ text: nameAsPathPattern(text), group: NAME_WEAK, bit })
  for (const text of f.query ?? []) queryPatterns.push({ text, group: QUERY_STRONG, bit })
})
const PT = tagBits(pathTags, pathPatterns, PATH_TAGS)
const NT = tagBits(nameTags, pathPatterns, NAME_TAGS, nameAsPathPattern)
const QT = tagBits(queryTags, queryPatterns, QUERY_TAGS)
for (const p of [...pathPatterns, ...queryPatterns]) {
  // A pattern of anchors alone would match before the first character, which no scan reads.
  if (p.text.replace(/^\^/, '').replace(/\$$/, '') === '') throw new FST_APPFIREWALL_PATTERN_LIBRARY(`empty pattern ${JSON.stringify(p.text)}`)
}

const F_TRAVERSAL = familyBit('traversal')
const F_OS_FILE = familyBit('os-file')
const F_FILE_INCLUSION = familyBit('file-inclusion')
const F_INJECTION = familyBit('injection')
const F_WEBSHELL = familyBit('webshell')
const F_DOTFILE = familyBit('dotfile')
const F_SHELL_NAME = familyBit('shell-name')
const F_BACKUP = familyBit('backup')
const F_CONFIG = familyBit('config-file')
const F_FRAMEWORK = familyBit('framework')
const F_VENDOR = familyBit('vendor-rce')
const F_VENDOR_APP = familyBit('vendor-app')
const F_INFO_LEAK = familyBit('info-leak')
const F_DOH = familyBit('dns-over-https')
/** Families that win over a benign name and over the CMS media exception. */
const F_STRONG_FIRST = F_TRAVERSAL | F_OS_FILE | F_INJECTION

const allowedFirstDot = new Set(allowedDotSegments.first)
const allowedNestedDot = new Set(allowedDotSegments.nested)
const topicDirs = new Set(allowedDotSegments.topicParents)

// ---------------------------------------------------------------------------
// Verdicts: one frozen object per outcome, shared by every call.

const UNKNOWN: PathVerdict = Object.freeze({ classification: 'unknown', rule: undefined, certain: false })
const BENIGN: PathVerdict = Object.freeze({ classification: 'benign-miss', rule: undefined, certain: false })
const SCANNER: readonly PathVerdict[] = families.map((f) =>
  Object.freeze({ classification: 'scanner' as const, rule: f.rule, certain: f.certainty === 'certain' }))
function verdictForBits (bits: number): PathVerdict {
  // A certain family wins; among equals, the lowest set bit = the family
  // listed first in lib/classify/patterns.ts.
  const certain = bits & CERTAIN
  const b = certain !== 0 ? certain : bits
  return SCANNER[31 - Math.clz32(b & -b)] as PathVerdict
}
const TRAVERSAL = verdictForBits(F_TRAVERSAL)
const WEBSHELL = verdictForBits(F_WEBSHELL)
const DOTFILE = verdictForBits(F_DOTFILE)
const VCS = verdictForBits(familyBit('vcs'))
const OPEN_PROXY = verdictForBits(familyBit('open-proxy'))

// ---------------------------------------------------------------------------
// Decisions that need more than one literal

/** The end of the stem of the file name path[start, end): its first dot, or end. */
function stemEnd (path: string, start: number, end: number): number {
  const dot = path.indexOf('.', start)
  return dot === -1 || dot > end ? end : dot
}

const isDigit = (c: number): boolean => c >= 48 && c <= 57
/** An ASCII letter of either case: the one-pass scan hands over the raw target, capitals and all. */
const isLetter = (c: number): boolean => (c | 32) >= 97 && (c | 32) <= 122

/**
 * `1.php`, `x.php`, `dz0.php`, `0x.php`, `a1b.php`: throwaway names a dropped shell gets (path[start, end)).
 * Not a version or page number after a word (`v1.php`, `p2.aspx`, `api3.php`, `v10.jsp`): stale API and
 * page paths; nor an HTTP status page (`404.php`, `500.php`).
 */
function isThrowawayName (path: string, start: number, end: number): boolean {
  const stop = stemEnd(path, start, end)
  const len = stop - start
  if (len === 0) return false
  if (len === 1) return true
  if (len > 5) return false
  let digits = 0
  let lettersThenDigits = isLetter(path.charCodeAt(start))
  for (let i = start; i < stop; i++) {
    const c = path.charCodeAt(i)
    if (isDigit(c)) digits++
    else if (digits > 0 || !isLetter(c)) lettersThenDigits = false
  }
  if (digits === len) {
    const first = path.charCodeAt(start)
    // `404.php`, `500.php`: a status page; `2020.php`: a year's archive page.
    if (len === 3 && (first === 52 || first === 53)) return false
    if (len === 4 && ((first === 49 && path.charCodeAt(start + 1) === 57) || (first === 50 && path.charCodeAt(start + 1) === 48))) return false
    return true
  }
  return digits > 0 && len <= 4 && !lettersThenDigits
}

/** Diagnostic script names that take a number (`info3.php`, `test7.php`, `phpinfo_2.php`): the stem less its number. */
const INFO_WORDS = ['test', 'tests', 'testing', 'tst', 'info', 'infos', 'phpinfo', 'php', 'pinfo', 'phptest', 'testphp',
  'php_info', 'php-info', 'phpversion', 'debug', 'probe', 'sysinfo']

function isNumberedInfoName (path: string, start: number, end: number): boolean {
  let stop = stemEnd(path, start, end)
  if (!isDigit(path.charCodeAt(stop - 1))) return false
  while (stop > start && isDigit(path.charCodeAt(stop - 1))) stop--
  const sep = path.charCodeAt(stop - 1)
  if (sep === 95 || sep === 45) stop--
  const len = stop - start
  for (const word of INFO_WORDS) {
    if (word.length === len && sameIgnoringCase(path, start, word)) return true
  }
  return false
}

const CONFIG_DIRS = ['config', 'configs', 'conf', 'configuration']

/** Whether the folder of the file name that starts at `nameStart` is a configuration folder. */
function inConfigDir (path: string, nameStart: number): boolean {
  for (const dir of CONFIG_DIRS) {
    const at = nameStart - 1 - dir.length
    if (at > 0 && path.charCodeAt(at - 1) === 47 && sameIgnoringCase(path, at, dir)) return true
  }
  return false
}

/** Whether path[start, start + word.length) is `word` (lowercase letters, digits, `_`, `-`) in any case. */
function sameIgnoringCase (path: string, start: number, word: string): boolean {
  for (let k = 0; k < word.length; k++) {
    if ((path.charCodeAt(start + k) | 32) !== (word.charCodeAt(k) | 32)) return false
  }
  return true
}

/**
 * An open-proxy test: a request target in absolute form (`http://host/...`) or authority form
 * (`host:443`, `[::1]:80`). Only called for a target that does not start with `/`.
 */
function isProxyTarget (t: string): boolean {
  const len = t.length
  if (len < 3 || len > 2048) return false
  // `http://` or `https://`, any case.
  if ((t.charCodeAt(0) | 32) === 104 && (t.charCodeAt(1) | 32) === 116 && (t.charCodeAt(2) | 32) === 116 &&
    len > 7 && (t.charCodeAt(3) | 32) === 112) {
    const colon = (t.charCodeAt(4) | 32) === 115 ? 5 : 4
    return t.startsWith('://', colon) && len > colon + 3
  }
  // host:port: letters, digits, `.`, `-` (or a bracketed IPv6 address), then `:` and 1 to 5 digits.
  let i = 0
  if (t.charCodeAt(0) === 91) {
    i = t.indexOf(']')
    if (i === -1) return false
    i++
  } else {
    for (; i < len; i++) {
      const c = t.charCodeAt(i)
      if (!(isLetter(c) || isDigit(c) || c === 46 || c === 45 || c === 95)) break
    }
    if (i === 0) return false
  }
  if (t.charCodeAt(i) !== 58) return false
  const digits = len - i - 1
  if (digits < 1 || digits > 5) return false
  for (let j = i + 1; j < len; j++) if (!isDigit(t.charCodeAt(j))) return false
  return true
}

/** The segment before the one that starts at `start` (which follows a slash). */
function previousSegment (path: string, start: number): string {
  const slash = start - 1
  return slash <= 0 ? '' : path.slice(path.lastIndexOf('/', slash - 1) + 1, slash)
}

/** A hidden file or folder in path[0, end), other than platform routes; the first `/.` is at `first`. */
function hiddenSegment (path: string, first: number, end: number): PathVerdict | undefined {
  // Normalised paths hold no `.` segments, so `/.` always starts a hidden name.
  for (let i = first; i !== -1 && i < end; i = path.indexOf('/.', i + 1)) {
    let segEnd = path.indexOf('/', i + 1)
    if (segEnd === -1 || segEnd > end) segEnd = end
    const seg = path.slice(i + 1, segEnd)
    if (i === 0 ? allowedFirstDot.has(seg) : (allowedNestedDot.has(seg) || isDotNetTopic(seg))) continue
    // `/tags/.env`, `/docs/.htaccess/`: a page about the file, not the file.
    if (i > 0 && topicDirs.has(previousSegment(path, i + 1))) continue
    for (const prefix of vcsDotPrefixes) {
      if (seg.startsWith(prefix)) return VCS
    }
    return DOTFILE
  }
  return undefined
}

// `.net-core`, `.net8`: a topic slug, not `.netrc`.
function isDotNetTopic (seg: string): boolean {
  if (!seg.startsWith('.net') || seg.length === 4) return seg === '.net'
  const c = seg.charCodeAt(4)
  return c === 45 || c === 95 || (c >= 48 && c <= 57)
}

/**
 * The compiled library and the working memory of a classification. Built on
 * first use (a fraction of a second, about 4.5 MB of tables), so that an app with
 * classify404 off never pays for it.
 */
class PathClassifier {
  private readonly scanner = new PathScanner(
    new LiteralAutomaton(pathPatterns, PATH_GROUPS, RAW_PATH_STOPS), new LiteralAutomaton(queryPatterns, QUERY_GROUPS))

  // Working memory of verdict() alone, reused so that an ordinary path
  // allocates nothing: filled and read within one synchronous call, passed
  // down explicitly.
  private readonly normalized = createNormalizedPath()
  private readonly scan = createScan()

  verdict (target: string): PathVerdict {
    if (target.charCodeAt(0) !== 47 && isProxyTarget(target)) return OPEN_PROXY
    const r = this.scan
    if (this.scanner.scanTarget(target, r)) {
      // The target is its own normalised form but for ASCII case, which only
      // the hidden-segment checks (set lookups of segment names) read.
      return this.decide(r.upper && r.hidden !== -1 ? target.toLowerCase() : target, r)
    }
    const n = normalizeInto(this.normalized, target)
    if (n.traversal) return TRAVERSAL
    this.scanner.scanNormalized(n.path, n.end, n.count, n.query, r, n.cut)
    return this.decide(n.path, r)
  }

  /** See scanBothWays. */
  scanBothWays (target: string): BothWays {
    const shortcut = createScan()
    const took = this.scanner.scanTarget(target, shortcut)
    const n = normalizeInto(createNormalizedPath(), target)
    const normalized = createScan()
    if (!n.traversal) this.scanner.scanNormalized(n.path, n.end, n.count, n.query, normalized, n.cut)
    return {
      shortcut: took ? { scan: shortcut, path: target.toLowerCase().slice(0, shortcut.end) } : undefined,
      normalized: n.traversal ? undefined : { scan: normalized, path: n.path.slice(0, n.end) }
    }
  }

  /** The verdict for a normalised path (read in path[0, r.end)) and what the scan of it found. */
  private decide (path: string, r: Scan): PathVerdict {
    const end = r.end
    const depth = r.depth
    // The file name is path[nameStart, end): the last segment.
    const nameStart = r.nameStart
    const nt = r.nameTags
    const script = (nt & NT.script) !== 0
    // Script-name patterns (`^admin`, `upload`, shell words) count only for a
    // server-side script: `/shell.php` is a probe, `/shell-energy` is not. A
    // hidden name on a topic page (`/tags/.env`) names a subject, not a file.
    const topicPage = depth > 1 && path.charCodeAt(nameStart) === 46 && topicDirs.has(previousSegment(path, nameStart))
    const nameFamilies = script ? r.nameStrong | r.nameWeak : topicPage ? 0 : r.nameStrong

    // A query payload decides at once when it is certain; a likely one (`?rest_route=/wp/...`)
    // still yields to a certain probe in the path (`/.env?rest_route=/wp/`).
    let q = 0
    if (r.hasQuery) {
      q = r.queryStrong
      const qt = r.queryTags
      if ((qt & QT.phpCgiArgument) !== 0) q |= F_VENDOR
      // A remote URL that ends like an include payload (`.txt?`, `?`), sent to a script.
      if ((qt & QT.remoteUrl) !== 0 && (qt & QT.remoteScript) !== 0 && (script || depth === 0)) q |= F_FILE_INCLUSION
      // `?q=etc/passwd+permissions` searches for a file; it does not read one.
      if (q === F_OS_FILE && (qt & QT.searchKey) !== 0) q = 0
      // DNS-over-HTTPS: RFC 8484's `?dns=` at a DoH endpoint, or the JSON API's `?name=...&type=A`
      // (a record type, not any `type`), so that an app's own `/resolve` page stays unknown.
      const doh = r.pathTags & (PT.dnsQuery | PT.dnsJson)
      if (doh !== 0 && (((doh & PT.dnsQuery) !== 0 && (qt & QT.dnsParam) !== 0) ||
        ((doh & PT.dnsJson) !== 0 && (qt & QT.nameParam) !== 0 && (qt & QT.recordType) !== 0))) q |= F_DOH
      if ((q & CERTAIN) !== 0) return verdictForBits(q)
    }

    const pathFamilies = r.pathStrong
    const pathWeak = r.pathWeak
    const pt = r.pathTags

    if ((pathFamilies & F_STRONG_FIRST) !== 0) return verdictForBits(pathFamilies & F_STRONG_FIRST)
    const hidden = r.hidden === -1 ? undefined : hiddenSegment(path, r.hidden, end)
    if (hidden !== undefined) return hidden
    // A script where uploads and images live, a shell word or a throwaway name.
    if (script && ((nameFamilies & F_WEBSHELL) !== 0 || (pt & PT.writableDir) !== 0 || isThrowawayName(path, nameStart, end))) {
      return WEBSHELL
    }
    if (q !== 0) return verdictForBits(q | (pathFamilies & CERTAIN))

    // Benign misses, once nothing above fired: `/.well-known/../.env` was
    // resolved to `/.env` before this point and is a dotfile; a benign file
    // name inside a product's private path (`/php/utils/x.js.map`) is not benign.
    if ((pt & PT.wellKnown) !== 0) return script ? WEBSHELL : BENIGN
    if (!script && (pathFamilies | nameFamilies) === 0 && (nt & (NT.benign | NT.sourceMap)) !== 0) return BENIGN

    // Stale links to images and documents of a migrated CMS site.
    if ((pt & PT.cmsMedia) !== 0 && (nt & NT.media) !== 0 && (nameFamilies & (F_BACKUP | F_CONFIG)) === 0) return UNKNOWN

    // `htaccess.html`, `dotenv.html`, `xmlrpc.html`, `id_rsa.html`: a page about the file (a generator, a
    // guide, library docs), not the file: a file name alone never makes a page a certain probe. A hidden
    // name (`/.htaccess.html`) was decided above; path patterns still count.
    let bits = pathFamilies | (nameFamilies & ((nt & NT.page) !== 0 ? ~(F_WEBSHELL | CERTAIN) : ~F_WEBSHELL))
    // Product names count in a probe's path, not on a page about them or in an image's name.
    if ((pt & PT.content) === 0 && (nt & NT.media) === 0) bits |= pathWeak
    if ((nt & NT.configName) !== 0 && ((nt & NT.sensitive) !== 0 || (nt & (NT.page | NT.extension)) === NT.extension)) bits |= F_CONFIG
    if ((nt & NT.yaml) !== 0 && (nt & NT.apiSpec) === 0) bits |= F_CONFIG
    if ((nt & NT.xml) !== 0 && (nt & NT.xmlConfig) !== 0) bits |= F_CONFIG
    // `config_prod.json` anywhere; a bare `config.json` only at the root (SPAs load one from their assets).
    if ((nt & NT.json) !== 0 && (nt & NT.configJson) !== 0 && (depth === 1 || (nt & NT.bareConfigJson) === 0)) bits |= F_CONFIG
    if ((nt & NT.archive) !== 0 && (depth === 1 || (nt & NT.backupWord) !== 0 || (pt & PT.backupDir) !== 0)) bits |= F_BACKUP
    if ((pt & PT.vendorDir) !== 0 && script) bits |= F_FRAMEWORK
    if (script) {
      // A script in an image or cache folder: dropped there more often than not, but old sites had `/images/thumb.php`.
      if ((pt & PT.imageDir) !== 0) bits |= F_SHELL_NAME
      // At the root only: `/blog/test-1.php` is a post.
      if (depth === 1 && (nt & NT.digitDot) !== 0 && isNumberedInfoName(path, nameStart, end)) bits |= F_INFO_LEAK
    }
    // A script or data file in a configuration folder (`/config/app.php`): not a page (`/config/index.html`).
    if ((pt & PT.configDir) !== 0 && depth >= 2 && (nt & NT.sensitive) !== 0 && inConfigDir(path, nameStart)) bits |= F_CONFIG
    // Source code at the web root or in a top source folder (`/app.py`, `/src/main.go`).
    if ((nt & NT.source) !== 0 && (depth === 1 || (depth === 2 && (pt & PT.sourceDir) !== 0))) bits |= F_CONFIG
    // A login page in an appliance vendor's folder (`/fortinet/login`, `/sonicwall/login.html`).
    if ((pt & PT.vendorFolder) !== 0 && (nt & NT.loginName) !== 0 && depth <= 3) bits |= F_VENDOR_APP
    return bits === 0 ? UNKNOWN : verdictForBits(bits)
  }
}

// Built by the first classification and kept: a cache, not per-call state.
let classifier: PathClassifier | undefined

/**
 * Classifies a 404 path (a query string may follow). Returns a shared frozen
 * verdict: an ordinary path allocates nothing.
 * Never throws; anything that is not a string is `unknown`.
 */
export function classifyPathVerdict (path: string): PathVerdict {
  if (typeof path !== 'string') return UNKNOWN
  try {
    classifier ??= new PathClassifier()
    return classifier.verdict(path)
  } catch {
    return UNKNOWN
  }
}

export interface BothWays {
  /** The one-pass scan of the raw target; undefined when it does not apply. */
  shortcut: { scan: Scan, path: string } | undefined
  /** The scan after the normaliser; undefined for a traversal (decided before any scan). */
  normalized: { scan: Scan, path: string } | undefined
}

/**
 * For tests (test/classify-fast-path.test.ts): `target` scanned both ways,
 * each with the normalised path it stands for. Wherever the shortcut
 * applies, the two must agree, or a verdict could depend on which ran.
 */
export function scanBothWays (target: string): BothWays {
  classifier ??= new PathClassifier()
  return classifier.scanBothWays(target)
}

/**
 * The pure 404 classifier, exported so that users can classify old access
 * logs offline: `scanner`, `benign-miss` or `unknown`.
 */
export function classifyPath (path: string): Classification {
  return classifyPathVerdict(path).classification
}
