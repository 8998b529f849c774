// record() fields, written straight to JSON text within a byte budget. Never
// rejects, never throws, never drops the event, and runs none of the app's
// code (no getter, toString, toJSON or Proxy trap), so that what record()
// costs does not depend on what it is given. What is not plain JSON becomes a
// string; sizes are bounded per value (keys, items, characters, depth) and
// per event (UTF-8 bytes), so a careless record('x', { body }) cannot bloat
// the queue, and an object that refers to itself, or to one object many
// times, is written once.
import { ACCESSOR, describe, getDescriptor, isPlain, isProxy, own, PROXY, textOf } from './describe'
import { cutChars, fitLiteral, MAX_STRING, Measure } from './json-text'

export { clip, cutChars, fitLiteral, MAX_STRING, Measure } from './json-text'
export { PROXY, textOf } from './describe'

export const MAX_KEYS = 50
export const MAX_ARRAY = 100
/** Depth of nested objects kept as objects; deeper ones become a marker (`[Object]`, `[Array(n)]`). */
export const MAX_DEPTH = 3
/** Longest key kept, in characters. */
export const MAX_KEY = 200
/** Most objects and arrays opened per event; further ones become a marker. */
export const MAX_CONTAINERS = 200
/**
 * V8 lists every key of an object before the first one can be read (about
 * 0.1 µs a key for a wide object): objects are listed only while fewer than
 * (fields budget / 4) keys have been listed for the event, and an object is
 * counted no wider than this once it is seen to be.
 */
const WIDE = 1000

/** Markers written for what is not written out. */
export const CIRCULAR = '[Circular]'
export const REPEATED = '[Repeated]'
export const GETTER = '[Getter]'
export const UNREADABLE = '[Unreadable]'

// Least room a value is given: `null`, what a number or boolean that does not fit becomes.
const MIN_ROOM = 4
// Rounds of sharing the budget among the top-level fields (writeFields); each costs at most the budget.
const MAX_ROUNDS = 6

/** The first MAX_KEYS own enumerable keys of an object: JSON literals, their UTF-8 sizes, values (ACCESSOR for a getter). */
interface Entries {
  keys: string[]
  bytes: number[]
  values: unknown[]
}

/** What one event's writing keeps track of; as a Measure, the size of the text its last write returned. */
class Walk extends Measure {
  constructor (
    /** Keys V8 may be asked to list for this event (see WIDE). */
    readonly maxListed: number
  ) {
    super()
  }

  /** Objects and arrays opened: a second reference to one is written as REPEATED (made on first need). */
  seen: Set<object> | null = null
  /** Each nested object's entries, listed once per event, however often it is written again (made on first need). */
  listings: Map<object, Entries> | null = null
  /** Keys listed so far (an object seen to be WIDE counts as maxListed). */
  listed = 0
  /** Objects and arrays being written: a reference to one of them is a cycle. */
  readonly path: object[] = []
  /** While sharing the room: the objects opened by the top-level value being written (forgotten when it is written again). */
  log: object[] | null = null
  opened = 0
  /** Cuts the byte budget made. */
  cuts = 0
}

/** The entries of nested plain object o (see Entries), from the event's listings or listed now. */
function entriesOf (w: Walk, o: object): Entries {
  const listings = w.listings ?? (w.listings = new Map())
  let e = listings.get(o)
  if (e === undefined) {
    e = listEntries(w, o)
    listings.set(o, e)
  }
  return e
}

/** Lists the entries of plain object o (see Entries), counting the keys V8 listed. */
function listEntries (w: Walk, o: object): Entries {
  const e: Entries = { keys: [], bytes: [], values: [] }
  let width = 0
  // for...in on a plain object (its prototype is Object.prototype or null)
  // reaches no app code; getDescriptor skips inherited keys. The keys past
  // MAX_KEYS are only counted, up to WIDE: V8 has listed them all already.
  for (const key in o) {
    if (++width > WIDE) break
    if (e.keys.length === MAX_KEYS) continue
    const v = own(o, key)
    if (v === undefined && getDescriptor(o, key) === undefined) continue
    e.keys.push(fitLiteral(key.length > MAX_KEY ? cutChars(key, MAX_KEY) : key, Infinity, w))
    e.bytes.push(w.bytes)
    e.values.push(v)
  }
  w.listed += width > WIDE ? w.maxListed : width
  return e
}

