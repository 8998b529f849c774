// The byte budget of one custom event, at the level of the line builder
// (lib/events/line.ts, sanitize.ts): whatever record() is given and whatever
// the request looks like, the line is valid JSON with exactly the wire
// schema, at most maxEventBytes bytes of UTF-8 (measured exactly as it is
// built), and the event is never dropped. A seeded generator of hostile values
// and requests, then the cases the generator may not reach.
import t from 'tap'
import { customLine } from '../lib/events/line'
import type { CustomLineSize, EventSource } from '../lib/events/line'
import { Measure, writeFields } from '../lib/events/sanitize'

// What the last customLine() or writeFields() call below made.
const lastCustom: CustomLineSize = { bytes: 0, clipped: false }
const measured = new Measure()

const SCHEMA = ['fields', 'ip', 'method', 'name', 'path', 'ts', 'type']

// Mulberry32: the same cases on every run.
function rng (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let x = Math.imul(a ^ (a >>> 15), 1 | a)
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}

const PIECES = ['a', 'Z', ' ', '"', '\\', '\u0001', '\n', '\u007f', 'é', 'ÿ', '漢', '😀', '\ud800', '\udc00', '\u2028', '/', '<', 'key']

function source (r: () => number): EventSource {
  const text = (n: number): string => {
    let s = ''
    for (let i = 0; i < n; i++) s += PIECES[Math.floor(r() * PIECES.length)] as string
    return s
  }
  const hostile = r() < 0.3
  return {
    ip: r() < 0.5 ? '203.0.113.9' : '2001:db8::1',
    method: hostile ? text(300) : 'POST',
    url: hostile ? '/' + text(2500) : '/login?next=/x',
    uaJson: undefined,
    referer: undefined,
    cfCountry: undefined,
    cfRay: r() < 0.5 ? undefined : hostile ? text(2500) : '8f1e2d3c4b5a6978-LHR',
    cfAsn: undefined,
    via: undefined,
    classification: undefined,
    rule: undefined,
    uaClass: undefined,
    wouldBlock: false,
    blocked: false,
    aborted: false
  }
}

function value (r: () => number, depth: number, shared: unknown[]): unknown {
  const pick = r()
  // At most about 300 objects and arrays per event: the values stay hostile
  // in shape (wide, deep, shared, cyclic) without taking minutes to build.
  if (depth > 4 || pick < 0.25 || shared.length > 300) {
    const kind = Math.floor(r() * 9)
    switch (kind) {
      case 0: return Math.floor(r() * 1e9) - 5e8
      case 1: return r() < 0.5 ? NaN : -Infinity
      case 2: return r() < 0.5
      case 3: return null
      case 4: return undefined
      case 5: return BigInt(Math.floor(r() * 1e9)) ** 3n
      case 6: return new Date(Math.floor(r() * 4e12))
      case 7: return Symbol('s' + PIECES[Math.floor(r() * PIECES.length)])
      default: {
        let s = ''
        const n = r() < 0.1 ? 5000 : Math.floor(r() * 60)
        for (let i = 0; i < n; i++) s += PIECES[Math.floor(r() * PIECES.length)] as string
        return s
      }
    }
  }
  if (pick < 0.35 && shared.length > 0) return shared[Math.floor(r() * shared.length)]
  if (pick < 0.4) return new Proxy({ a: 1 }, {})
  if (pick < 0.45) return Object.defineProperty({}, 'g', { enumerable: true, get () { throw new Error('called') } })
  if (pick < 0.7) {
    const a: unknown[] = []
    const n = Math.floor(r() * (r() < 0.1 ? 300 : 8))
    shared.push(a)
    for (let i = 0; i < n; i++) a.push(value(r, depth + 1, shared))
    return a
  }
  const o: Record<string, unknown> = {}
  shared.push(o)
  const n = Math.floor(r() * (r() < 0.1 ? 80 : 8))
  for (let i = 0; i < n; i++) o[(PIECES[Math.floor(r() * PIECES.length)] as string).repeat(1 + Math.floor(r() * 300)) + i] = value(r, depth + 1, shared)
  if (r() < 0.2) o.self = o
  return o
}

t.test('2000 generated events: valid JSON, the wire schema, within the budget, measured exactly, never dropped', async (t) => {
  const r = rng(9)
  let worst = 0
  let clipped = 0
  let bad = 0
  for (let i = 0; i < 2000; i++) {
    const budget = [1024, 2048, 4096, 16_384, 65_536][i % 5] as number
    const env = r() < 0.5 ? '' : ',"environment":"prod"'
    const fields = value(r, 0, [])
    const line = customLine(source(r), r() < 0.1 ? { toString: () => 'x' } : 'event.' + i, fields, Date.now(), env, budget, lastCustom)
    const bytes = Buffer.byteLength(line)
    let ok = bytes <= budget && bytes === lastCustom.bytes
    try {
      const e = JSON.parse(line) as Record<string, unknown>
      const keys = Object.keys(e).filter((k) => k !== 'cf_ray' && k !== 'environment').sort()
      ok &&= JSON.stringify(keys) === JSON.stringify(SCHEMA) && typeof e.fields === 'object' && e.fields !== null && typeof e.name === 'string'
    } catch {
      ok = false
    }
    if (!ok) {
      bad++
      if (bad <= 3) t.fail(`event ${i}: ${bytes} bytes (measured ${lastCustom.bytes}), budget ${budget}: ${line.slice(0, 300)}`)
    }
    if (lastCustom.clipped) clipped++
    worst = Math.max(worst, bytes / budget)
  }
  t.equal(bad, 0, 'every line valid, within its budget, measured exactly')
  t.ok(clipped > 100, `${clipped} events needed clipping`)
  t.ok(worst > 0.95, `the largest used ${(worst * 100).toFixed(1)}% of its budget`)
})

