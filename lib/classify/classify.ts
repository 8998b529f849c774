// The 404 classifier: `scanner`, `benign-miss` or `unknown`, and for a scanner
// the family that fired (`rule`). Pure: a string in, a shared frozen verdict
// out; no clock, no I/O, no allocation beyond the path segments.
//
// The pattern library (lib/classify/patterns.ts) is compiled on first use into
// three literal automata (lib/classify/literal-automaton.ts): one over the
// normalised path, one over the file name, one over the query. Each scan reads
// every character once and never backtracks, so the cost is linear in the
// (capped) input whatever it contains.

import type { Classification } from '../types'
import { FST_APPFIREWALL_PATTERN_LIBRARY } from '../errors'
import {
  families, nameTags, pathTags, queryTags, allowedDotSegments, vcsDotPrefixes
} from './patterns'
import { createNormalizedPath, normalizeInto, type NormalizedPath } from './normalize-path'
import { createScanHits, LiteralAutomaton, type Pattern, type ScanHits } from './literal-automaton'

export interface PathVerdict {
  readonly classification: Classification
  /** The pattern family that made it a scanner; undefined otherwise. */
  readonly rule: string | undefined
}

// ---------------------------------------------------------------------------
// Compiling the library

if (families.length > 31) throw new FST_APPFIREWALL_PATTERN_LIBRARY(`${families.length} families, at most 31 fit in a bit mask`)

function familyBit (rule: string): number {
  const i = families.findIndex((f) => f.rule === rule)
  if (i === -1) throw new FST_APPFIREWALL_PATTERN_LIBRARY(`no family named ${rule}`)
  return 1 << i
}

function tagBits<T extends Record<string, readonly string[]>> (tags: T, into: Pattern[]): Record<keyof T, number> {
  const bits = {} as Record<keyof T, number>
  let i = 0
  for (const key of Object.keys(tags) as Array<keyof T>) {
    const bit = 1 << i++
    bits[key] = bit
    for (const text of tags[key] as readonly string[]) into.push({ text, group: 2, bit })
  }
  return bits
}

const pathPatterns: Pattern[] = []
const namePatterns: Pattern[] = []
const queryPatterns: Pattern[] = []
families.forEach((f, i) => {
  const bit = 1 << i
  for (const text of f.path ?? []) pathPatterns.push({ text, group: 0, bit })
  for (const text of f.pathOutsideContent ?? []) pathPatterns.push({ text, group: 1, bit })
  for (const text of f.name ?? []) namePatterns.push({ text, group: 0, bit })
  for (const text of f.scriptName ?? []) namePatterns.push({ text, group: 1, bit })
  for (const text of f.query ?? []) queryPatterns.push({ text, group: 0, bit })
})
const PT = tagBits(pathTags, pathPatterns)
const NT = tagBits(nameTags, namePatterns)
const QT = tagBits(queryTags, queryPatterns)

const F_TRAVERSAL = familyBit('traversal')
const F_OS_FILE = familyBit('os-file')
const F_FILE_INCLUSION = familyBit('file-inclusion')
const F_INJECTION = familyBit('injection')
const F_WEBSHELL = familyBit('webshell')
const F_BACKUP = familyBit('backup')
const F_CONFIG = familyBit('config-file')
const F_FRAMEWORK = familyBit('framework')
const F_VENDOR = familyBit('vendor-rce')
/** Families that win over a benign name and over the CMS media exception. */
const F_STRONG_FIRST = F_TRAVERSAL | F_OS_FILE | F_INJECTION

const allowedFirstDot = new Set(allowedDotSegments.first)
const allowedNestedDot = new Set(allowedDotSegments.nested)
const topicDirs = new Set(allowedDotSegments.topicParents)

// ---------------------------------------------------------------------------
// Verdicts: one frozen object per outcome, shared by every call.

