import { randomBytes } from 'node:crypto'
import { windowStart, type LimitBlockListener, type LimitCount, type LimitRule, type LimitStore } from './store'
import { isKey48, isKey64 } from './key'
import { parseV4 } from '../ip/cidr'
import type { LimitClass, RedisLike } from '../types'
import { LIMIT_CLASS_PATTERN } from '../option-table'

/**
 * One atomic step per hit: count it in the current window (the key expires
 * after two windows, long enough to serve as the next window's carry), read
 * the previous window, and when the carry-weighted estimate passes the limit
 * set the block key for the rest of the window and publish it once (`NX`
 * semantics: the instance that crosses the limit announces it; the others
 * see the block key already there).
 *
 * KEYS: current window counter, previous window counter, block key.
 * ARGV: windowMs, elapsed ms in the window, max, channel, key, instance id, class.
 * Message: `<ms left> <instance id> <class> <key>`.
 * Reply: { estimate, block ms left (<= 0: none), 1 if this call set the block }.
 * The three keys share the `{key}` hash tag, so the script also runs on a cluster.
 */
export const HIT_SCRIPT = `
local w = tonumber(ARGV[1])
local elapsed = tonumber(ARGV[2])
local cur = redis.call('INCR', KEYS[1])
if cur == 1 then redis.call('PEXPIRE', KEYS[1], w * 2) end
local prev = tonumber(redis.call('GET', KEYS[2]) or '0')
local est = cur
if prev > 0 then est = math.floor(prev * (w - elapsed) / w) + cur end
local ttl = redis.call('PTTL', KEYS[3])
local set = 0
if est > tonumber(ARGV[3]) and ttl <= 0 then
  ttl = w - elapsed
  if ttl < 1 then ttl = 1 end
  redis.call('SET', KEYS[3], '1', 'PX', ttl)
  redis.call('PUBLISH', ARGV[4], ttl .. ' ' .. ARGV[6] .. ' ' .. ARGV[7] .. ' ' .. ARGV[5])
  set = 1
end
return { est, ttl, set }
`

/** Name the script is defined under on the user's ioredis client (EVALSHA, EVAL on NOSCRIPT). */
const COMMAND = 'appfirewallHit'
/** For a client without pttl(): the same check through EVAL (KEYS are prefixed like any key). */
const PTTL_SCRIPT = "return redis.call('PTTL', KEYS[1])"
// Announcements being checked against their block key at once; more are
// ignored (counted), so a flood of PUBLISHes cannot pile up commands.
export const MAX_VERIFYING = 64
// A class named in a message must be one a limiter could have (the rateLimit option's key pattern).
const CLASS = new RegExp(LIMIT_CLASS_PATTERN)
const MS = /^[1-9]\d{0,11}$/
const ID = /^[0-9a-f]{12}$/
const V6_KEY = /^[0-9a-f:]{0,39}::\/(?:64|48)$/

/**
 * The channel blocks are announced on. Pub/sub ignores the database and
 * ioredis' `keyPrefix` (channels are not keys), so both are part of the name:
 * apps kept apart by either never hear each other's blocks. Database 0 with no
 * keyPrefix keeps the plain `<prefix>blocks`.
 */
export function blocksChannel (client: RedisLike, prefix: string): string {
  let keyPrefix = ''
  let db = 0
  try {
    const o = (client as { options?: { keyPrefix?: unknown, db?: unknown } }).options
    if (typeof o?.keyPrefix === 'string') keyPrefix = o.keyPrefix
    if (typeof o?.db === 'number' && Number.isInteger(o.db)) db = o.db
  } catch {} // a client whose options getter throws is read as db 0, no keyPrefix
  return `${keyPrefix}${prefix}blocks${db === 0 ? '' : `:db${db}`}`
}

/** A limiter key as the limiter makes them (IPv4, IPv6 /64 or /48), and nothing else. */
function isLimiterKey (key: string): boolean {
  if (key.indexOf(':') === -1) return parseV4(key, 0, key.length) !== -1
  return (isKey64(key) || isKey48(key)) && V6_KEY.test(key)
}

export interface RedisStoreOptions {
  /** The user's ioredis client: used for commands, duplicated once for the subscription, never closed. */
  client: RedisLike
  /** Prefix of every key and of the channel. */
  prefix: string
}

/**
 * The shared store on the user's ioredis client, behind the LimitStore
 * contract: `incr` runs the hit script and returns its promise (the limiter
 * never awaits it), or undefined while the client cannot take a command, and
 * blocks from every other instance arrive on a subscriber connection
 * (`duplicate()` of the user's client) and go to the limiter's listener. What
 * any shared store needs (a cap on pending calls, outage logging, counting
 * skipped and failed calls) is the limiter's; only Redis lives here.
 */
export class RedisStore implements LimitStore {
  private readonly client: RedisLike
  private sub: RedisLike | undefined
  private readonly prefix: string
  private readonly channel: string
  private readonly defined: boolean
  // Tells this instance's own announcements apart: those reach the limiter
  // through the script's reply (which also says this call started the
  // block), and the message may arrive on the subscriber before that reply.
  private readonly id = randomBytes(6).toString('hex')
  private listener: LimitBlockListener | undefined
  private subscribed = false
  private closed = false
  private verifying = 0
  // Announcements not acted on: malformed, not backed by a block key, or over MAX_VERIFYING.
  private ignored = 0

  constructor (opts: RedisStoreOptions) {
    this.client = opts.client
    this.prefix = opts.prefix
    this.channel = blocksChannel(opts.client, opts.prefix)
    // ioredis' defineCommand sends EVALSHA and falls back to EVAL after a
    // NOSCRIPT (a restarted Redis); a client without it gets plain EVAL.
    this.defined = typeof this.client.defineCommand === 'function'
    if (this.defined) this.client.defineCommand(COMMAND, { numberOfKeys: 3, lua: HIT_SCRIPT })
  }

