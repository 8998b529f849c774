import { randomBytes } from 'node:crypto'
import { windowStart, type CompiledRule, type LimitStore } from './store'
import type { SinkLogger } from '../ship/sink'
import type { RedisLike } from '../types'

/**
 * One atomic step per hit: count it in the current window (the key expires
 * after two windows, long enough to serve as the next window's carry), read
 * the previous window, and when the carry-weighted estimate passes the limit
 * set the block key for the rest of the window and publish it once (`NX`:
 * the instance that crosses the limit announces it; the others see the block
 * key already there). Returns what the caller needs to act without keeping a
 * closure per call: key, ip and slot are echoed back.
 *
 * KEYS: current window counter, previous window counter, block key.
 * ARGV: windowMs, elapsed ms in the window, max, channel, key, ip, slot, instance id.
 * Message: `<ms left> <instance id> <key>`.
 * Reply: { key, ip, slot, estimate, block ms left (<= 0: none), 1 if this call set the block }.
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
  redis.call('PUBLISH', ARGV[4], ttl .. ' ' .. ARGV[8] .. ' ' .. ARGV[5])
  set = 1
end
return { ARGV[5], ARGV[6], ARGV[7], est, ttl, set }
`

/** Name the script is defined under on the user's ioredis client (EVALSHA, EVAL on NOSCRIPT). */
const COMMAND = 'appfirewallHit'

// Calls to Redis that may be pending at once. A hanging Redis (DEBUG SLEEP,
// a stalled network, a client without commandTimeout) then costs at most this
// many pending promises; hits beyond it are counted locally only.
const MAX_OUTSTANDING = 256

export interface RedisStoreOptions {
  client: RedisLike
  prefix: string
  rules: readonly CompiledRule[]
  log: SinkLogger
  /** Redis answered a hit: the authoritative estimate, and the block left in ms when the key is blocked. */
  onCount: (key: string, ip: string, rule: CompiledRule, estimate: number, blockMs: number, setHere: boolean) => void
  /** Another instance (or this one) published a block. */
  onBlock: (key: string, blockMs: number) => void
}

/**
 * The shared store on the user's ioredis client. The request path never
 * waits on it: `hit` fires one script call and returns -1; the answer comes
 * back through `onCount`, and blocks from every instance arrive on a
 * subscriber connection (`duplicate()` of the user's client) through
 * `onBlock`, so that the limiter's block check stays a local Map lookup.
 *
 * Redis being down, slow or hanging changes nothing on the request path:
 * calls are only made while the client is ready and fewer than
 * MAX_OUTSTANDING are pending; everything else is counted in `skipped`, and
 * the local store keeps counting meanwhile.
 */
export class RedisStore implements LimitStore {
  sent = 0
  skipped = 0
  errors = 0
  outstanding = 0
  subscribed = false

  private readonly client: RedisLike
  private readonly sub: RedisLike | undefined
  private readonly prefix: string
  private readonly channel: string
  private readonly rules: readonly CompiledRule[]
  private readonly log: SinkLogger
  private readonly onCount: RedisStoreOptions['onCount']
  private readonly onBlock: RedisStoreOptions['onBlock']
  private readonly defined: boolean
  // Tells this instance's own announcements apart: those are handled by the
  // script's reply (which also decides onLimited), and the message may
  // arrive on the subscriber connection before that reply does.
  private readonly id = randomBytes(6).toString('hex')
  private healthy = true
  private closed = false

  constructor (opts: RedisStoreOptions) {
    this.client = opts.client
    this.prefix = opts.prefix
    this.channel = `${opts.prefix}blocks`
    this.rules = opts.rules
    this.log = opts.log
    this.onCount = opts.onCount
    this.onBlock = opts.onBlock
    // ioredis' defineCommand sends EVALSHA and falls back to EVAL after a
    // NOSCRIPT (a restarted Redis); a client without it gets plain EVAL.
    this.defined = typeof this.client.defineCommand === 'function'
    if (this.defined) this.client.defineCommand(COMMAND, { numberOfKeys: 3, lua: HIT_SCRIPT })

    // Subscriber mode takes a connection to itself; it is ours to close.
    // Subscribing on every 'ready' covers a Redis that was down at start.
    // Without one (a client that cannot duplicate itself), blocks still
    // reach this instance through the replies to its own hits.
    const sub = typeof this.client.duplicate === 'function' ? this.client.duplicate() : undefined
    this.sub = sub
    if (sub !== undefined) {
      sub.on('ready', this.subscribe)
      sub.on('message', this.onMessage)
      sub.on('error', this.onSubError)
      sub.on('close', this.onSubClose)
      if (sub.status === 'wait') sub.connect().catch(this.onSubError)
    }
  }

