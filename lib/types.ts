// Public types of appfirewall-fastify. Kept free of typebox imports on purpose:
// a consumer compiling with `module: node16` and `skipLibCheck: false` would
// otherwise fail on the ESM-only typebox declarations (TS1479).
import type { FastifyRequest } from 'fastify'
import type { Dispatcher } from 'undici'
import type { LimitStore } from './limit/store'
import type { RateLimiterStats } from './limit/limiter'
import type { EdgeSyncStats } from './edge/sync'

export type { RateLimiterStats } from './limit/limiter'
export type { SharedCallStats } from './limit/shared-calls'

export type { LimitBlockListener, LimitCount, LimitRule, LimitStore } from './limit/store'

/** Outcome of classifying a 404 path. */
export type Classification = 'scanner' | 'benign-miss' | 'unknown'

export type Mode = 'ship' | 'local' | 'off'
export type OnErrorMode = 'ignore' | 'warn' | 'raise'
export type BreakerState = 'closed' | 'open' | 'half_open'

/**
 * Built-in rate-limit classes (keys of the `rateLimit` option); any other key
 * names a `record()`ed event. See the README, "Verdicts per IP".
 * - `scanner`: 404s classified scanner (certain and likely probes alike);
 * - `scanner-certain`: 404s of a certain probe family (`/.git/config`, `/.env`, traversal, payloads, web shells...);
 * - `script-probe`: distinct unknown 404s of server-side scripts (`.php`, `.asp`, `.aspx`, `.jsp`, `.cgi`...), no route matched;
 * - `probing`: distinct unknown 404s that no route matched, static assets left out;
 * - `validation`, `parse`, `auth`: requests that failed schema validation, body parsing, or authentication (401, 403);
 * - `benign-miss`, `unknown`: every 404 of that class (no limit by default).
 */
export type BuiltInLimitClass = Classification | 'scanner-certain' | 'script-probe' | 'probing' | 'validation' | 'parse' | 'auth'

/** A built-in class, or the name of a `record()`ed event. */
export type LimitClass = BuiltInLimitClass | (string & Record<never, never>)

/** Limits per class: each key a built-in class (`BuiltInLimitClass`) or a recorded event's name. */
export type RateLimits = Record<string, RateLimitRule>

export interface RateLimitRule {
  /** Hits allowed per window before the IP is over its limit; 0: the first hit is over it. */
  max: number
  /** Window length in milliseconds. */
  windowMs: number
}

/** Information handed to `onLimited` once per block. */
export interface LimitedInfo {
  /** Class whose limit was passed, e.g. `"scanner"`, `"scanner-certain"`, `"auth"` or a recorded event's name. */
  classification: LimitClass
  /** Hits counted in the current window. */
  count: number
  /** The limit that was passed. */
  max: number
  /** Milliseconds until the window ends and the block lifts. */
  retryAfterMs: number
  /** True when `enforceRateLimit` is on and the IP now gets 429. */
  enforced: boolean
  /** The key the IP is counted under (an IPv6 client is counted per /64). */
  key: string
}

/**
 * Minimal shape of the ioredis client the shared store needs. Any ioredis 5
 * `Redis` instance satisfies it; declared here so that the package's types do
 * not require ioredis to be installed.
 */
export interface RedisLike {
  eval: (...args: any[]) => Promise<unknown>
  duplicate: (...args: any[]) => RedisLike
  [key: string]: any
}