// Markers are ASCII: written as they are when they fit, without measuring them again.
function marker (w: Walk, m: string, room: number): string {
  if (m.length + 2 <= room) {
    w.bytes = m.length + 2
    return '"' + m + '"'
  }
  return literal(w, m, room)
}

function literal (w: Walk, s: string, room: number): string {
  const text = fitLiteral(s, room, w)
  if (w.cut) w.cuts++
  return text
}

/** A number, boolean or null; `null` when it does not fit (room >= MIN_ROOM). */
function bare (w: Walk, text: string, room: number): string {
  if (text.length <= room) {
    w.bytes = text.length
    return text
  }
  w.cuts++
  w.bytes = 4
  return 'null'
}

/** JSON text of v in at most `room` bytes (room >= MIN_ROOM); sets w.bytes. */
function value (w: Walk, v: unknown, room: number, depth: number): string {
  switch (typeof v) {
    case 'string':
      return literal(w, v.length > MAX_STRING ? cutChars(v, MAX_STRING) : v, room)
    case 'number':
      return Number.isFinite(v) ? bare(w, String(v), room) : literal(w, String(v), room)
    case 'boolean':
      return bare(w, v ? 'true' : 'false', room)
    case 'undefined':
      return bare(w, 'null', room)
    case 'object':
      if (v === null) return bare(w, 'null', room)
      if (v === ACCESSOR) return marker(w, GETTER, room)
      return container(w, v, room, depth)
    default:
      return literal(w, textOf(v), room)
  }
}

function container (w: Walk, o: object, room: number, depth: number): string {
  if (isProxy(o)) return marker(w, PROXY, room)
  if (w.path.includes(o)) return marker(w, CIRCULAR, room)
  if (w.seen?.has(o) === true) return marker(w, REPEATED, room)
  const isArray = Array.isArray(o)
  if (!isArray && !isPlain(o)) return literal(w, describe(o), room)
  if (depth >= MAX_DEPTH || w.opened >= MAX_CONTAINERS || (!isArray && w.listed >= w.maxListed && w.listings?.has(o) !== true)) {
    return marker(w, isArray ? '[Array(' + (o as unknown[]).length + ')]' : '[Object]', room)
  }
  w.opened++
  ;(w.seen ?? (w.seen = new Set())).add(o)
  w.log?.push(o)
  w.path.push(o)
  let text: string
  if (isArray) text = writeArray(w, o as unknown[], room, depth)
  else {
    const e = entriesOf(w, o)
    text = writeEntries(w, e, e.keys.length, room, depth)
  }
  w.path.pop()
  return text
}

// Arrays keep their first items: once one item is cut, the rest are left out.
function writeArray (w: Walk, a: unknown[], room: number, depth: number): string {
  const n = Math.min(a.length, MAX_ARRAY)
  let text = '['
  let used = 2
  for (let i = 0; i < n; i++) {
    const sep = i === 0 ? 0 : 1
    const avail = room - used - sep
    if (avail < MIN_ROOM) {
      w.cuts++
      break
    }
    const cuts = w.cuts
    const item = value(w, own(a, i), avail, depth + 1)
    text += sep === 0 ? item : ',' + item
    used += sep + w.bytes
    if (w.cuts !== cuts) break
  }
  w.bytes = used
  return text + ']'
}

// Objects keep their first keys, in the same way (the first `n` entries are written).
function writeEntries (w: Walk, e: Entries, n: number, room: number, depth: number): string {
  let text = '{'
  let used = 2
  for (let i = 0; i < n; i++) {
    const sep = i === 0 ? 0 : 1
    const kb = e.bytes[i] as number
    const avail = room - used - sep - kb - 1
    if (avail < MIN_ROOM) {
      w.cuts++
      break
    }
    const cuts = w.cuts
    text += (sep === 0 ? '' : ',') + (e.keys[i] as string) + ':' + value(w, e.values[i], avail, depth + 1)
    used += sep + kb + 1 + w.bytes
    if (w.cuts !== cuts) break
  }
  w.bytes = used
  return text + '}'
}

/** Whether `fields` is written key by key (a plain object); anything else is kept whole under the one key `value`. */
function keyed (fields: unknown): fields is object {
  return typeof fields === 'object' && fields !== null && !Array.isArray(fields) && !isProxy(fields) && isPlain(fields)
}

