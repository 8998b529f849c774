// Register-time option handling: one TypeBox schema compiled once at module
// load, a coded error listing every problem, and a frozen, fully defaulted
// ResolvedOptions that the hot path reads. Nothing here runs per request.
import { Type, type Static } from 'typebox'
import { Compile } from 'typebox/compile'
import type { FastifyRequest } from 'fastify'
import type { AppFirewallOptions, LimitedInfo, LimitStore, RedisLike, ResolvedOptions } from './types'
import { FST_APPFIREWALL_INVALID_OPTIONS } from './errors'

const Rule = Type.Object({
  max: Type.Integer({ minimum: 1 }),
  windowMs: Type.Integer({ minimum: 1 })
}, { additionalProperties: false })

const Ms = Type.Integer({ minimum: 1 })

export const OptionsSchema = Type.Object({
  apiKey: Type.Optional(Type.String()),
  endpoint: Type.Optional(Type.String({ minLength: 1 })),
  environment: Type.Optional(Type.String()),
  mode: Type.Optional(Type.Union([Type.Literal('ship'), Type.Literal('local'), Type.Literal('off')])),
  localLogPath: Type.Optional(Type.String({ minLength: 1 })),
  trustedProxies: Type.Optional(Type.Array(Type.String())),
  classify404: Type.Optional(Type.Boolean()),
  rateLimit: Type.Optional(Type.Object({
    scanner: Type.Optional(Rule),
    'benign-miss': Type.Optional(Rule),
    unknown: Type.Optional(Rule)
  }, { additionalProperties: false })),
  enforceRateLimit: Type.Optional(Type.Boolean()),
  enforceScope: Type.Optional(Type.Union([Type.Literal('not-found'), Type.Literal('all')])),
  allowList: Type.Optional(Type.Array(Type.String())),
  skip: Type.Optional(Type.Unsafe<(request: FastifyRequest) => boolean>(Type.Function([Type.Any()], Type.Any()))),
  onLimited: Type.Optional(Type.Unsafe<(ip: string, info: LimitedInfo) => void>(Type.Function([Type.Any(), Type.Any()], Type.Any()))),
  maxTrackedIps: Type.Optional(Type.Integer({ minimum: 100 })),
  redis: Type.Optional(Type.Unsafe<RedisLike>(Type.Object({}))),
  redisKeyPrefix: Type.Optional(Type.String()),
  store: Type.Optional(Type.Unsafe<LimitStore>(Type.Object({}))),
  onError: Type.Optional(Type.Union([Type.Literal('ignore'), Type.Literal('warn'), Type.Literal('raise')])),
  asyncContext: Type.Optional(Type.Boolean()),
  cloudflareRefreshMs: Type.Optional(Type.Integer({ minimum: 0 })),
  cloudflareRangesUrl: Type.Optional(Type.String({ minLength: 1 })),
  queueSize: Type.Optional(Type.Integer({ minimum: 1 })),
  batchSize: Type.Optional(Type.Integer({ minimum: 1 })),
  flushIntervalMs: Type.Optional(Ms),
  requestTimeoutMs: Type.Optional(Ms),
  retryDeadlineMs: Type.Optional(Type.Integer({ minimum: 0 })),
  maxRetryAfterMs: Type.Optional(Type.Integer({ minimum: 0 })),
  breakerThreshold: Type.Optional(Type.Integer({ minimum: 1 })),
  breakerCooldownMs: Type.Optional(Ms),
  closeGraceMs: Type.Optional(Type.Integer({ minimum: 0 })),
  gzipLevel: Type.Optional(Type.Integer({ minimum: 0, maximum: 9 }))
}, { additionalProperties: false })

// The public interface lives in types.ts (typebox-free); this pins the two
// together. Two-way `extends` misses an extra optional property; this does not.
type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false
type AssertTrue<T extends true> = T
export type SchemaMatchesPublicType = AssertTrue<Same<Static<typeof OptionsSchema>, AppFirewallOptions>>

const validator = Compile(OptionsSchema)
const propertyValidators = new Map(Object.entries(OptionsSchema.properties).map(([name, schema]) => [name, Compile(schema)]))

