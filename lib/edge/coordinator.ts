// Where the edge sync keeps what it must agree on across instances: the
// blocks wanted at the edge, which instance syncs (a lease), what it has
// listed and the bulk operation under way. In one process that is memory;
// with the shared Redis store it is Redis, so that exactly one instance talks
// to Cloudflare at a time and a new leader neither adds an IP twice nor
// starts an operation while its predecessor's is pending.
import { randomBytes } from 'node:crypto'
import type { RedisLike } from '../types'

/** A block wanted at the edge: the limiter key (IPv4, or an IPv6 /64 or /48), until when (epoch ms), and the item's comment. */
export interface Want {
  key: string
  until: number
  note: string
}

/** A key this sync has listed: until when it stays (epoch ms), and its item id ('' until a listing told it). */
export interface Listed {
  until: number
  id: string
}

/** A bulk operation under way, recorded before it is polled, so that a new leader finishes it instead of repeating it. */
export interface PendingOp {
  id: string
  kind: 'add' | 'remove'
  /** The keys it adds or removes, with the `until` of each (adds). */
  keys: Array<[key: string, until: number]>
  /** When it was started (epoch ms). */
  at: number
}

/**
 * The state the sync agrees on. Every method may reject (Redis down): the sync
 * then keeps its offers and tries again on its next round. Writes of the
 * leader (`record`) are fenced by its lease: they answer false, and change
 * nothing, once another instance holds it.
 */
export interface Coordinator {
  /** True when the state is shared by several instances (Redis). */
  readonly shared: boolean
  /** Hands new blocks over (a later `until` of a key wins). */
  offer: (wants: readonly Want[], now: number) => Promise<void>
  /** Takes or renews the lease for `leaseMs`: true while this instance is the one that syncs. */
  lead: (now: number) => Promise<boolean>
  /** Blocks wanted and not yet over at `now`, at most `limit`. */
  wanted: (now: number, limit: number) => Promise<Want[]>
  /** What the last leader recorded as listed, and its operation under way. */
  load: () => Promise<{ listed: Map<string, Listed>, op: PendingOp | undefined }>
  /** Records listed keys (set) and unlisted ones (del), and the operation (`null`: none); false when the lease was lost. */
  record: (set: ReadonlyArray<[string, Listed]>, del: readonly string[], op: PendingOp | null | undefined) => Promise<boolean>
  /** Gives the lease up (close). */
  resign: () => Promise<void>
}

/** One process: every instance is its own leader; nothing survives a restart but what Cloudflare's list holds. */
export class LocalCoordinator implements Coordinator {
  readonly shared = false
  private readonly wants = new Map<string, Want>()

  constructor (private readonly cap: number) {}

  async offer (wants: readonly Want[], now: number): Promise<void> {
    for (const w of wants) {
      const had = this.wants.get(w.key)
      if (had === undefined || w.until > had.until) this.wants.set(w.key, w)
    }
    this.prune(now)
  }

  async lead (): Promise<boolean> {
    return true
  }

  async wanted (now: number, limit: number): Promise<Want[]> {
    this.prune(now)
    return Array.from(this.wants.values()).slice(0, limit)
  }

  async load (): Promise<{ listed: Map<string, Listed>, op: PendingOp | undefined }> {
    return { listed: new Map(), op: undefined }
  }

  async record (): Promise<boolean> {
    return true
  }

  async resign (): Promise<void> {}

  private prune (now: number): void {
    for (const [key, w] of this.wants) if (w.until <= now) this.wants.delete(key)
    // Over the cap: the wants ending soonest go first (a Map keeps insertion order, not time order).
    if (this.wants.size > this.cap) {
      const keep = Array.from(this.wants.values()).sort((a, b) => b.until - a.until).slice(0, this.cap)
      this.wants.clear()
      for (const w of keep) this.wants.set(w.key, w)
    }
  }
}

// KEYS: wants (zset key -> until), notes (hash key -> comment). ARGV: now, cap, then key, until, note triples.
// Drops wants that are over, and past the cap the ones ending soonest.
const OFFER = `
local now = tonumber(ARGV[1])
local cap = tonumber(ARGV[2])
for i = 3, #ARGV, 3 do
  redis.call('ZADD', KEYS[1], 'GT', ARGV[i + 1], ARGV[i])
  redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 2])
end
local gone = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, 1000)
local n = redis.call('ZCARD', KEYS[1]) - #gone
if n > cap then
  local extra = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. ARGV[1], '+inf', 'LIMIT', 0, n - cap)
  for _, k in ipairs(extra) do gone[#gone + 1] = k end
end
for _, k in ipairs(gone) do
  redis.call('ZREM', KEYS[1], k)
  redis.call('HDEL', KEYS[2], k)
end
return #gone
`
// KEYS: lease. ARGV: instance id, lease ms. 1 when this instance holds the lease.
const LEAD = `
local cur = redis.call('GET', KEYS[1])
if cur == false then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
if cur == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
`
// KEYS: wants, notes. ARGV: now, limit. Flat { key, until, note, ... }.
const WANTED = `
local keys = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. ARGV[1], '+inf', 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[2]))
local out = {}
for i = 1, #keys, 2 do
  out[#out + 1] = keys[i]
  out[#out + 1] = keys[i + 1]
  out[#out + 1] = redis.call('HGET', KEYS[2], keys[i]) or ''
end
return out
`
// KEYS: listed (hash key -> "until id"), op. Flat listed pairs, then the op's JSON ('' for none) last.
const LOAD = `
local out = redis.call('HGETALL', KEYS[1])
out[#out + 1] = redis.call('GET', KEYS[2]) or ''
return out
`
// KEYS: lease, listed, op. ARGV: instance id, op ('' keep, '-' none, else JSON), number of sets, then set pairs, then keys to delete.
const RECORD = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
local sets = tonumber(ARGV[3])
local i = 4
for _ = 1, sets do
  redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1])
  i = i + 2