export interface AppFirewallOptions {
  /** Bearer token for the ingest. Falls back to `APPFIREWALL_API_KEY`. */
  apiKey?: string
  /**
   * Ingest URL. Falls back to `APPFIREWALL_ENDPOINT`. Default:
   * `"https://ingest.appfirewall.io/v1/events"`.
   */
  endpoint?: string
  /** Tag added to every event as `environment`. */
  environment?: string
  /** `"ship"` POSTs batches, `"local"` appends NDJSON to a file, `"off"` does nothing. Default: `"ship"`. */
  mode?: Mode
  /** NDJSON file for `local` mode (required there). */
  localLogPath?: string
  /**
   * Peers whose forwarding headers are believed: `"cloudflare"` and/or CIDRs or bare IPs. Default:
   * `["cloudflare"]`.
   */
  trustedProxies?: string[]
  /** Classify 404s. Default: `true`. */
  classify404?: boolean
  /**
   * A likely probe counts as certain (class `scanner-certain`) from an attack tool's user agent, or from a
   * client that is not a browser (no `Accept-Language`) and does not call itself a crawler. Default: `true`.
   */
  certainFromNonBrowsers?: boolean
  /**
   * Per-class limits, counted per client IP (IPv6 per /64 and per /48, see `ipv6SiteFactor`); keys are
   * the classes of `BuiltInLimitClass` or names of `record()`ed events. Replaces the defaults (spread
   * `defaults.rateLimit` to change one class); `{}` counts nothing. `max` hits are allowed per `windowMs`.
   * Default: `scanner` 10, `scanner-certain` 0, `script-probe` 10, `probing` 20, `validation` 30, `parse` 10, `auth` 10, each `{ max, windowMs: 60000 }`.
   */
  rateLimit?: RateLimits
  /**
   * Answer 429 to an IP over its limit (`false`: shadow mode, events carry `would_block`). Default:
   * `false`.
   */
  enforceRateLimit?: boolean
  /**
   * With enforcement on, where a blocked IP is refused: `"not-found"`, on requests headed for the
   * not-found handler (also when it answers 200, as an SPA fallback does) and on answers that are 404;
   * `"all"`, on every request. Default: `"not-found"`.
   */
  enforceScope?: 'not-found' | 'all'
  /** CIDRs or bare IPs that are never counted nor blocked. Default: `[]`. */
  allowList?: string[]
  /** Return true to leave a request alone: no event, never counted, never blocked. */
  skip?: (request: FastifyRequest) => boolean
  /** Called once per block; may throw without harm. */
  onLimited?: (ip: string, info: LimitedInfo) => void
  /**
   * IPv6 clients are also counted per /48, the prefix one site holds (RFC 6177): a /48 is over a class's
   * limit past `max × ipv6SiteFactor` hits in the class's window (`ipv6SiteFactor - 1` for a class of `max: 0`), and is then blocked whole, every /64
   * inside it. An integer 0-1000; 0 counts IPv6 per /64 only. Default: `5`.
   */
  ipv6SiteFactor?: number
  /** Most client keys the in-process limiter tracks. Default: `100000`. */
  maxTrackedIps?: number
  /** ioredis client for limit counters shared by many instances. */
  redis?: RedisLike
  /** Key prefix in Redis. Default: `"afw:"`. */
  redisKeyPrefix?: string
  /** A shared rate limit store of your own (instead of `redis`): see `LimitStore`. */
  store?: LimitStore
  /** What to do with the plugin's own errors. Default: `"ignore"`. */
  onError?: OnErrorMode
  /**
   * Bind each request with AsyncLocalStorage so that the module-level `record()` finds it. `false` saves
   * the cost of AsyncLocalStorage on Node 20 (its promise hooks tax every promise of the app);
   * `request.appfirewall.record()` still works, module-level `record()` then does nothing. Default:
   * `true`.
   */
  asyncContext?: boolean
  /** Refresh Cloudflare's ranges this often, in ms (0 turns refresh off). Default: `86400000` (24 h). */
  cloudflareRefreshMs?: number
  /** Where Cloudflare's ranges are fetched from. Default: `"https://api.cloudflare.com/client/v4/ips"`. */
  cloudflareRangesUrl?: string
  /** Events held in memory before the oldest are dropped (at most 1000000). Default: `10000`. */
  queueSize?: number
  /** Most events per batch (at most queueSize). Default: `500`. */
  batchSize?: number
  /** Send a partial batch after this many ms. Default: `2000`. */
  flushIntervalMs?: number
  /** Timeout of one POST, in ms. Default: `5000`. */
  requestTimeoutMs?: number
  /** How long a failing batch is retried, in ms. Default: `30000`. */
  retryDeadlineMs?: number
  /** Upper bound applied to an ingest's `Retry-After`, in ms. Default: `300000`. */
  maxRetryAfterMs?: number
  /** Retryable failures in a row that open the circuit breaker. Default: `5`. */
  breakerThreshold?: number
  /** How long the breaker stays open before one probe batch, in ms. Default: `30000`. */
  breakerCooldownMs?: number
  /** How long `app.close()` keeps flushing, in ms. Default: `5000`. */
  closeGraceMs?: number
  /**
   * `ship` mode: the undici Dispatcher the ingest is reached through (a ProxyAgent, an Agent with a
   * private CA or client certificate); the plugin never closes it. Without it: a global dispatcher the
   * app installed with setGlobalDispatcher (other than a plain Agent), else HTTP_PROXY/HTTPS_PROXY/NO_PROXY
   * through undici's EnvHttpProxyAgent, else a direct connection. Not used by the Cloudflare ranges refresh.
   */
  dispatcher?: Dispatcher
  /**
   * Most UTF-8 bytes of one custom event line; a larger one's fields are clipped to fit (counted in
   * `stats().clipped`). Default: `16384`.
   */
  maxEventBytes?: number
  /**
   * Most custom events one request may record; further record() calls on it make no event (counted in
   * `stats().ignored.overRequestCap`). Default: `100`.
   */
  maxCustomEventsPerRequest?: number
  /**
   * Most bytes of event lines held in memory, each line counted as its length + 512; past it the oldest
   * are dropped, custom events first. http_request events are never pushed out by custom ones. Default:
   * `16777216` (16 MiB).
   */
  maxQueueBytes?: number
  /** gzip level of a batch, 0-9. Default: `1`. */
  gzipLevel?: number
  /**
   * Edge sync: blocked IPs into a Cloudflare account IP list, removed when their block ends. Needs the
   * optional peer `cloudflare`. Off when not given.
   */
  edge?: EdgeOptions
}