const UNKNOWN: PathVerdict = Object.freeze({ classification: 'unknown', rule: undefined })
const BENIGN: PathVerdict = Object.freeze({ classification: 'benign-miss', rule: undefined })
const SCANNER: readonly PathVerdict[] = families.map((f) =>
  Object.freeze({ classification: 'scanner' as const, rule: f.rule }))
function verdictForBits (bits: number): PathVerdict {
  // Lowest set bit = the family listed first in lib/classify/patterns.ts.
  return SCANNER[31 - Math.clz32(bits & -bits)] as PathVerdict
}
const TRAVERSAL = verdictForBits(F_TRAVERSAL)
const WEBSHELL = verdictForBits(F_WEBSHELL)
const DOTFILE = verdictForBits(familyBit('dotfile'))
const VCS = verdictForBits(familyBit('vcs'))

// ---------------------------------------------------------------------------
// Decisions that need more than one literal

/** `1.php`, `x.php`, `t00.php`, `dz0.php`: throwaway names a dropped shell gets (path[start, end)). */
function isThrowawayName (path: string, start: number, end: number): boolean {
  let stemEnd = path.indexOf('.', start)
  if (stemEnd === -1 || stemEnd > end) stemEnd = end
  const len = stemEnd - start
  if (len === 0) return false
  if (len === 1) return true
  if (len > 5) return false
  let digits = 0
  for (let i = start; i < stemEnd; i++) {
    const c = path.charCodeAt(i)
    if (c >= 48 && c <= 57) digits++
  }
  return digits === len || (digits > 0 && len <= 4)
}

/** The segment before the one that starts at `start` (which follows a slash). */
function previousSegment (path: string, start: number): string {
  const slash = start - 1
  return slash <= 0 ? '' : path.slice(path.lastIndexOf('/', slash - 1) + 1, slash)
}

