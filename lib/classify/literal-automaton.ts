// A dense DFA that matches many literals at once: Aho-Corasick with the
// failure links folded into a full transition table. Each scan reads every
// character once and never backtracks, so its cost is linear in the input
// whatever the input contains. lib/classify/classify.ts builds three of them
// from the pattern library.

import { FST_APPFIREWALL_PATTERN_LIBRARY } from '../errors'

/** What one scan matched: the union of the bits of every pattern found. */
export interface ScanHits {
  /** Family bits of group-0 patterns. */
  strong: number
  /** Family bits of group-1 patterns. */
  weak: number
  /** Tag bits of group-2 patterns. */
  tags: number
}

export function createScanHits (): ScanHits {
  return { strong: 0, weak: 0, tags: 0 }
}

const OTHER = 0
const START = 1
const END = 2

export interface Pattern {
  /** Lowercase literal; `^` at its start and `$` at its end are anchors. */
  readonly text: string
  readonly group: 0 | 1 | 2 // 0 strong family bit, 1 weak family bit, 2 tag bit
  readonly bit: number
}

/**
 * Dense DFA matching many literals at once. `^` at the start of a pattern and
 * `$` at its end are anchors, fed as their own symbols by the scanner.
 */
export class LiteralAutomaton {
  private readonly ascii = new Uint8Array(128)
  private readonly wide = new Map<number, number>()
  private readonly width: number
  private readonly delta: Uint16Array | Uint32Array
  private readonly strong: Int32Array
  private readonly weak: Int32Array
  private readonly tags: Int32Array
  /** 1 where a state has any output: the scan reads three masks only there. */
  private readonly any: Uint8Array

  constructor (patterns: readonly Pattern[]) {
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
        let k = c < 128 ? this.ascii[c] as number : this.wide.get(c) ?? 0
        if (k === 0) {
          k = classes++
          if (c < 128) this.ascii[c] = k
          else this.wide.set(c, k)
        }
        seq.push(k)
      }
      if (anchoredEnd) seq.push(END)
      symbols.push(seq)
    }
    if (classes > 256) throw new FST_APPFIREWALL_PATTERN_LIBRARY('more than 253 distinct characters in one automaton')
    this.width = classes

    // Trie: one Map from (node, symbol) to child, plus first-child and
    // next-sibling lists for the breadth-first pass (no object per node).
    const edge = new Map<number, number>()
    const firstChild: number[] = [-1]
    const nextSibling: number[] = [-1]
    const symbolOf: number[] = [0]
    const outStrong: number[] = [0]
    const outWeak: number[] = [0]
    const outTags: number[] = [0]
    for (let i = 0; i < patterns.length; i++) {
      const seq = symbols[i] as number[]
      const p = patterns[i] as Pattern
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
          outStrong.push(0)
          outWeak.push(0)
          outTags.push(0)
        }
        node = next
      }
      if (p.group === 0) outStrong[node] = (outStrong[node] as number) | p.bit
      else if (p.group === 1) outWeak[node] = (outWeak[node] as number) | p.bit
      else outTags[node] = (outTags[node] as number) | p.bit
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
      outStrong[u] = (outStrong[u] as number) | (outStrong[f] as number)
      outWeak[u] = (outWeak[u] as number) | (outWeak[f] as number)
      outTags[u] = (outTags[u] as number) | (outTags[f] as number)
      // A node goes where its failure target goes, except along its own edges.
      delta.copyWithin(u * w, f * w, f * w + w)
      for (let v = firstChild[u] as number; v !== -1; v = nextSibling[v] as number) {
        const k = symbolOf[v] as number
        fail[v] = delta[f * w + k] as number
        delta[u * w + k] = v
        queue[tail++] = v
      }
    }
    this.delta = delta
    this.strong = Int32Array.from(outStrong)
    this.weak = Int32Array.from(outWeak)
    this.tags = Int32Array.from(outTags)
    this.any = Uint8Array.from(outStrong, (v, i) => (v | (outWeak[i] as number) | (outTags[i] as number)) === 0 ? 0 : 1)
  }

  /**
   * Scans `^` + text[start, end) + tail + `$`, where tail is `/` for a path
   * (so that every segment, the last one too, ends with a slash) or nothing,
   * and writes the union of the matched patterns' bits into `hits`, which the
   * caller owns and may reuse (a scan allocates nothing).
   */
  scan (text: string, start: number, end: number, slashTail: boolean, hits: ScanHits): void {
    const ascii = this.ascii
    const wide = this.wide
    const delta = this.delta
    const w = this.width
    const strong = this.strong
    const weak = this.weak
    const tags = this.tags
    const any = this.any
    let s = delta[START] as number
    let a = strong[s] as number
    let b = weak[s] as number
    let t = tags[s] as number
    for (let i = start; i < end; i++) {
      const c = text.charCodeAt(i)
      s = delta[s * w + (c < 128 ? ascii[c] as number : wide.get(c) ?? OTHER)] as number
      if (any[s] === 1) {
        a |= strong[s] as number
        b |= weak[s] as number
        t |= tags[s] as number
      }
    }
    if (slashTail) {
      s = delta[s * w + (ascii[47] as number)] as number
      a |= strong[s] as number
      b |= weak[s] as number
      t |= tags[s] as number
    }
    s = delta[s * w + END] as number
    hits.strong = a | (strong[s] as number)
    hits.weak = b | (weak[s] as number)
    hits.tags = t | (tags[s] as number)
  }
}
