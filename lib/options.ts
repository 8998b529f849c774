// Register-time option handling, derived from the option table: one TypeBox
// schema compiled once at module load, a coded error listing every problem,
// and a frozen, fully defaulted ResolvedOptions that the hot path reads.
// Nothing here runs per request.
import { Type, type Static, type TAddOptional } from 'typebox'
import { Compile } from 'typebox/compile'
import { statSync, statfsSync, type Stats } from 'node:fs'
import { dirname, resolve } from 'node:path'
import type { FastifyRequest } from 'fastify'
import type { Dispatcher } from 'undici'
import type { AppFirewallDefaults, AppFirewallOptions, HiddenOptionName, LimitedInfo, LimitStore, RedisLike, ResolvedOptions } from './types'
import { BUILT_IN_CLASSES, LIMIT_CLASS_PATTERN, optionTable, Rule, type OptionName, type OptionSpec } from './option-table'
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
const ruleCheck = Compile(Rule)
const propertyValidators = new Map(names.map((n) => [n as string, Compile(spec(n).schema)]))

export interface Resolved {
  options: ResolvedOptions
  /** Kept out of `options` so that it never shows up in logs or `app.appfirewall.options`. */
  apiKey: string | undefined
  skip: ((request: FastifyRequest) => boolean) | undefined
  onLimited: ((ip: string, info: LimitedInfo) => void) | undefined
  redis: RedisLike | undefined
  store: LimitStore | undefined
  dispatcher: Dispatcher | undefined
  /** The edge sync's settings, defaults filled in and the token resolved; undefined when `edge` is not set. */
  edge: ResolvedEdge | undefined
  /** Problems that do not stop the boot, each one line for the logger. */
  warnings: string[]
}

/** `edge.cloudflare` with its defaults, and the token from the option or `CLOUDFLARE_API_TOKEN`. */
export interface ResolvedEdge {
  accountId: string
  listId: string
  apiToken: string
  includeShadow: boolean
  classes: readonly string[] | undefined
  maxItems: number
  syncIntervalMs: number
  minListedMs: number
  baseUrl: string
}

export const EDGE_DEFAULTS = Object.freeze({ maxItems: 1000, syncIntervalMs: 10_000, minListedMs: 0, baseUrl: 'https://api.cloudflare.com/client/v4' })

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
  // No prototype: a `__proto__` key (JSON.parse makes one) is an unknown
  // option like any other, never a way to inherit values.
  const given: Record<string, unknown> = Object.create(null)
  for (const key of Object.keys(raw)) {
    if (key === 'prefix' || key === 'logLevel' || key === 'logSerializers') continue
    given[key] = raw[key]
  }
  const { problems, bad } = validator.Check(given) ? { problems: [], bad: new Set<string>() } : schemaProblems(given)

  // Options that failed the schema are replaced by their defaults, so that
  // the checks below still run and the error names every problem at once.
  const value: Record<string, unknown> = {}
  const fromEnv = new Set<string>()
  for (const name of names) {
    let v = bad.has(name) ? undefined : given[name]
    const envName = spec(name).env
    if (v === undefined && envName !== undefined && env[envName] !== undefined && env[envName] !== '') {
      v = env[envName]
      fromEnv.add(name)
    }
    value[name] = v ?? spec(name).default
  }
  // A smaller queue than the default batch: the batch is the whole queue
  // (a batch larger than the queue would never fill, and overflow instead).
  if (given.batchSize === undefined && (value.queueSize as number) < (value.batchSize as number)) value.batchSize = value.queueSize
  const o = value as unknown as AppFirewallOptions & typeof defaults
  const warnings: string[] = []
  // `off` must work as a kill switch: an endpoint it will never use, read
  // from the environment, is reported but does not stop the app from booting.
  const endpointUnused = o.mode !== 'ship' || o.apiKey === undefined || o.apiKey === ''
  if (fromEnv.has('endpoint') && endpointUnused && !isHttpUrl(o.endpoint)) {
    warnings.push(`appfirewall: ${spec('endpoint').env as string} is not an http(s) URL (${show(o.endpoint)}); ignored, since ${o.mode === 'ship' ? 'without a key the plugin is off' : `mode is "${o.mode}"`}`)
    value.endpoint = spec('endpoint').default
    o.endpoint = spec('endpoint').default as string
  }
  problems.push(...crossChecks(o, fromEnv, bad))
  const edge = bad.has('edge') || o.edge === undefined ? undefined : resolveEdge(o.edge.cloudflare, env, problems)
  if (!bad.has('rateLimit')) warnings.push(...misspelledClasses(o.rateLimit))
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
    store: o.store,
    dispatcher: o.dispatcher,
    edge,
    warnings
  }
}

