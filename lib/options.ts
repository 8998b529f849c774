// Register-time option handling, derived from the option table: one TypeBox
// schema compiled once at module load, a coded error listing every problem,
// and a frozen, fully defaulted ResolvedOptions that the hot path reads.
// Nothing here runs per request.
import { Type, type Static, type TAddOptional } from 'typebox'
import { Compile } from 'typebox/compile'
import type { FastifyRequest } from 'fastify'
import type { AppFirewallDefaults, AppFirewallOptions, HiddenOptionName, LimitedInfo, LimitStore, RedisLike, ResolvedOptions } from './types'
import { optionTable, type OptionName, type OptionSpec } from './option-table'
import { checkCidrs } from './ip/cidr'
import { anyClientProblem } from './ip/trust-bounds'
import { FST_APPFIREWALL_INVALID_OPTIONS } from './errors'

type Table = typeof optionTable
const names = Object.keys(optionTable) as OptionName[]
const spec = (name: OptionName): OptionSpec => optionTable[name]

export const OptionsSchema = Type.Object(
  Object.fromEntries(names.map((n) => [n, Type.Optional(spec(n).schema)])) as { [K in OptionName]: TAddOptional<Table[K]['schema']> },
  { additionalProperties: false })

// The public interface lives in types.ts (typebox-free, for consumers that
// compile without skipLibCheck); these pin it to the table. Two-way `extends`
// misses an extra optional property; `Same` does not.
type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false
type AssertTrue<T extends true> = T
type HiddenInTable = { [K in OptionName]: Table[K] extends { hidden: true } ? K : never }[OptionName]
export type SchemaMatchesPublicType = AssertTrue<Same<Static<typeof OptionsSchema>, AppFirewallOptions>>
export type HiddenMatchesPublicType = AssertTrue<Same<HiddenInTable, HiddenOptionName>>
type TableDefaults = { -readonly [K in OptionName as Table[K] extends { default: unknown } ? K : never]: Table[K] extends { default: infer D } ? D : never }
export type DefaultsMatchPublicType = AssertTrue<Same<keyof TableDefaults, keyof AppFirewallDefaults>>
export type DefaultsHaveTheirTypes = AssertTrue<TableDefaults extends AppFirewallDefaults ? true : false>

/** The defaults of every option that has one, frozen (exported as `defaults`). */
export const defaults: AppFirewallDefaults = deepFreeze(Object.fromEntries(
  names.filter((n) => spec(n).default !== undefined).map((n) => [n, spec(n).default])) as unknown as AppFirewallDefaults)

const validator = Compile(OptionsSchema)
const propertyValidators = new Map(names.map((n) => [n as string, Compile(spec(n).schema)]))

export interface Resolved {
  options: ResolvedOptions
  /** Kept out of `options` so that it never shows up in logs or `app.appfirewall.options`. */
  apiKey: string | undefined
  skip: ((request: FastifyRequest) => boolean) | undefined
  onLimited: ((ip: string, info: LimitedInfo) => void) | undefined
  redis: RedisLike | undefined
  store: LimitStore | undefined
}

/**
 * Validates and defaults the user's options (environment fallbacks as the
 * table says). Throws one FST_APPFIREWALL_INVALID_OPTIONS error naming every
 * bad option, what was given and what is allowed.
 */
export function resolveOptions (input: unknown, env: NodeJS.ProcessEnv): Resolved {
  const raw = (input === undefined || input === null ? {} : input) as Record<string, unknown>
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    throw new FST_APPFIREWALL_INVALID_OPTIONS(`options must be an object, got ${show(input)}`)
  }
  // Fastify hands plugins their options object; drop what is not ours but is
  // Fastify's own (prefix, logLevel...) so that additionalProperties holds.
  const given: Record<string, unknown> = {}
  for (const key of Object.keys(raw)) {
    if (key === 'prefix' || key === 'logLevel' || key === 'logSerializers') continue
    given[key] = raw[key]
  }
  if (!validator.Check(given)) throw new FST_APPFIREWALL_INVALID_OPTIONS(schemaProblems(given).join('; '))

  const value: Record<string, unknown> = {}
  const fromEnv = new Set<string>()
  for (const name of names) {
    let v = given[name]
    const envName = spec(name).env
    if (v === undefined && envName !== undefined && env[envName] !== undefined && env[envName] !== '') {
      v = env[envName]
      fromEnv.add(name)
    }
    value[name] = v ?? spec(name).default
  }
  const o = value as unknown as AppFirewallOptions & typeof defaults
  const problems = crossChecks(o, fromEnv)
  if (problems.length > 0) throw new FST_APPFIREWALL_INVALID_OPTIONS(problems.join('; '))

  const shown: Record<string, unknown> = {}
  for (const name of names) if (spec(name).hidden !== true) shown[name] = value[name]
  shown.hasApiKey = o.apiKey !== undefined && o.apiKey !== ''
  shown.sharedStore = o.redis !== undefined || o.store !== undefined
  return {
    options: deepFreeze(shown) as unknown as ResolvedOptions,
    apiKey: o.apiKey,
    skip: o.skip,
    onLimited: o.onLimited,
    redis: o.redis,
    store: o.store
  }
}