/** What each option accepts, for error messages a person can act on. */
const ALLOWED: Record<string, string> = {
  apiKey: 'a string',
  endpoint: 'an http(s) URL',
  environment: 'a string',
  mode: '"ship", "local" or "off"',
  localLogPath: 'a non-empty file path',
  trustedProxies: 'an array of "cloudflare", CIDRs or IPs',
  classify404: 'a boolean',
  rateLimit: 'an object of { max, windowMs } per class ("scanner", "benign-miss", "unknown"), integers >= 1',
  enforceRateLimit: 'a boolean',
  enforceScope: '"not-found" or "all"',
  allowList: 'an array of CIDRs or IPs',
  skip: 'a function (request) => boolean',
  onLimited: 'a function (ip, info) => void',
  maxTrackedIps: 'an integer >= 100',
  redis: 'an ioredis client',
  redisKeyPrefix: 'a string',
  store: 'a rate limit store: an object with incr() and close() (see LimitStore)',
  onError: '"ignore", "warn" or "raise"',
  asyncContext: 'a boolean',
  cloudflareRefreshMs: 'an integer >= 0 (0 turns refresh off)',
  cloudflareRangesUrl: 'an http(s) URL',
  queueSize: 'an integer >= 1',
  batchSize: 'an integer >= 1',
  flushIntervalMs: 'an integer >= 1',
  requestTimeoutMs: 'an integer >= 1',
  retryDeadlineMs: 'an integer >= 0',
  maxRetryAfterMs: 'an integer >= 0',
  breakerThreshold: 'an integer >= 1',
  breakerCooldownMs: 'an integer >= 1',
  closeGraceMs: 'an integer >= 0',
  gzipLevel: 'an integer from 0 to 9'
}

export const DEFAULT_ENDPOINT = 'https://ingest.appfirewall.io/v1/events'
export const DEFAULT_CLOUDFLARE_RANGES_URL = 'https://api.cloudflare.com/client/v4/ips'

export interface Resolved {
  options: ResolvedOptions
  /** Kept out of `options` so that it never shows up in logs or `app.appfirewall.options`. */
  apiKey: string | undefined
  skip: ((request: FastifyRequest) => boolean) | undefined
  onLimited: ((ip: string, info: LimitedInfo) => void) | undefined
  redis: RedisLike | undefined
  store: LimitStore | undefined
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

/**
 * Validates and defaults the user's options (env fallbacks for the key and
 * endpoint). Throws one FST_APPFIREWALL_INVALID_OPTIONS error naming every bad
 * option, what was given and what is allowed. `checkCidrs` validates address
 * lists with the same parser the resolver uses and returns a message or null.
 */
export function resolveOptions (
  input: unknown,
  env: NodeJS.ProcessEnv,
  checkCidrs: (list: readonly string[]) => string | null
): Resolved {
  const raw = (input === undefined || input === null ? {} : input) as Record<string, unknown>
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    throw new FST_APPFIREWALL_INVALID_OPTIONS(`options must be an object, got ${show(input)}`)
  }
  // Fastify hands plugins their options object; drop what is not ours but is
  // Fastify's own (prefix, logLevel...) so that additionalProperties holds.
  const opts: Record<string, unknown> = {}
  for (const key of Object.keys(raw)) {
    if (key === 'prefix' || key === 'logLevel' || key === 'logSerializers') continue
    opts[key] = raw[key]
  }

  const problems: string[] = []
  if (!validator.Check(opts)) {
    // TypeBox caps the errors it reports, so each option is checked on its
    // own: the message then names every bad option, not just the first few.
    for (const name of Object.keys(opts)) {
      const check = propertyValidators.get(name)
      if (check === undefined) {
        problems.push(`unknown option "${name}" (known: ${[...propertyValidators.keys()].join(', ')})`)
        continue
      }
      const value = opts[name]
      if (value === undefined || check.Check(value)) continue
      const extra = check.Errors(value).find((e) => e.keyword === 'additionalProperties')
      const keys = (extra?.params as { additionalProperties?: string[] } | undefined)?.additionalProperties
      problems.push(keys !== undefined && keys.length > 0
        ? `unknown key "${keys.join('", "')}" in "${name}": ${ALLOWED[name] ?? ''}`
        : `"${name}" must be ${ALLOWED[name] ?? 'valid'}, got ${show(value)}`)
    }
    if (problems.length === 0) problems.push('options do not match the schema')
    throw new FST_APPFIREWALL_INVALID_OPTIONS(problems.join('; '))
  }
  const o = opts as AppFirewallOptions