/** Where blocked IPs are listed at the edge (the `edge` option). */
export interface EdgeOptions {
  cloudflare: CloudflareEdgeOptions
}

/**
 * A Cloudflare account IP list kept in step with the limiter's blocks, through Cloudflare's Lists API
 * (https://developers.cloudflare.com/waf/tools/lists/lists-api/).
 */
export interface CloudflareEdgeOptions {
  /** The account's id: 32 hex characters (dashboard, Account home > Account ID). */
  accountId: string
  /** The list's id (32 hex characters; not its name): `GET /accounts/{accountId}/rules/lists` shows it. */
  listId: string
  /** An API token with Account > Account Filter Lists > Edit on that account. Falls back to `CLOUDFLARE_API_TOKEN`. */
  apiToken?: string
  /** Also list IPs marked `would_block` in shadow mode (`enforceRateLimit: false`). Default: `false`. */
  includeShadow?: boolean
  /** Only blocks of these classes (rateLimit keys) are listed. Default: every class. */
  classes?: string[]
  /** Most keys this sync keeps listed; further blocks are not listed until some end (`stats().edge.skippedFull`). Default: `1000`. */
  maxItems?: number
  /** How often additions and removals are batched and sent, in ms (at least 1000). Default: `10000`. */
  syncIntervalMs?: number
  /** Shortest time an IP stays listed, in ms, however short its block. Default: `0` (the block's own length). */
  minListedMs?: number
  /** The API's base URL. Default: `"https://api.cloudflare.com/client/v4"`. */
  baseUrl?: string
}

/** Options kept out of `app.appfirewall.options`: the key (a secret), and the functions and clients handed to the parts that use them. */
export type HiddenOptionName = 'apiKey' | 'skip' | 'onLimited' | 'redis' | 'store' | 'dispatcher' | 'edge'

/** Options without a default: `undefined` in ResolvedOptions when not given. */
export type UndefaultedOptionName = 'environment' | 'localLogPath'

/** Plain data made read-only all the way down. */
export type Frozen<T> = T extends ReadonlyArray<infer U>
  ? ReadonlyArray<Frozen<U>>
  : T extends object ? { readonly [K in keyof T]: Frozen<T[K]> } : T

/** Options after defaults, env fallbacks and validation: `app.appfirewall.options`. The key is never included. */
export type ResolvedOptions = {
  readonly [K in keyof Omit<AppFirewallOptions, HiddenOptionName | UndefaultedOptionName>]-?: Frozen<Exclude<AppFirewallOptions[K], undefined>>
} & {
  // Not mapped with `-?`, which would strip `undefined` from these.
  readonly [K in UndefaultedOptionName]: AppFirewallOptions[K] | undefined
} & {
  /** An API key was given (option or `APPFIREWALL_API_KEY`). */
  readonly hasApiKey: boolean
  /** Limits are shared through `redis` or `store`. */
  readonly sharedStore: boolean
}

