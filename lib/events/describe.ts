// Reading what record() is given without running any of the app's code: no
// getter, toString, toJSON, Symbol.toPrimitive or Proxy trap is called, so
// what a value costs to read does not depend on the app. Properties are read
// through their descriptors (a getter is marked, not called), objects that
// are not plain data are named by their class, Dates and Errors are written
// from their internal slots and own data properties.
import { types } from 'node:util'
import { cutChars, MAX_STRING } from './json-text'

export const PROXY = '[Proxy]'

// BigInts are written in full up to this magnitude (String() of a huge one is slow).
const BIG = 10n ** 1000n

const { isProxy, isDate, isNativeError } = types
export { isProxy }
export const getDescriptor = Object.getOwnPropertyDescriptor
const getProto = Object.getPrototypeOf
const dateTime = Date.prototype.getTime
const dateIso = Date.prototype.toISOString
const symbolDescription = getDescriptor(Symbol.prototype, 'description')?.get

// Marks an accessor property among the values read: it is written as GETTER, never called.
export const ACCESSOR: object = Object.freeze({})

/** The value of own property `key` of a non-Proxy object without calling anything: ACCESSOR for a getter, undefined when absent. */
export function own (o: object, key: string | number): unknown {
  const d = getDescriptor(o, key)
  if (d === undefined) return undefined
  return 'value' in d ? d.value : ACCESSOR
}

/** A data property found on o or its first prototypes (no Proxy among them), else undefined. */
function dataOnChain (o: object, key: string): unknown {
  let p: object | null = o
  for (let i = 0; i < 8 && p !== null; i++) {
    if (isProxy(p)) return undefined
    const d = getDescriptor(p, key)
    if (d !== undefined) return 'value' in d ? d.value : undefined
    p = getProto(p) as object | null
  }
  return undefined
}

function nameOf (fn: unknown): string {
  if (typeof fn !== 'function' || isProxy(fn)) return ''
  const name = own(fn, 'name')
  return typeof name === 'string' ? cutChars(name, 100) : ''
}

export function isPlain (o: object): boolean {
  const proto = getProto(o)
  return proto === Object.prototype || proto === null
}

/** String form of an object that is not written as JSON: a Date, an Error, a class instance, a Proxy. */
export function describe (o: object): string {
  if (isProxy(o)) return PROXY
  if (isDate(o)) {
    return Number.isNaN(dateTime.call(o)) ? 'Invalid Date' : dateIso.call(o)
  }
  if (Array.isArray(o)) return '[Array(' + o.length + ')]'
  const cls = nameOf(dataOnChain(o, 'constructor'))
  if (isNativeError(o)) {
    const name = dataOnChain(o, 'name')
    const message = own(o, 'message')
    const head = typeof name === 'string' ? cutChars(name, 100) : cls === '' ? 'Error' : cls
    return typeof message === 'string' && message !== '' ? head + ': ' + cutChars(message, MAX_STRING) : head
  }
  return '[' + (cls === '' ? 'Object' : cls) + ']'
}

/** String form of anything that is not a string, number or boolean written as such (bigint, symbol, function, object). */
export function textOf (v: unknown): string {
  switch (typeof v) {
    case 'string':
      return cutChars(v, MAX_STRING)
    case 'bigint':
      return v > -BIG && v < BIG ? String(v) : '[BigInt]'
    case 'symbol': {
      const d = symbolDescription?.call(v) as string | undefined
      return 'Symbol(' + (d === undefined ? '' : cutChars(d, MAX_STRING)) + ')'
    }
    case 'function':
      return isProxy(v) ? PROXY : '[Function ' + (nameOf(v) || 'anonymous') + ']'
    case 'object':
      return v === null ? 'null' : describe(v)
    default:
      return String(v)
  }
}