/** One line per bad option. TypeBox caps the errors it reports, so each option is checked on its own. */
function schemaProblems (given: Record<string, unknown>): string[] {
  const problems: string[] = []
  for (const name of Object.keys(given)) {
    const check = propertyValidators.get(name)
    if (check === undefined) {
      problems.push(`unknown option "${name}" (known: ${names.join(', ')})`)
      continue
    }
    const v = given[name]
    if (v === undefined || check.Check(v)) continue
    const allowed = spec(name as OptionName).allowed
    const extra = check.Errors(v).find((e) => e.keyword === 'additionalProperties')
    const keys = (extra?.params as { additionalProperties?: string[] } | undefined)?.additionalProperties
    problems.push(keys !== undefined && keys.length > 0
      ? `unknown key "${keys.join('", "')}" in "${name}": ${allowed}`
      : `"${name}" must be ${allowed}, got ${show(v)}`)
  }
  if (problems.length === 0) problems.push('options do not match the schema')
  return problems
}

/** What the schema cannot say: URLs, address lists, options that depend on each other, the shape of clients. */
function crossChecks (o: AppFirewallOptions & typeof defaults, fromEnv: ReadonlySet<string>): string[] {
  const problems: string[] = []
  const must = (name: OptionName, got: string): void => {
    problems.push(`"${name}" must be ${spec(name).allowed}, got ${got}`)
  }
  if (!isHttpUrl(o.endpoint)) must('endpoint', show(o.endpoint) + (fromEnv.has('endpoint') ? ` (from ${spec('endpoint').env as string})` : ''))
  if (!isHttpUrl(o.cloudflareRangesUrl)) must('cloudflareRangesUrl', show(o.cloudflareRangesUrl))
  if (o.mode === 'local' && o.localLogPath === undefined) {
    problems.push('"localLogPath" is required when mode is "local", got nothing')
  }
  const trustedCidrs = o.trustedProxies.filter((p) => p !== 'cloudflare')
  const badTrusted = checkCidrs(trustedCidrs)
  const wide = badTrusted === null ? anyClientProblem(trustedCidrs) : null
  if (badTrusted !== null) problems.push(`"trustedProxies" must be ${spec('trustedProxies').allowed}: ${badTrusted}`)
  // Trusting every client believes every x-forwarded-for: each request would name its own IP.
  if (wide !== null) problems.push(`"trustedProxies" would let any client choose its IP: ${wide}; list only your proxies' own ranges`)
  const badAllow = checkCidrs(o.allowList)
  if (badAllow !== null) problems.push(`"allowList" must be ${spec('allowList').allowed}: ${badAllow}`)
  if (o.redis !== undefined && (typeof o.redis.eval !== 'function' || typeof o.redis.duplicate !== 'function')) {
    must('redis', 'an object without eval() and duplicate()')
  }
  if (o.store !== undefined && (typeof (o.store as { incr?: unknown }).incr !== 'function' || typeof o.store.close !== 'function')) {
    must('store', 'an object without incr() and close()')
  }
  if (o.store !== undefined && o.redis !== undefined) {
    problems.push('"redis" and "store" are both set: pass one shared store (redis builds the Redis store for you)')
  }
  return problems
}

function show (value: unknown): string {
  if (typeof value === 'function') return 'a function'
  if (typeof value === 'bigint') return `${value}n`
  try {
    const s = JSON.stringify(value)
    if (s === undefined) return String(value)
    return s.length > 80 ? s.slice(0, 77) + '...' : s
  } catch {
    return Object.prototype.toString.call(value)
  }
}

function isHttpUrl (value: string): boolean {
  try {
    const u = new URL(value)
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== ''
  } catch {
    return false
  }
}

/** Freezes plain objects and arrays all the way down (options only hold data once the hidden ones are out). */
function deepFreeze<T> (value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    const copy = Array.isArray(value) ? value.map(deepFreeze) : Object.fromEntries(Object.entries(value).map(([k, v]) => [k, deepFreeze(v)]))
    return Object.freeze(copy) as T
  }
  return value
}