t.test('a hostile request alone: the name, path, method and cf_ray are cut to fit 1024 bytes, the event kept', async (t) => {
  const src = source(rng(1))
  Object.assign(src, { url: '/' + '"'.repeat(2047), method: '\u0001'.repeat(300), cfRay: '\\'.repeat(2048) })
  const line = customLine(src, '\u0002'.repeat(200), { user: 'bob' }, Date.now(), ',"environment":"prod"', 1024, lastCustom)
  t.ok(Buffer.byteLength(line) <= 1024, `${Buffer.byteLength(line)} bytes`)
  t.ok(lastCustom.clipped, 'counted as clipped')
  const e = JSON.parse(line)
  t.match(e.path, /^\/"+$/, 'the path keeps its beginning')
  t.ok(e.path.length > 100, `and what room is left (${e.path.length} characters)`)
  t.equal(e.environment, 'prod')
})

t.test('strings are cut at whole characters: no half surrogate pair, no half escape', async (t) => {
  for (let room = 2; room < 60; room++) {
    const text = writeFields({ s: '😀a"\u0001é'.repeat(50) }, room + 8, measured)
    const parsed = JSON.parse(text) as { s: string }
    t.ok(measured.bytes <= room + 8 && measured.bytes === Buffer.byteLength(text), `room ${room + 8}: ${measured.bytes} bytes`)
    t.notMatch(parsed.s, /[\ud800-\udbff](?![\udc00-\udfff])/, 'no lone high surrogate')
  }
})

t.test('over the budget, small fields stay whole and the large ones share what is left', async (t) => {
  // Within the per-value limits (2000 characters, 100 items) the fields take
  // about 2330 bytes: 2048 makes them share. The small ones and the array
  // (about 390 bytes, less than an equal share) stay whole; the string gets the rest.
  const text = writeFields({ a: 'x'.repeat(50_000), b: 'small', c: Array.from({ length: 1000 }, (_, i) => i), d: { e: 1 } }, 2048, measured)
  const f = JSON.parse(text)
  t.ok(measured.cut)
  t.equal(measured.bytes, Buffer.byteLength(text))
  t.ok(measured.bytes <= 2048 && measured.bytes > 2000, `${measured.bytes} bytes: the budget is used, not wasted`)
  t.equal(f.b, 'small')
  t.same(f.d, { e: 1 })
  t.same(f.c, Array.from({ length: 100 }, (_, i) => i), 'the array fits its share: its first 100 items, whole')
  t.ok(f.a.length > 1500 && f.a.length < 2000, `the string got what is left (${f.a.length as number} characters)`)
})

t.test('fields that fit are written as JSON.stringify would write the sanitised value', async (t) => {
  const fields = { user: 'ann', n: 3, ok: true, none: null, list: [1, 'two', { three: 3 }], nested: { a: { b: 1 } }, u: undefined, x: -0, big: 1e21 }
  const text = writeFields(fields, 16_384, measured)
  t.equal(text, JSON.stringify({ ...fields, u: null }))
  t.notOk(measured.cut)
})

t.test('cycles, repeated references, depth and opaque values become markers', async (t) => {
  const shared = { id: 7 }
  const cyclic: Record<string, unknown> = { name: 'loop' }
  cyclic.self = cyclic
  const f = JSON.parse(writeFields({
    a: shared,
    b: shared,
    list: [shared, [shared]],
    cyclic,
    deep: { one: { two: { three: 3 } }, arr: [[[1]]] },
    map: new Map([[1, 2]]),
    buf: Buffer.from('hello'),
    err: new RangeError('out of range'),
    bad: new Date(NaN)
  }, 16_384, measured))
  t.same(f.a, { id: 7 })
  t.equal(f.b, '[Repeated]')
  t.same(f.list, ['[Repeated]', ['[Repeated]']])
  t.same(f.cyclic, { name: 'loop', self: '[Circular]' })
  // deep.one.two and deep.arr[0] are as deep: both markers.
  t.same(f.deep, { one: { two: '[Object]' }, arr: ['[Array(1)]'] })
  t.equal(f.map, '[Map]')
  t.equal(f.buf, '[Buffer]')
  t.equal(f.err, 'RangeError: out of range')
  t.equal(f.bad, 'Invalid Date')
})