/**
 * A rateLimit key that is no built-in class counts record() events of that
 * name, so a typo (`scaner-certain`, `benign_miss`) is a limit nothing ever
 * reaches: one warning for a key within two edits of a built-in class.
 */
function misspelledClasses (limits: Record<string, unknown>): string[] {
  const out: string[] = []
  for (const key of Object.keys(limits)) {
    if (BUILT_IN_CLASSES.includes(key) || key.length > 40) continue
    const near = BUILT_IN_CLASSES.find((c) => editDistance(key.toLowerCase().replace(/_/g, '-'), c) <= 2)
    if (near !== undefined) out.push(`appfirewall: rateLimit key ${show(key)} is not a built-in class, so it counts record() events of that name; did you mean "${near}"?`)
  }
  return out
}

/** Levenshtein distance of two short strings. */
function editDistance (a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const row = [i]
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min((prev[j] as number) + 1, (row[j - 1] as number) + 1, (prev[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    prev = row
  }
  return prev[b.length] as number
}

/** One line per bad option, and their names. TypeBox caps the errors it reports, so each option is checked on its own. */
function schemaProblems (given: Record<string, unknown>): { problems: string[], bad: Set<string> } {
  const problems: string[] = []
  const bad = new Set<string>()
  for (const name of Object.keys(given)) {
    const check = propertyValidators.get(name)
    if (check === undefined) {
      problems.push(`unknown option "${name}" (known: ${names.join(', ')})`)
      continue
    }
    const v = given[name]
    if (v === undefined || check.Check(v)) continue
    bad.add(name)
    const allowed = spec(name as OptionName).allowed
    if (name === 'edge') {
      problems.push(edgeProblems(check.Errors(v), v, allowed))
      continue
    }
    // A bad rule among seven spread from the defaults: name the one.
    const badRule = name === 'rateLimit' && typeof v === 'object' && v !== null && !Array.isArray(v)
      ? Object.entries(v).find(([, rule]) => !ruleCheck.Check(rule))
      : undefined
    if (badRule !== undefined) {
      problems.push(`"rateLimit" must be ${allowed}, got ${JSON.stringify(badRule[0].slice(0, 80))}: ${show(badRule[1])}`)
      continue
    }
    const extra = check.Errors(v).find((e) => e.keyword === 'additionalProperties')
    const keys = (extra?.params as { additionalProperties?: string[] } | undefined)?.additionalProperties
    problems.push(keys !== undefined && keys.length > 0
      ? `unknown key "${keys.join('", "')}" in "${name}": ${allowed}`
      : `"${name}" must be ${allowed}, got ${name === 'apiKey' ? 'something else' : show(v)}`)
  }
  if (problems.length === 0) problems.push('options do not match the schema')
  return { problems, bad }
}

// A Bearer token goes into an HTTP header: visible ASCII only. A key read
// from a file with its newline would make every POST fail inside undici.
const HEADER_SAFE = /^[\x21-\x7e]+$/
const LIMIT_CLASS = new RegExp(LIMIT_CLASS_PATTERN)

/** What the schema cannot say: URLs, address lists, options that depend on each other, the shape of clients. */
function crossChecks (o: AppFirewallOptions & typeof defaults, fromEnv: ReadonlySet<string>, bad: ReadonlySet<string>): string[] {
  const problems: string[] = []
  const from = (name: OptionName): string => fromEnv.has(name) ? ` (from ${spec(name).env as string})` : ''
  const must = (name: OptionName, got: string): void => {
    problems.push(`"${name}" must be ${spec(name).allowed}, got ${got}`)
  }
  if (o.apiKey !== undefined && o.apiKey !== '' && !HEADER_SAFE.test(o.apiKey)) {
    // The key itself is never shown: it is a secret.
    problems.push(`"apiKey" must be visible ASCII characters only (no spaces or line breaks: trim a key read from a file), got ${o.apiKey.length} characters that are not${from('apiKey')}`)
  }
  if (!isHttpUrl(o.endpoint)) must('endpoint', show(o.endpoint) + from('endpoint'))
  if (!isHttpUrl(o.cloudflareRangesUrl)) must('cloudflareRangesUrl', show(o.cloudflareRangesUrl))
  if (o.mode === 'local' && !bad.has('localLogPath')) {
    if (o.localLogPath === undefined) problems.push('"localLogPath" is required when mode is "local", got nothing')
    else {
      const why = unwritablePath(o.localLogPath)
      if (why !== undefined) problems.push(`"localLogPath" must be a regular file (or a path where one can be made), got ${show(o.localLogPath)}: ${why}`)
    }
  }
  if (!bad.has('batchSize') && !bad.has('queueSize') && o.batchSize > o.queueSize) {
    problems.push(`"batchSize" must be at most "queueSize" (${o.queueSize}), got ${o.batchSize}: a batch larger than the queue never fills, and the queue overflows instead`)
  }
  if (!bad.has('maxEventBytes') && !bad.has('maxQueueBytes') && o.maxEventBytes * 4 > o.maxQueueBytes) {
    problems.push(`"maxEventBytes" must be at most a quarter of "maxQueueBytes" (${o.maxQueueBytes}), got ${o.maxEventBytes}: a queue that holds only a few events drops most of them`)
  }
  if (!bad.has('rateLimit')) {
    // TypeBox's Record does not check its keys: they end up in Redis keys and log lines.
    const names = Object.keys(o.rateLimit).filter((k) => !LIMIT_CLASS.test(k))
    if (names.length > 0) must('rateLimit', `the key${names.length > 1 ? 's' : ''} ${names.slice(0, 3).map((k) => show(k.slice(0, 80))).join(', ')}`)
  }
  for (const name of ['trustedProxies', 'allowList'] as const) {
    // A hole in an array ([, '10.0.0.0/8']) passes the schema; it is no entry.
    if (!Array.from(o[name]).every((entry) => typeof entry === 'string')) must(name, 'an array with a missing entry')
  }
  const trustedCidrs = Array.from(o.trustedProxies).filter((p) => typeof p === 'string' && p !== 'cloudflare')
  const badTrusted = checkCidrs(trustedCidrs)
  const wide = badTrusted === null ? anyClientProblem(trustedCidrs) : null
  if (badTrusted !== null) problems.push(`"trustedProxies" must be ${spec('trustedProxies').allowed}: ${badTrusted}`)
  // Trusting every client believes every x-forwarded-for: each request would name its own IP.
  if (wide !== null) problems.push(`"trustedProxies" would let any client choose its IP: ${wide}; list only your proxies' own ranges`)
  const badAllow = checkCidrs(Array.from(o.allowList).filter((p) => typeof p === 'string'))
  if (badAllow !== null) problems.push(`"allowList" must be ${spec('allowList').allowed}: ${badAllow}`)
  if (o.redis !== undefined && (typeof o.redis.eval !== 'function' || typeof o.redis.duplicate !== 'function')) {
    must('redis', 'an object without eval() and duplicate()')
  }
  if (o.store !== undefined) {
    const missing = (['incr', 'close'] as const).filter((m) => typeof (o.store as unknown as Record<string, unknown>)[m] !== 'function')
    if (missing.length > 0) must('store', `an object without ${missing.map((m) => `${m}()`).join(' and ')}`)
  }
  if (o.dispatcher !== undefined && typeof (o.dispatcher as { dispatch?: unknown }).dispatch !== 'function') {
    must('dispatcher', 'an object without dispatch()')
  }
  if (o.store !== undefined && o.redis !== undefined) {
    problems.push('"redis" and "store" are both set: pass one shared store (redis builds the Redis store for you)')
  }
  return problems
}

/**
 * The schema's complaints about `edge`, each at its path (`edge.cloudflare.accountId`), with the
 * value given except the token's, and what `edge` must be.
 */
function edgeProblems (errors: Iterable<{ keyword: string, instancePath: string, message: string, params: unknown }>, value: unknown, allowed: string): string {
  const out: string[] = []
  for (const e of errors) {
    if (e.keyword === 'boolean' || out.length >= 5) continue
    const parts = e.instancePath.split('/').filter((x) => x !== '')
    const path = ['edge', ...parts].join('.')
    const extra = e.params as { additionalProperties?: string[], requiredProperties?: string[] } | undefined
    if (e.keyword === 'additionalProperties') {
      out.push(`unknown key "${(extra?.additionalProperties ?? []).join('", "')}" in "${path}"`)
      continue
    }
    if (e.keyword === 'required') {
      out.push(`"${path}" needs ${(extra?.requiredProperties ?? []).map((k) => `"${k}"`).join(', ') || 'more keys'}`)
      continue
    }
    let at: unknown = value
    for (const p of parts) at = (at as Record<string, unknown> | undefined)?.[p]
    const last = parts.at(-1)
    if (e.keyword === 'pattern' && (last === 'listId' || last === 'accountId')) {
      out.push(`"${path}" must be the ${last === 'listId' ? 'list' : 'account'}'s id (32 hex characters), got ${show(at)}${last === 'listId' ? ', which looks like a list name; GET /accounts/{account_id}/rules/lists shows the id' : ''}`)
      continue
    }
    out.push(`"${path}" ${e.message}, got ${parts.at(-1) === 'apiToken' ? 'something else' : show(at)}`)
  }
  return `${out.join('; ')}: "edge" must be ${allowed}`
}

/** `edge.cloudflare` with defaults; what is wrong goes into `problems` (the token is never shown). */
function resolveEdge (cf: NonNullable<AppFirewallOptions['edge']>['cloudflare'], env: NodeJS.ProcessEnv, problems: string[]): ResolvedEdge | undefined {
  const token = cf.apiToken ?? (env.CLOUDFLARE_API_TOKEN === '' ? undefined : env.CLOUDFLARE_API_TOKEN)
  const before = problems.length
  if (token === undefined) problems.push('"edge.cloudflare.apiToken" is required for edge sync (or set CLOUDFLARE_API_TOKEN), got nothing')
  else if (!HEADER_SAFE.test(token)) problems.push(`"edge.cloudflare.apiToken" must be visible ASCII characters only (trim a token read from a file), got ${token.length} characters that are not${cf.apiToken === undefined ? ' (from CLOUDFLARE_API_TOKEN)' : ''}`)
  const baseUrl = cf.baseUrl ?? EDGE_DEFAULTS.baseUrl
  if (!isHttpUrl(baseUrl)) problems.push(`"edge.cloudflare.baseUrl" must be an http(s) URL, got ${show(baseUrl)}`)
  if (problems.length > before || token === undefined) return undefined
  return Object.freeze({
    accountId: cf.accountId.toLowerCase(),
    listId: cf.listId.toLowerCase(),
    apiToken: token,
    includeShadow: cf.includeShadow ?? false,
    classes: cf.classes === undefined ? undefined : Object.freeze(Array.from(cf.classes)),
    maxItems: cf.maxItems ?? EDGE_DEFAULTS.maxItems,
    syncIntervalMs: cf.syncIntervalMs ?? EDGE_DEFAULTS.syncIntervalMs,
    minListedMs: cf.minListedMs ?? EDGE_DEFAULTS.minListedMs,
    baseUrl
  })
}

// procfs and sysfs: Node's recursive mkdir never returns there (it spins on
// EEXIST/ENOENT), and nothing written there is a log.
const PSEUDO_FS = new Set([0x9fa0, 0x62656572])

/**
 * Why events could not be appended to `path`, if a check at register can
 * tell: it exists but is not a regular file (a FIFO without a reader blocks
 * a thread of Node's pool for ever, a directory fails every write), or its
 * nearest existing folder is on procfs or sysfs.
 */
function unwritablePath (path: string): string | undefined {
  try {
    const st = statSync(path, { throwIfNoEntry: false })
    if (st !== undefined) return st.isFile() ? undefined : `it is ${kindOf(st)}`
    let dir = dirname(resolve(path))
    for (let i = 0; i < 64 && statSync(dir, { throwIfNoEntry: false }) === undefined; i++) dir = dirname(dir)
    return PSEUDO_FS.has(Number(statfsSync(dir).type)) ? `${dir} is a kernel pseudo-filesystem (procfs or sysfs)` : undefined
  } catch {
    // A check that cannot run (permissions): the writer will warn once if it fails.
    return undefined
  }
}

function kindOf (st: Stats): string {
  if (st.isDirectory()) return 'a directory'
  if (st.isFIFO()) return 'a FIFO (a named pipe)'
  if (st.isCharacterDevice()) return 'a character device'
  if (st.isSocket()) return 'a socket'
  return 'not a regular file'
}

function show (value: unknown): string {
  if (typeof value === 'function') return 'a function'
  if (typeof value === 'bigint') return `${value}n`
  // JSON writes NaN and Infinity as null: name them.
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value)
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