/** A hidden file or folder anywhere in the path, other than platform routes. */
function hiddenSegment (path: string, end: number): PathVerdict | undefined {
  // Normalised paths hold no `.` segments, so `/.` always starts a hidden name.
  for (let i = path.indexOf('/.'); i !== -1 && i < end; i = path.indexOf('/.', i + 1)) {
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
 * first use (a few milliseconds, about 2 MB of tables), so that an app with
 * classify404 off never pays for it.
 */
class PathClassifier {
  private readonly pathAutomaton = new LiteralAutomaton(pathPatterns)
  private readonly nameAutomaton = new LiteralAutomaton(namePatterns)
  private readonly queryAutomaton = new LiteralAutomaton(queryPatterns)
  // Working memory of verdict() alone, reused so that an ordinary path
  // allocates nothing: filled and read within one call, passed down explicitly.
  private readonly normalized = createNormalizedPath()
  private readonly hits = createScanHits()

  verdict (target: string): PathVerdict {
    return this.decide(normalizeInto(this.normalized, target), this.hits)
  }

  private decide (n: NormalizedPath, hits: ScanHits): PathVerdict {
    if (n.traversal) return TRAVERSAL

    const path = n.path
    const end = n.end
    const depth = n.count
    // The file name is path[nameStart, end): the last segment.
    const nameStart = end === 0 ? 0 : path.lastIndexOf('/', end - 1) + 1

    // A name longer than NAME_MAX (255) cannot be a file on any server: skip it.
    if (end - nameStart <= 255) {
      this.nameAutomaton.scan(path, nameStart, end, false, hits)
    } else {
      hits.strong = 0
      hits.weak = 0
      hits.tags = 0
    }
    const nt = hits.tags
    const script = (nt & NT.script) !== 0
    // Script-name patterns (`^admin`, `upload`, shell words) count only for a
    // server-side script: `/shell.php` is a probe, `/shell-energy` is not. A
    // hidden name on a topic page (`/tags/.env`) names a subject, not a file.
    const topicPage = depth > 1 && path.charCodeAt(nameStart) === 46 && topicDirs.has(previousSegment(path, nameStart))
    const nameFamilies = script ? hits.strong | hits.weak : topicPage ? 0 : hits.strong

    if (n.query !== '') {
      this.queryAutomaton.scan(n.query, 0, n.query.length, false, hits)
      let q = hits.strong
      const qt = hits.tags
      if ((qt & QT.phpCgiArgument) !== 0) q |= F_VENDOR
      // A remote URL that ends like an include payload (`.txt?`, `?`), sent to a script.
      if ((qt & QT.remoteUrl) !== 0 && (qt & QT.remoteScript) !== 0 && (script || depth === 0)) q |= F_FILE_INCLUSION
      // `?q=etc/passwd+permissions` searches for a file; it does not read one.
      if (q === F_OS_FILE && (qt & QT.searchKey) !== 0) q = 0
      if (q !== 0) return verdictForBits(q)
    }

    this.pathAutomaton.scan(path, 0, end, true, hits)
    const pathFamilies = hits.strong
    const pathWeak = hits.weak
    const pt = hits.tags

    if ((pathFamilies & F_STRONG_FIRST) !== 0) return verdictForBits(pathFamilies & F_STRONG_FIRST)
    const hidden = hiddenSegment(path, end)
    if (hidden !== undefined) return hidden
    // A script where uploads and images live, a shell word or a throwaway name.
    if (script && ((nameFamilies & F_WEBSHELL) !== 0 || (pt & PT.writableDir) !== 0 || isThrowawayName(path, nameStart, end))) {
      return WEBSHELL
    }

    // Benign misses, once nothing above fired: `/.well-known/../.env` was
    // resolved to `/.env` before this point and is a dotfile; a benign file
    // name inside a product's private path (`/php/utils/x.js.map`) is not benign.
    if ((pt & PT.wellKnown) !== 0) return script ? WEBSHELL : BENIGN
    if (!script && (pathFamilies | nameFamilies) === 0 && (nt & (NT.benign | NT.sourceMap)) !== 0) return BENIGN

    // Stale links to images and documents of a migrated CMS site.
    if ((pt & PT.cmsMedia) !== 0 && (nt & NT.media) !== 0 && (nameFamilies & (F_BACKUP | F_CONFIG)) === 0) return UNKNOWN

    let bits = pathFamilies | (nameFamilies & ~F_WEBSHELL)
    // Product names count in a probe's path, not on a page about them or in an image's name.
    if ((pt & PT.content) === 0 && (nt & NT.media) === 0) bits |= pathWeak
    if ((nt & NT.configName) !== 0 && ((nt & NT.sensitive) !== 0 || (nt & (NT.page | NT.extension)) === NT.extension)) bits |= F_CONFIG
    if ((nt & NT.yaml) !== 0 && (nt & NT.apiSpec) === 0) bits |= F_CONFIG
    if ((nt & NT.xml) !== 0 && (nt & NT.xmlConfig) !== 0) bits |= F_CONFIG
    // `config_prod.json` anywhere; a bare `config.json` only at the root (SPAs load one from their assets).
    if ((nt & NT.json) !== 0 && (nt & NT.configJson) !== 0 && (depth === 1 || (nt & NT.bareConfigJson) === 0)) bits |= F_CONFIG
    if ((nt & NT.archive) !== 0 && (depth === 1 || (nt & NT.backupWord) !== 0 || (pt & PT.backupDir) !== 0)) bits |= F_BACKUP
    if ((pt & PT.vendorDir) !== 0 && script) bits |= F_FRAMEWORK
    return bits === 0 ? UNKNOWN : verdictForBits(bits)
  }
}

// Built by the first classification and kept: a cache, not per-call state.
let classifier: PathClassifier | undefined

/**
 * Classifies a 404 path (a query string may follow). Returns a shared frozen
 * verdict: nothing is allocated per call beyond the path's segments.
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

/**
 * The pure 404 classifier, exported so that users can classify old access
 * logs offline: `scanner`, `benign-miss` or `unknown`.
 */
export function classifyPath (path: string): Classification {
  return classifyPathVerdict(path).classification
}