/** The default of every option that has one (exported as `defaults`). */
export type AppFirewallDefaults = Omit<ResolvedOptions, UndefaultedOptionName | 'hasApiKey' | 'sharedStore'>

export interface DroppedCounts {
  /**
   * Oldest events pushed out of a full queue (past `queueSize` events or `maxQueueBytes` bytes): custom
   * events first, and a custom event never pushes out an http_request event (it is dropped itself when
   * only http_request events are left).
   */
  overflow: number
  /** Batches the ingest refused with a non-retryable status (events counted). */
  rejected: number
  /** Events given up after the retry deadline or while the breaker was open. */
  breaker: number
  /** Events still queued or being sent when the close grace period ran out, and events recorded after close. */
  shutdown: number
  /** Events that could not be serialised. */
  serialization: number
  /** Local mode: events whose write to the file failed (also any batch whose exporter failed unexpectedly). */
  io: number
}

export interface AppFirewallStats {
  mode: Mode
  /** Events handed to the queue. Always emitted = sent + dropped + queued + inFlight. */
  emitted: number
  sent: number
  dropped: DroppedCounts
  /** Batches delivered: POSTs answered 2xx (each half of a 413 split counts), or appends to the file in local mode. */
  batches: number
  /** Failed send attempts, any reason (failed appends in local mode). */
  failures: number
  breaker: BreakerState
  /** Events waiting in the queue. */
  queued: number
  /** Events in a batch that is being sent. */
  inFlight: number
  /**
   * record() calls that made no event, and were not emitted: `afterResponse`, module-level
   * record() through a request's async context after its response (a timer or job the request
   * started; `request.appfirewall.record()` is always attributed); `outsideRequest`, module-level
   * record() with no request context at all (per process: outside any request, or where Node
   * loses the async context, such as request-stream 'end'/'close' listeners); `overRequestCap`, custom
   * events past `maxCustomEventsPerRequest` on one request.
   */
  ignored: { afterResponse: number, outsideRequest: number, overRequestCap: number }
  /** Custom events whose fields were clipped to fit `maxEventBytes` (still emitted and shipped, clipped). */
  clipped: number
  /** The rate limiter (tracked keys, blocks, evictions, a shared store's calls and its own stats); null when nothing is limited. */
  limiter: RateLimiterStats | null
  /** The edge sync's work and failures (see EdgeSyncStats); null when edge sync is off. */
  edge: EdgeSyncStats | null
  /** HTTP status of the last response from the ingest, or null. */
  lastStatus: number | null
  /** RFC 3339 time of the last send attempt (POST or append), or null. */
  lastSendAt: string | null
}

/** Decorates `app.appfirewall`. */
export interface AppFirewallInstance {
  /** A snapshot of the counters. */
  stats: () => AppFirewallStats
  /** Resolves true once everything recorded before the call has been sent or dropped, false on timeout (ms; delays above 2^31-1 ms are clamped, so flush(Infinity) waits as long as it takes). Never rejects. */
  flush: (timeoutMs?: number) => Promise<boolean>
  /** The resolved options (without the key). */
  readonly options: ResolvedOptions
}

/** Plain JSON-able field values accepted by `record()` (anything else is stringified). */
export type EventFields = Record<string, unknown>

/** Decorates `request.appfirewall`; never null, also in `off` mode. */
export interface AppFirewallRequest {
  /** Resolved client IP in canonical form (`0.0.0.0` when the peer is unknown). */
  readonly ip: string
  /** Classification of a 404, set after the response. */
  readonly classification: Classification | undefined
  /** Records an app-layer event tied to this request. Never throws. */
  record: (event: string, fields?: EventFields) => void
}

// The decorators, typed for every app that imports the plugin.
declare module 'fastify' {
  interface FastifyRequest {
    /** Per-request AppFirewall object: resolved client IP, record(), 404 classification. Never null. */
    appfirewall: AppFirewallRequest
  }
  interface FastifyInstance {
    /** AppFirewall stats, flush and resolved options. */
    appfirewall: AppFirewallInstance
  }
}
