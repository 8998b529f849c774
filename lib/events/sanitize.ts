// Sanitising of record() fields: never rejects, never throws, never drops the
// event. What is not plain JSON becomes a string; sizes are bounded so that a
// careless record('x', { body: hugeString }) cannot bloat the queue.

export const MAX_KEYS = 50
export const MAX_STRING = 2000
export const MAX_ARRAY = 100
/** Depth of nested objects kept as objects; deeper ones are stringified. */
export const MAX_DEPTH = 3

export function clip (s: string, max: number = MAX_STRING): string {
  return s.length > max ? s.slice(0, max) : s
}

/** String form of something that is not plain JSON; guarded, since toString itself may throw. */
function describe (value: unknown): string {
  try {
    if (value instanceof Date) {
      return Number.isNaN(value.getTime()) ? 'Invalid Date' : value.toISOString()
    }
    if (typeof value === 'symbol') return value.toString()
    if (typeof value === 'function') return `[Function ${value.name === '' ? 'anonymous' : value.name}]`
    return clip(String(value))
  } catch {
    return '[Unserializable]'
  }
}

function isPlainObject (value: object): boolean {
  const proto = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

function sanitizeValue (value: unknown, depth: number, seen: object[]): unknown {
  switch (typeof value) {
    case 'string':
      return clip(value)
    case 'number':
      return Number.isFinite(value) ? value : String(value)
    case 'boolean':
      return value
    case 'undefined':
      return null
    case 'object':
      break
    default: // bigint, symbol, function
      return describe(value)
  }
  if (value === null) return null
  if (seen.includes(value)) return '[Circular]'
  if (depth >= MAX_DEPTH) return describe(value)
  if (Array.isArray(value)) {
    seen.push(value)
    const n = Math.min(value.length, MAX_ARRAY)
    const out = new Array<unknown>(n)
    for (let i = 0; i < n; i++) out[i] = readGuarded(() => value[i], depth + 1, seen)
    seen.pop()
    return out
  }
  if (!isPlainObject(value)) return describe(value)
  seen.push(value)
  const out = sanitizeObject(value as Record<string, unknown>, depth + 1, seen)
  seen.pop()
  return out
}

// A getter or a Proxy trap may throw anywhere inside a value: each value is
// read and sanitised under its own guard, so one bad key costs only itself.
function readGuarded (get: () => unknown, depth: number, seen: object[]): unknown {
  const mark = seen.length
  try {
    return sanitizeValue(get(), depth, seen)
  } catch {
    seen.length = mark
    return '[Unreadable]'
  }
}

function sanitizeObject (obj: Record<string, unknown>, depth: number, seen: object[]): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  let n = 0
  // for...in stops early: a million-key object costs MAX_KEYS reads, not a million.
  for (const key in obj) {
    if (!Object.prototype.hasOwnProperty.call(obj, key)) continue
    if (n++ >= MAX_KEYS) break
    out[clip(key, 200)] = readGuarded(() => obj[key], depth, seen)
  }
  return out
}

/**
 * Turns whatever the app passed as `fields` into a plain JSON-able object.
 * A non-object becomes `{ value: ... }`; a hostile object (a Proxy whose traps
 * throw) becomes `{ error: "[Unreadable]" }` rather than losing the event.
 */
export function sanitizeFields (fields: unknown): Record<string, unknown> {
  if (fields === undefined || fields === null) return {}
  try {
    if (typeof fields !== 'object' || Array.isArray(fields)) {
      return { value: sanitizeValue(fields, 1, []) }
    }
    return sanitizeObject(fields as Record<string, unknown>, 1, [fields])
  } catch {
    return { error: '[Unreadable]' }
  }
}