  /** Runs the hit script: a promise of the shared count, or undefined while the client cannot take a command. Throws what the client throws. */
  incr (key: string, rule: LimitRule, now: number): Promise<LimitCount> | undefined {
    // ioredis' status: only 'ready' (or 'wait', a lazyConnect client whose first command connects it) can
    // take a command now; anything else would fail or, with an offline queue, wait. A client without a
    // status is trusted to answer or fail on its own.
    const status = this.client.status
    if (this.closed || (status !== undefined && status !== 'ready' && status !== 'wait')) return undefined
    const w = rule.windowMs
    const start = windowStart(now, w)
    const tag = `{${key}}`
    const base = `${this.prefix}${rule.classification}:${tag}:`
    const call: Promise<unknown> = this.defined
      ? this.client[COMMAND](`${base}${start}`, `${base}${start - w}`, `${this.prefix}block:${tag}`,
        w, now - start, rule.max, this.channel, key, this.id, rule.classification)
      : this.client.eval(HIT_SCRIPT, 3, `${base}${start}`, `${base}${start - w}`, `${this.prefix}block:${tag}`,
        w, now - start, rule.max, this.channel, key, this.id, rule.classification)
    return call.then(toCount)
  }

  /**
   * Subscribes to the blocks channel on a connection of its own (subscriber
   * mode takes the whole connection), and again on every 'ready', which
   * covers a Redis that was down at start. Without `duplicate()` there is no
   * subscription: blocks then reach this instance through its own hits' replies.
   */
  subscribe (listener: LimitBlockListener): void {
    this.listener = listener
    if (this.sub !== undefined || this.closed || typeof this.client.duplicate !== 'function') return
    const sub = this.client.duplicate()
    this.sub = sub
    sub.on('ready', this.onReady)
    sub.on('message', this.onMessage)
    sub.on('error', this.onSubError)
    sub.on('close', this.onSubClose)
    if (sub.status === 'wait') sub.connect().catch(this.onSubError)
  }

  /** `ignored`: announcements not acted on (malformed, no block key behind them, or too many at once). */
  stats (): { subscribed: boolean, ignored: number } {
    return { subscribed: this.subscribed, ignored: this.ignored }
  }

  /** Closes the subscriber connection, never the user's client. */
  close (): void {
    if (this.closed) return
    this.closed = true
    this.subscribed = false
    this.listener = undefined
    const sub = this.sub
    if (sub === undefined) return
    sub.removeListener('ready', this.onReady)
    try {
      // disconnect() rather than quit(): no round trip to a Redis that may be hanging.
      sub.disconnect()
    } catch {}
  }

  private readonly onReady = (): void => {
    if (this.closed || this.sub === undefined) return
    this.sub.subscribe(this.channel).then(this.onSubscribed, this.onSubError)
  }

  private readonly onSubscribed = (): void => {
    if (!this.closed) this.subscribed = true
  }

  private readonly onSubClose = (): void => {
    this.subscribed = false
  }

  // Errors of the subscriber connection show up on the command path (the
  // same Redis), where the limiter reports them; listening here keeps ioredis
  // from printing them.
  private readonly onSubError = (): void => {}

  // Anyone who can PUBLISH on the server (any database, any ACL user with
  // pub/sub) can send to this channel, so an announcement is only a hint: it
  // must be well formed, and the block key it names must exist in this
  // store's own keyspace, whose PTTL (not the message) says how long the
  // block lasts. The limiter then caps it at the class's window.
  private readonly onMessage = (channel: string, message: string): void => {
    if (channel !== this.channel || this.listener === undefined) return
    const parts = typeof message === 'string' && message.length <= 200 ? message.split(' ') : []
    if (parts.length !== 4 || parts[1] === this.id) {
      if (parts.length !== 4) this.ignored++
      return
    }
    const [ms, id, cls, key] = parts as [string, string, string, string]
    if (!MS.test(ms) || !ID.test(id) || !CLASS.test(cls) || !isLimiterKey(key)) {
      this.ignored++
      return
    }
    this.verify(key, cls)
  }

  private verify (key: string, cls: LimitClass): void {
    const status = this.client.status
    if (this.closed || this.verifying >= MAX_VERIFYING || (status !== undefined && status !== 'ready' && status !== 'wait')) {
      // Not now: the block still reaches this instance with its next hit of the key (the script's reply).
      this.ignored++
      return
    }
    this.verifying++
    const blockKey = `${this.prefix}block:{${key}}`
    let reply: unknown
    try {
      reply = typeof this.client.pttl === 'function' ? this.client.pttl(blockKey) : this.client.eval(PTTL_SCRIPT, 1, blockKey)
    } catch {
      reply = undefined
    }
    Promise.resolve(reply).then((ttl) => {
      this.verifying--
      const ms = Number(ttl)
      const listener = this.listener
      if (this.closed || listener === undefined || !(ms > 0)) {
        this.ignored++
        return
      }
      listener(key, ms, cls)
    }, () => {
      this.verifying--
      this.ignored++
    }).catch(() => {}) // a listener that throws must not become an unhandled rejection
  }
}

/** The script's reply as a LimitCount; a reply of another shape gives a NaN count, which the limiter counts as an error. */
function toCount (res: unknown): LimitCount {
  if (!Array.isArray(res)) return { count: NaN }
  const ttl = Number(res[1])
  return { count: Number(res[0]), blockedMs: ttl > 0 ? ttl : 0, started: res[2] === 1 }
}
