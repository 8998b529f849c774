// A dense DFA that matches many literals at once: Aho-Corasick with the
// failure links folded into a full transition table. A scan reads every
// character once and never backtracks, so its cost is linear in the input
// whatever the input contains. lib/classify/classify.ts builds two of them
// from the pattern library (path with file name, and query); the scanning
// loops live in lib/classify/path-scan.ts.

import { FST_APPFIREWALL_PATTERN_LIBRARY } from '../errors'

// Symbol classes while compiling: no pattern's character, the `^` and `$` anchors.
const OTHER = 0
const START = 1
const END = 2

/**
 * Columns of the transition table: an ASCII character is its own column
 * (0-127, case folded), then the two anchors, then non-ASCII characters:
 * those in no pattern share one column, each one some pattern holds has its own.
 */
export const START_COLUMN = 128
export const END_COLUMN = 129
const WIDE_OTHER_COLUMN = 130
const FIRST_WIDE_COLUMN = 131

export interface Pattern {
  /** Lowercase literal; `^` at its start and `$` at its end are anchors. */
  readonly text: string
  /** Which output word the pattern's bit goes to (0 to groups - 1). */
  readonly group: number
  readonly bit: number
}

/**
 * Dense DFA matching many literals at once. `^` at the start of a pattern and
 * `$` at its end are anchors, fed as their own columns (START_COLUMN,
 * END_COLUMN) by the scanner. Patterns are lowercase and ASCII case is
 * folded. Its tables are read directly by the scanning loops
 * (lib/classify/path-scan.ts).
 *
 * The table has a column per ASCII character rather than one per class of
 * characters, so that a scan looks up each character once, not twice: about
 * 260 bytes per state, 4 MB for the path automaton.
 */
export class LiteralAutomaton {
  /** Symbol class of each ASCII character (OTHER when no pattern holds it): only while compiling. */
  private readonly ascii = new Uint8Array(128)
  /** Column of each non-ASCII character that some pattern holds. */
  private readonly wideColumns = new Map<number, number>()
  /** Number of columns: the length of one row of `delta`. */
  readonly width: number
  /** Output words per state. */
  readonly groups: number
  /**
   * Next state: delta[state * width + column], plus `flag` in the columns of
   * the characters the constructor was asked to flag.
   */
  readonly delta: Uint16Array | Uint32Array
  /** A bit above every state number (a power of two): `entry & (flag - 1)` is the state. */
  readonly flag: number
  /**
   * out[(state - firstOutput) * groups + group]: the union of the bits of
   * that group's patterns that end in the state (only states from
   * firstOutput on have any).
   */
  readonly out: Int32Array
  /** States from this one on have an output (some bit in `out`); those before have none. */
  readonly firstOutput: number
  /** The state after `^`, where every scan starts. */
  readonly start: number