  hit (key: string, ip: string, rule: CompiledRule, now: number): number {
    // ioredis' status: only 'ready' (or 'wait', a lazyConnect client whose first command connects it) can
    // take a command now; anything else would fail or, with an offline queue, wait. A client without a
    // status is trusted to answer or fail on its own.
    const status = this.client.status
    if ((status !== undefined && status !== 'ready' && status !== 'wait') || this.outstanding >= MAX_OUTSTANDING || this.closed) {
      this.skipped++
      if (this.healthy && !this.closed) {
        this.unhealthy(this.outstanding >= MAX_OUTSTANDING ? `${this.outstanding} calls pending` : `client status ${String(status)}`)
      }
      return -1
    }
    const w = rule.windowMs
    const start = windowStart(now, w)
    const tag = `{${key}}`
    const base = `${this.prefix}${rule.cls}:${tag}:`
    this.outstanding++
    this.sent++
    let call: Promise<unknown>
    try {
      call = this.defined
        ? this.client[COMMAND](`${base}${start}`, `${base}${start - w}`, `${this.prefix}block:${tag}`,
          w, now - start, rule.max, this.channel, key, ip, rule.slot, this.id)
        : this.client.eval(HIT_SCRIPT, 3, `${base}${start}`, `${base}${start - w}`, `${this.prefix}block:${tag}`,
          w, now - start, rule.max, this.channel, key, ip, rule.slot, this.id)
    } catch (err) {
      // A client that throws synchronously (closed, misconfigured) is an outage too.
      this.onError(err)
      return -1
    }
    call.then(this.onReply, this.onError)
    return -1
  }

  size (): number {
    return 0
  }

  async close (): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.subscribed = false
    const sub = this.sub
    if (sub === undefined) return
    sub.removeListener('ready', this.subscribe)
    try {
      // disconnect() rather than quit(): no round trip to a Redis that may be hanging.
      sub.disconnect()
    } catch {}
  }

  private readonly onReply = (res: unknown): void => {
    this.outstanding--
    if (this.closed) return
    if (!this.healthy) {
      this.healthy = true
      this.log.info({ prefix: this.prefix }, 'appfirewall: Redis answers again; rate limit counts are shared again')
    }
    if (!Array.isArray(res) || res.length < 6) return
    const rule = this.rules[Number(res[2])]
    if (rule === undefined) return
    const ttl = Number(res[4])
    this.onCount(String(res[0]), String(res[1]), rule, Number(res[3]), ttl > 0 ? ttl : 0, res[5] === 1)
  }

  private readonly onError = (err: unknown): void => {
    this.outstanding--
    this.errors++
    if (this.healthy && !this.closed) this.unhealthy((err as Error)?.message ?? String(err))
  }

  /** One warning per outage; the next reply logs the recovery. */
  private unhealthy (reason: string): void {
    this.healthy = false
    this.log.warn({ reason, prefix: this.prefix },
      'appfirewall: Redis is unavailable or slow; rate limits are counted in this process until it answers again')
  }

  private readonly subscribe = (): void => {
    if (this.closed || this.sub === undefined) return
    this.sub.subscribe(this.channel).then(this.onSubscribed, this.onSubError)
  }

  private readonly onSubscribed = (): void => {
    if (!this.closed) this.subscribed = true
  }

  private readonly onSubClose = (): void => {
    this.subscribed = false
  }

  // Errors of the subscriber connection are reported by the command path
  // (the same Redis); listening here keeps ioredis from printing them.
  private readonly onSubError = (): void => {}

  private readonly onMessage = (channel: string, message: string): void => {
    if (channel !== this.channel || this.closed) return
    const a = message.indexOf(' ')
    const b = a > 0 ? message.indexOf(' ', a + 1) : -1
    if (b === -1) return
    const ms = Number(message.slice(0, a))
    if (!(ms > 0) || message.slice(a + 1, b) === this.id) return
    this.onBlock(message.slice(b + 1), ms)
  }
}