const VALUE_ENTRY: Entries = { keys: ['"value"'], bytes: [7], values: [] }

/**
 * JSON text of the `fields` of a custom event, in at most `room` bytes of
 * UTF-8 (room >= 2). Sets `out` (cut: the budget clipped something).
 *
 * Fields that fit are written whole. When they do not, the top-level fields
 * share the room: each round gives every field not yet written whole an equal
 * share of what is left; those that fit their share are kept whole and the
 * rest share the remainder in the next round, until no more fit. So small
 * fields always survive, and the largest are cut to equal shares (a string
 * keeps its beginning, an array its first items, an object its first keys).
 * Keys that would leave no room for even a `null` are left out, last first.
 */
export function writeFields (fields: unknown, room: number, out: Measure): string {
  try {
    return shareRoom(fields, room, out)
  } catch {
    // Not expected: nothing here calls app code. Still, the event is kept.
    const text = room >= 24 ? '{"error":"[Unreadable]"}' : '{}'
    out.bytes = text.length
    out.cut = true
    return text
  }
}

function shareRoom (fields: unknown, room: number, out: Measure): string {
  if (fields === undefined || fields === null) {
    out.bytes = 2
    out.cut = false
    return '{}'
  }
  const w = new Walk(Math.max(MAX_KEYS, room >> 3))
  let e: Entries
  if (keyed(fields)) {
    e = listEntries(w, fields)
    // A field that refers back to the fields object is a cycle.
    w.path.push(fields)
  } else {
    e = { keys: VALUE_ENTRY.keys, bytes: VALUE_ENTRY.bytes, values: [fields] }
  }
  // Most events fit: written once, in order.
  const whole = writeEntries(w, e, e.keys.length, room, 0)
  if (w.cuts === 0) {
    out.bytes = w.bytes
    out.cut = false
    return whole
  }
  // Written again, sharing the room; what was listed stays listed.
  w.cuts = 0
  w.seen = null
  w.opened = 0
  const text = share(w, e, room)
  out.bytes = w.bytes
  out.cut = w.cut
  return text
}

/** The fields when they do not all fit: see writeFields. */
function share (w: Walk, e: Entries, room: number): string {
  const { keys, bytes: keyBytes, values } = e
  let n = keys.length
  let fixed = 2 + Math.max(0, n - 1)
  for (let i = 0; i < n; i++) fixed += (keyBytes[i] as number) + 1
  while (n > 0 && fixed + MIN_ROOM * n > room) {
    n--
    fixed -= (keyBytes[n] as number) + 1 + (n > 0 ? 1 : 0)
    w.cuts++
  }
  const texts = new Array<string>(n)
  const sizes = new Array<number>(n)
  const logs = new Array<object[] | null>(n).fill(null)
  let pending: number[] = []
  for (let i = 0; i < n; i++) pending.push(i)
  let left = room - fixed
  for (let round = 0; pending.length !== 0 && round < MAX_ROUNDS; round++) {
    const level = Math.floor(left / pending.length)
    const still: number[] = []
    for (const i of pending) {
      const log = logs[i] as object[] | null
      if (log !== null) {
        for (const o of log) w.seen?.delete(o)
        w.opened -= log.length
      }
      w.log = logs[i] = []
      const cuts = w.cuts
      texts[i] = topValue(w, values[i], level)
      sizes[i] = w.bytes
      if (w.cuts === cuts) left -= w.bytes
      else {
        w.cuts = cuts
        still.push(i)
      }
    }
    const progress = still.length !== pending.length
    pending = still
    if (!progress) break
  }
  if (pending.length !== 0) w.cuts++
  let text = '{'
  let bytes = fixed
  for (let i = 0; i < n; i++) {
    text += (i === 0 ? '' : ',') + (keys[i] as string) + ':' + (texts[i] as string)
    bytes += sizes[i] as number
  }
  w.bytes = bytes
  w.cut = w.cuts !== 0
  return text + '}'
}

function topValue (w: Walk, v: unknown, room: number): string {
  const depth = w.path.length
  try {
    return value(w, v, room, 1)
  } catch {
    // Not expected (nothing here calls app code); still, one value costs only itself.
    w.path.length = depth
    return literal(w, UNREADABLE, room)
  }
}