  const mode = o.mode ?? 'ship'
  const endpoint = o.endpoint ?? (env.APPFIREWALL_ENDPOINT !== undefined && env.APPFIREWALL_ENDPOINT !== '' ? env.APPFIREWALL_ENDPOINT : DEFAULT_ENDPOINT)
  if (!isHttpUrl(endpoint)) {
    problems.push(`"endpoint" must be ${ALLOWED.endpoint}, got ${show(endpoint)}${o.endpoint === undefined ? ' (from APPFIREWALL_ENDPOINT)' : ''}`)
  }
  const cloudflareRangesUrl = o.cloudflareRangesUrl ?? DEFAULT_CLOUDFLARE_RANGES_URL
  if (!isHttpUrl(cloudflareRangesUrl)) {
    problems.push(`"cloudflareRangesUrl" must be ${ALLOWED.cloudflareRangesUrl}, got ${show(cloudflareRangesUrl)}`)
  }
  if (mode === 'local' && (o.localLogPath === undefined || o.localLogPath === '')) {
    problems.push('"localLogPath" is required when mode is "local", got nothing')
  }
  const trustedProxies = o.trustedProxies ?? ['cloudflare']
  const badTrusted = checkCidrs(trustedProxies.filter((p) => p !== 'cloudflare'))
  if (badTrusted !== null) problems.push(`"trustedProxies" must be ${ALLOWED.trustedProxies}: ${badTrusted}`)
  const allowList = o.allowList ?? []
  const badAllow = checkCidrs(allowList)
  if (badAllow !== null) problems.push(`"allowList" must be ${ALLOWED.allowList}: ${badAllow}`)
  if (o.redis !== undefined && (typeof o.redis.eval !== 'function' || typeof o.redis.duplicate !== 'function')) {
    problems.push(`"redis" must be ${ALLOWED.redis}, got an object without eval() and duplicate()`)
  }
  if (o.store !== undefined && (typeof (o.store as { incr?: unknown }).incr !== 'function' || typeof o.store.close !== 'function')) {
    problems.push(`"store" must be ${ALLOWED.store}, got an object without incr() and close()`)
  }
  if (o.store !== undefined && o.redis !== undefined) {
    problems.push('"redis" and "store" are both set: pass one shared store (redis builds the Redis store for you)')
  }
  if (problems.length > 0) throw new FST_APPFIREWALL_INVALID_OPTIONS(problems.join('; '))

  const apiKey = o.apiKey ?? (env.APPFIREWALL_API_KEY !== '' ? env.APPFIREWALL_API_KEY : undefined)
  const rateLimit = o.rateLimit ?? { scanner: { max: 10, windowMs: 60_000 } }

  const options: ResolvedOptions = Object.freeze({
    mode,
    endpoint,
    hasApiKey: apiKey !== undefined && apiKey !== '',
    environment: o.environment,
    localLogPath: o.localLogPath,
    trustedProxies: Object.freeze([...trustedProxies]),
    classify404: o.classify404 ?? true,
    rateLimit: Object.freeze(Object.fromEntries(Object.entries(rateLimit).map(([k, v]) => [k, Object.freeze({ ...v })]))),
    enforceRateLimit: o.enforceRateLimit ?? false,
    enforceScope: o.enforceScope ?? 'not-found',
    allowList: Object.freeze([...allowList]),
    maxTrackedIps: o.maxTrackedIps ?? 100_000,
    redisKeyPrefix: o.redisKeyPrefix ?? 'afw:',
    sharedStore: o.redis !== undefined || o.store !== undefined,
    onError: o.onError ?? 'ignore',
    asyncContext: o.asyncContext ?? true,
    cloudflareRefreshMs: o.cloudflareRefreshMs ?? 86_400_000,
    cloudflareRangesUrl,
    queueSize: o.queueSize ?? 10_000,
    batchSize: o.batchSize ?? 500,
    flushIntervalMs: o.flushIntervalMs ?? 2000,
    requestTimeoutMs: o.requestTimeoutMs ?? 5000,
    retryDeadlineMs: o.retryDeadlineMs ?? 30_000,
    maxRetryAfterMs: o.maxRetryAfterMs ?? 300_000,
    breakerThreshold: o.breakerThreshold ?? 5,
    breakerCooldownMs: o.breakerCooldownMs ?? 30_000,
    closeGraceMs: o.closeGraceMs ?? 5000,
    gzipLevel: o.gzipLevel ?? 1
  })
  return { options, apiKey, skip: o.skip, onLimited: o.onLimited, redis: o.redis, store: o.store }
}