  /**
   * `flagged`: ASCII characters whose columns carry `flag`, so that a scan
   * tells them from the others by the entry it reads anyway.
   */
  constructor (patterns: readonly Pattern[], groups: number, flagged = '') {
    this.groups = groups
    const wide = new Map<number, number>()
    let classes = 3
    const symbols: number[][] = []
    for (const p of patterns) {
      let text = p.text
      const seq: number[] = []
      if (text.startsWith('^')) {
        seq.push(START)
        text = text.slice(1)
      }
      const anchoredEnd = text.length > 0 && text.endsWith('$')
      if (anchoredEnd) text = text.slice(0, -1)
      for (let i = 0; i < text.length; i++) {
        const c = text.charCodeAt(i)
        if (c >= 65 && c <= 90) throw new FST_APPFIREWALL_PATTERN_LIBRARY(`pattern ${JSON.stringify(p.text)} is not lowercase`)
        let k = c < 128 ? this.ascii[c] as number : wide.get(c) ?? 0
        if (k === 0) {
          k = classes++
          if (c < 128) this.ascii[c] = k
          else wide.set(c, k)
        }
        seq.push(k)
      }
      if (anchoredEnd) seq.push(END)
      symbols.push(seq)
    }
    if (classes > 256) throw new FST_APPFIREWALL_PATTERN_LIBRARY('more than 253 distinct characters in one automaton')

    // Trie: one Map from (node, symbol) to child, plus first-child and
    // next-sibling lists for the breadth-first pass (no object per node).
    const edge = new Map<number, number>()
    const firstChild: number[] = [-1]
    const nextSibling: number[] = [-1]
    const symbolOf: number[] = [0]
    const outputs: number[] = new Array<number>(groups).fill(0)
    for (let i = 0; i < patterns.length; i++) {
      const seq = symbols[i] as number[]
      const p = patterns[i] as Pattern
      if (p.group < 0 || p.group >= groups) throw new FST_APPFIREWALL_PATTERN_LIBRARY(`output group ${p.group} of ${p.text}`)
      let node = 0
      for (const k of seq) {
        let next = edge.get(node * 256 + k)
        if (next === undefined) {
          next = firstChild.length
          edge.set(node * 256 + k, next)
          firstChild.push(-1)
          nextSibling.push(firstChild[node] as number)
          firstChild[node] = next
          symbolOf.push(k)
          for (let g = 0; g < groups; g++) outputs.push(0)
        }
        node = next
      }
      outputs[node * groups + p.group] = (outputs[node * groups + p.group] as number) | p.bit
    }

    // Failure links folded into a full transition table, breadth first so
    // that a node's failure target is complete before the node is.
    const n = firstChild.length
    const w = classes
    const delta = n < 0x10000 ? new Uint16Array(n * w) : new Uint32Array(n * w)
    const fail = new Int32Array(n)
    const queue = new Int32Array(n)
    let head = 0
    let tail = 0
    for (let v = firstChild[0] as number; v !== -1; v = nextSibling[v] as number) {
      delta[symbolOf[v] as number] = v
      queue[tail++] = v
    }
    while (head < tail) {
      const u = queue[head++] as number
      const f = fail[u] as number
      for (let g = 0; g < groups; g++) {
        outputs[u * groups + g] = (outputs[u * groups + g] as number) | (outputs[f * groups + g] as number)
      }
      // A node goes where its failure target goes, except along its own edges.
      delta.copyWithin(u * w, f * w, f * w + w)
      for (let v = firstChild[u] as number; v !== -1; v = nextSibling[v] as number) {
        const k = symbolOf[v] as number
        fail[v] = delta[f * w + k] as number
        delta[u * w + k] = v
        queue[tail++] = v
      }
    }
    // Renumbered so that the states with an output come last: a scan then
    // tells them by comparing with firstOutput, with no table to read.
    const hasOutput = (u: number): boolean => {
      for (let g = 0; g < groups; g++) if ((outputs[u * groups + g] as number) !== 0) return true
      return false
    }
    const id = new Int32Array(n)
    let next = 0
    for (let u = 0; u < n; u++) if (!hasOutput(u)) id[u] = next++
    this.firstOutput = next
    for (let u = 0; u < n; u++) if (hasOutput(u)) id[u] = next++

    // From classes to columns.
    const width = FIRST_WIDE_COLUMN + wide.size
    const classOfColumn = new Uint8Array(width)
    for (let c = 0; c < 128; c++) classOfColumn[c] = this.ascii[c >= 65 && c <= 90 ? c + 32 : c] as number
    classOfColumn[START_COLUMN] = START
    classOfColumn[END_COLUMN] = END
    classOfColumn[WIDE_OTHER_COLUMN] = OTHER
    for (const [c, k] of wide) {
      this.wideColumns.set(c, FIRST_WIDE_COLUMN + this.wideColumns.size)
      classOfColumn[FIRST_WIDE_COLUMN + this.wideColumns.size - 1] = k
    }
    const flagColumn = new Uint8Array(width)
    for (let i = 0; i < flagged.length; i++) flagColumn[flagged.charCodeAt(i) & 127] = 1
    // Uint16 entries while the states leave a bit free for the flag.
    const small = n <= 0x8000
    this.flag = small ? 0x8000 : 0x40000000
    this.width = width
    this.delta = small ? new Uint16Array(n * width) : new Uint32Array(n * width)
    this.out = new Int32Array((n - this.firstOutput) * groups)
    for (let u = 0; u < n; u++) {
      const v = id[u] as number
      for (let col = 0; col < width; col++) {
        const target = id[delta[u * w + (classOfColumn[col] as number)] as number] as number
        this.delta[v * width + col] = flagColumn[col] === 1 ? target | this.flag : target
      }
      if (v >= this.firstOutput) {
        for (let g = 0; g < groups; g++) this.out[(v - this.firstOutput) * groups + g] = outputs[u * groups + g] as number
      }
    }
    this.start = (this.delta[(id[0] as number) * width + START_COLUMN] as number) & (this.flag - 1)
  }

  /** The column of a character (lowercase, for one outside ASCII). */
  column (c: number): number {
    return c < 128 ? c : this.wideColumns.get(c) ?? WIDE_OTHER_COLUMN
  }
}