end
while i <= #ARGV do
  redis.call('HDEL', KEYS[2], ARGV[i])
  i = i + 1
end
if ARGV[2] == '-' then redis.call('DEL', KEYS[3]) elseif ARGV[2] ~= '' then redis.call('SET', KEYS[3], ARGV[2]) end
return 1
`
// KEYS: lease. ARGV: instance id.
const RESIGN = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`

// Most keys or args sent in one script call: Lua's stack copes, and one call stays short.
const CHUNK = 500

/**
 * The state in Redis, under `<prefix>edge:<listId>:`, through the user's
 * ioredis client (EVAL only, so that any RedisLike works and every step is
 * atomic). The lease is a key holding the leader's random id with a TTL; the
 * leader renews it each round, and a leader that dies leaves it to expire.
 */
export class RedisCoordinator implements Coordinator {
  readonly shared = true
  private readonly id = randomBytes(8).toString('hex')
  private readonly k: { wants: string, notes: string, lease: string, listed: string, op: string }

  constructor (private readonly client: RedisLike, prefix: string, listId: string, private readonly leaseMs: number, private readonly cap: number) {
    const base = `${prefix}edge:${listId}:`
    this.k = { wants: `${base}wants`, notes: `${base}notes`, lease: `${base}lease`, listed: `${base}listed`, op: `${base}op` }
  }

  async offer (wants: readonly Want[], now: number): Promise<void> {
    for (let i = 0; i < wants.length || i === 0; i += CHUNK) {
      const args: Array<string | number> = [now, this.cap]
      for (const w of wants.slice(i, i + CHUNK)) args.push(w.key, w.until, w.note)
      await this.client.eval(OFFER, 2, this.k.wants, this.k.notes, ...args)
    }
  }

  async lead (): Promise<boolean> {
    return Number(await this.client.eval(LEAD, 1, this.k.lease, this.id, this.leaseMs)) === 1
  }

  async wanted (now: number, limit: number): Promise<Want[]> {
    const flat = await this.client.eval(WANTED, 2, this.k.wants, this.k.notes, now, limit)
    const out: Want[] = []
    if (!Array.isArray(flat)) return out
    for (let i = 0; i + 2 < flat.length; i += 3) {
      const until = Number(flat[i + 1])
      if (typeof flat[i] === 'string' && Number.isFinite(until)) out.push({ key: flat[i], until, note: String(flat[i + 2]) })
    }
    return out
  }

  async load (): Promise<{ listed: Map<string, Listed>, op: PendingOp | undefined }> {
    const flat = await this.client.eval(LOAD, 2, this.k.listed, this.k.op)
    const listed = new Map<string, Listed>()
    let op: PendingOp | undefined
    if (!Array.isArray(flat)) return { listed, op }
    for (let i = 0; i + 1 < flat.length - 1; i += 2) {
      const [until, id] = String(flat[i + 1]).split(' ')
      const u = Number(until)
      if (typeof flat[i] === 'string' && Number.isFinite(u)) listed.set(flat[i], { until: u, id: id ?? '' })
    }
    const last = flat[flat.length - 1]
    if (typeof last === 'string' && last !== '') {
      try {
        const o = JSON.parse(last) as PendingOp
        if (typeof o?.id === 'string' && (o.kind === 'add' || o.kind === 'remove') && Array.isArray(o.keys)) op = o
      } catch {} // a broken record is no operation: the next listing shows what the list holds
    }
    return { listed, op }
  }

  async record (set: ReadonlyArray<[string, Listed]>, del: readonly string[], op: PendingOp | null | undefined): Promise<boolean> {
    const opArg = op === undefined ? '' : op === null ? '-' : JSON.stringify(op)
    // Large changes go in chunks, the operation with the first; each chunk is fenced on its own.
    let first = true
    for (let i = 0; i < set.length || first; i += CHUNK) {
      const args: Array<string | number> = [this.id, first ? opArg : '', Math.min(CHUNK, Math.max(0, set.length - i))]
      for (const [key, l] of set.slice(i, i + CHUNK)) args.push(key, `${l.until} ${l.id}`)
      if (first) args.push(...del.slice(0, CHUNK))
      if (Number(await this.client.eval(RECORD, 3, this.k.lease, this.k.listed, this.k.op, ...args)) !== 1) return false
      first = false
    }
    for (let i = CHUNK; i < del.length; i += CHUNK) {
      if (Number(await this.client.eval(RECORD, 3, this.k.lease, this.k.listed, this.k.op, this.id, '', 0, ...del.slice(i, i + CHUNK))) !== 1) return false
    }
    return true
  }

  async resign (): Promise<void> {
    await this.client.eval(RESIGN, 1, this.k.lease, this.id)
  }
}
