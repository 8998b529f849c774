// What the report counts, in memory bounded whatever the input: every table
// has a cap, and what a cap turns away is counted and said in the output
// rather than silently lost. Events are read defensively: a file may come
// from another SDK, an older version, or someone who wants to break the
// reader, so a field of the wrong type is ignored, never trusted.
import { canonicalIp } from '../ip/cidr'
import { limiterKey } from '../limit/key'

/** The caps that bound the report's memory. */
export interface ReportLimits {
  /** Client keys (an IPv4 address, or an IPv6 client's /64) tallied at once; about 0.5 KB each. */
  maxIps: number
  /** Hour buckets kept (24 × 400 is more than a year). */
  maxHours: number
  /** Distinct names kept per name counter (types, rules, tools, error codes, recorded event names ...). */
  maxNames: number
}

export const DEFAULT_LIMITS: Readonly<ReportLimits> = Object.freeze({ maxIps: 50_000, maxHours: 24 * 400, maxNames: 1000 })

/** Only events with `since <= ts < until` are counted; both are RFC 3339 UTC with milliseconds (`toISOString()`), either may be absent. */
export interface TimeWindow {
  since?: string | undefined
  until?: string | undefined
}

/** Longest name (a rule, a recorded event's name ...) kept, in characters. */
const MAX_NAME_CHARS = 200
/** Distinct rules and signal kinds kept per IP. */
const RULES_PER_IP = 8

/**
 * A copy of `s` that owns its characters. V8 may keep a string parsed out of
 * a line as a slice of that line: keeping such a slice in a long-lived table
 * would keep the whole line (up to 1 MiB) alive with it.
 */
export function own (s: string): string {
  return Buffer.from(s.length > MAX_NAME_CHARS ? s.slice(0, MAX_NAME_CHARS) : s, 'utf8').toString('utf8')
}

/**
 * Counts per name, for at most `cap` distinct names; hits of names that
 * arrive once the cap is reached are counted in `other`.
 */
export class BoundedCounter {
  readonly counts = new Map<string, number>()
  /** Hits of names past the cap. */
  other = 0

  constructor (readonly cap: number) {}

  add (name: string, n = 1): void {
    const c = this.counts.get(name)
    if (c !== undefined) {
      this.counts.set(name, c + n)
    } else if (this.counts.size < this.cap) {
      this.counts.set(own(name), n)
    } else {
      this.other += n
    }
  }

  /** The counts, largest first (then by name), with `(other)` last when the cap turned names away. */
  sorted (): Record<string, number> {
    const rows = [...this.counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    const out: Record<string, number> = {}
    for (const [k, v] of rows) out[k] = v
    if (this.other > 0) out['(other)'] = (out['(other)'] ?? 0) + this.other
    return out
  }
}

/**
 * One copy of each name (a rule, a signal kind, a tool, a country) for all
 * the per-IP tallies that mention it, for at most `cap` names; past it each
 * tally owns its copy (memory stays bounded by the IP table either way).
 */
export class Interner {
  private readonly names = new Map<string, string>()

  constructor (private readonly cap: number) {}

  intern (name: string): string {
    const known = this.names.get(name)
    if (known !== undefined) return known
    const copy = own(name)
    if (this.names.size < this.cap) this.names.set(copy, copy)
    return copy
  }
}

/** A few names with counts (the rules one IP fired): the first `cap` distinct names, the rest in `other`. */
export class SmallTally {
  // Grown by concat, one slot at a time: push would reserve 17 slots for the
  // first name, and there is one tally per tracked IP.
  names: string[] = []
  counts: number[] = []
  other = 0

  constructor (private readonly cap: number) {}

  /** Counts `name`, which the caller has interned (it is kept as given). */
  add (name: string): void {
    const i = this.names.indexOf(name)
    if (i !== -1) {
      this.counts[i]!++
    } else if (this.names.length < this.cap) {
      this.names = this.names.concat(name)
      this.counts = this.counts.concat(1)
    } else {
      this.other++
    }
  }

  /** Largest first, `(other)` last. */
  sorted (): Record<string, number> {
    const idx = this.names.map((_, i) => i).sort((a, b) => this.counts[b]! - this.counts[a]!)
    const out: Record<string, number> = {}
    for (const i of idx) out[this.names[i]!] = this.counts[i]!
    if (this.other > 0) out['(other)'] = (out['(other)'] ?? 0) + this.other
    return out
  }
}

/** What one client key did: only the events that say something about abuse are tallied (see Aggregator.add). */
export class IpEntry {
  /** Tallied events of this key (the sum below, an event counted once): what eviction ranks by. */
  weight = 0
  /** 404s classified `scanner`, and of those, `certainty: "certain"`. */
  scanner = 0
  certain = 0
  /** Events with a `signal` (validation, parse, auth). */
  signals = 0
  wouldBlock = 0
  blocked = 0
  /** Events whose user agent named an attack tool (`ua_class`). */
  tool = 0
  rules: SmallTally | undefined
  signalKinds: SmallTally | undefined
  /** First `ua_class` and `cf_country` seen. */
  uaClass: string | undefined
  country: string | undefined
  /** Earliest and latest `ts` of its tallied events, epoch ms (±Infinity until one has a ts): numbers, updated in place, where a string per event would be garbage per event. */
  first = Infinity
  last = -Infinity

  /** Back to a fresh entry, for reuse. */
  reset (): void {
    this.weight = this.scanner = this.certain = this.signals = this.wouldBlock = this.blocked = this.tool = 0
    this.rules = this.signalKinds = this.uaClass = this.country = undefined
    this.first = Infinity
    this.last = -Infinity
  }
}

/**
 * Per-client tallies for at most `cap` keys. When a new key finds the table
 * full, the quarter with the least weight is dropped in one pass (amortised
 * O(log n) per new key), keys that were marked `would_block` or `blocked`
 * last, so a flood of one-probe addresses never pushes a blocked client out.
 * A key that is dropped and comes back starts again from zero: a count is
 * then short by at most `maxEvictedWeight` (lossy counting), which the report
 * states.
 */
export class IpTable {
  readonly map = new Map<string, IpEntry>()
  // Entries trimmed out, reused for the next new keys: on a file of millions
  // of one-probe addresses, entries that had lived long enough to reach V8's
  // old space would otherwise die there by the hundred thousand, and the heap
  // grows to hundreds of MB before a full collection takes them back.
  private free: IpEntry[] = []
  /** Keys dropped, and of those, keys that had been marked would_block or blocked. */
  evicted = 0
  evictedBlocked = 0
  /** Largest weight a dropped key had: how far below the truth any count can be. */
  maxEvictedWeight = 0

  constructor (readonly cap: number) {}

  /** The entry of `key`, made (and the table trimmed) when new. */
  entry (key: string): IpEntry {
    let e = this.map.get(key)
    if (e === undefined) {
      if (this.map.size >= this.cap) this.trim()
      e = this.free.pop() ?? new IpEntry()
      this.map.set(own(key), e)
    }
    return e
  }

  private trim (): void {
    const all = [...this.map]
    all.sort((a, b) => marked(a[1]) - marked(b[1]) || a[1].weight - b[1].weight)
    const n = Math.max(1, Math.ceil(all.length / 4))
    for (let i = 0; i < n; i++) {
      const [key, e] = all[i]!
      this.map.delete(key)
      if (e.weight > this.maxEvictedWeight) this.maxEvictedWeight = e.weight
      if (marked(e) === 1) this.evictedBlocked++
      e.reset()
      this.free.push(e)
    }
    this.evicted += n
  }
}

function marked (e: IpEntry): number {
  return e.wouldBlock > 0 || e.blocked > 0 ? 1 : 0
}

/** Columns of an hour bucket. */
export const HOUR_COLUMNS = ['events', 'scanner', 'signals', 'custom', 'would_block', 'blocked'] as const
const H_EVENTS = 0
const H_SCANNER = 1
const H_SIGNALS = 2
const H_CUSTOM = 3
const H_WOULD = 4
const H_BLOCKED = 5

/**
 * The canonical form of an event's `ts` (RFC 3339 UTC with milliseconds, as
 * `toISOString()` writes it), or undefined when it is not a time. The
 * plugin's own form is recognised without parsing; any other spelling of
 * RFC 3339 is parsed once.
 */
export function normTs (ts: unknown): string | undefined {
  if (typeof ts !== 'string') return undefined
  if (ts.length === 24 && ts.charCodeAt(23) === 90 && ts.charCodeAt(10) === 84 && ts.charCodeAt(4) === 45 && ts.charCodeAt(19) === 46) return ts
  if (ts.length < 10 || ts.length > 40) return undefined
  const ms = Date.parse(ts)
  if (!Number.isFinite(ms) || ms < 0 || ms >= 253402300800000) return undefined // years 1970-9999
  return new Date(ms).toISOString()
}

/**
 * The key the plugin's limiter counts a client under: an IPv4 address as it
 * is, an IPv6 address as its /64 (`2001:db8:1:2::/64`), an IPv4 client
 * behind a translation prefix as that IPv4; undefined for a missing client
 * (`0.0.0.0`) or anything that is not a strict IP literal.
 */
export function clientKey (ip: unknown): string | undefined {
  if (typeof ip !== 'string') return undefined
  const canonical = canonicalIp(ip)
  return canonical === undefined ? undefined : limiterKey(canonical)
}

function str (v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined
}

/**
 * Everything the report counts, fed one parsed line at a time. Per type and
 * class, per rule, signal, tool, recorded event name and status; per hour;
 * and per client key for the events that say something about abuse: a
 * `scanner` 404, a `signal`, a `would_block` or `blocked` mark, an attack
 * tool's `ua_class`. Other events (a user's 200s, recorded events) are
 * counted in the totals but not per IP: a per-IP table of every visitor is
 * what would not fit in memory, and it is not what the report is for.
 */
export class Aggregator {
  events = 0
  /** Events outside the time window (not counted anywhere else). */
  filteredOut = 0
  /** Counted events without a readable `ts`: in every table but the hours. */
  withoutTs = 0
  first: string | undefined
  last: string | undefined
  readonly types: BoundedCounter
  /** http_request events by `classification` (`(none)` when absent). */
  readonly classes: BoundedCounter
  /** Scanner 404s by `certainty`. */
  readonly certainty: BoundedCounter
  readonly rules: BoundedCounter
  readonly signals: BoundedCounter
  readonly errorCodes: BoundedCounter
  readonly uaClasses: BoundedCounter
  readonly customNames: BoundedCounter
  readonly statuses: BoundedCounter
  wouldBlock = 0
  blocked = 0
  /** Tallied events whose client is missing (`0.0.0.0`) or not an IP: in the totals, not per IP. */
  unattributed = 0
  readonly hours = new Map<string, number[]>()
  /** Events whose hour found the hour table full. */
  outsideHours = 0
  readonly ips: IpTable
  private readonly interner: Interner

  constructor (readonly limits: ReportLimits = DEFAULT_LIMITS, readonly window: TimeWindow = {}) {
    this.types = new BoundedCounter(Math.min(64, limits.maxNames))
    this.classes = new BoundedCounter(Math.min(64, limits.maxNames))
    this.certainty = new BoundedCounter(16)
    this.rules = new BoundedCounter(limits.maxNames)
    this.signals = new BoundedCounter(Math.min(64, limits.maxNames))
    this.errorCodes = new BoundedCounter(limits.maxNames)
    this.uaClasses = new BoundedCounter(limits.maxNames)
    this.customNames = new BoundedCounter(limits.maxNames)
    this.statuses = new BoundedCounter(Math.min(600, limits.maxNames))
    this.ips = new IpTable(limits.maxIps)
    this.interner = new Interner(4 * limits.maxNames)
  }

  /**
   * Counts one parsed line. Returns a reason when it is not an event (not an
   * object, or no string `type`): the caller reports it as malformed.
   */
  add (ev: unknown): string | undefined {
    if (ev === null || typeof ev !== 'object' || Array.isArray(ev)) return 'not an event (a JSON ' + (ev === null ? 'null' : Array.isArray(ev) ? 'array' : typeof ev) + ', not an object)'
    const e = ev as Record<string, unknown>
    const type = e.type
    if (typeof type !== 'string' || type === '') return 'not an event (no "type")'
    const ts = normTs(e.ts)
    const { since, until } = this.window
    if (since !== undefined || until !== undefined) {
      if (ts === undefined || (since !== undefined && ts < since) || (until !== undefined && ts >= until)) {
        this.filteredOut++
        return undefined
      }
    }
    this.events++
    this.types.add(type)

    let scanner = false
    let certain = false
    if (type === 'http_request') {
      const cls = str(e.classification) ?? '(none)'
      this.classes.add(cls)
      if (cls === 'scanner') {
        scanner = true
        const c = str(e.certainty) ?? '(none)'
        certain = c === 'certain'
        this.certainty.add(c)
      }
      if (typeof e.status === 'number' && Number.isInteger(e.status)) this.statuses.add(String(e.status))
    } else if (type === 'custom') {
      this.customNames.add(str(e.name) ?? '(none)')
    }
    const rule = str(e.rule)
    if (rule !== undefined) this.rules.add(rule)
    const signal = str(e.signal)
    if (signal !== undefined) {
      this.signals.add(signal)
      const code = str(e.error_code)
      if (code !== undefined) this.errorCodes.add(code)
    }
    const uaClass = str(e.ua_class)
    if (uaClass !== undefined) this.uaClasses.add(uaClass)
    const wouldBlock = e.would_block === true
    const blocked = e.blocked === true
    if (wouldBlock) this.wouldBlock++
    if (blocked) this.blocked++

    if (ts === undefined) {
      this.withoutTs++
    } else {
      if (this.first === undefined || ts < this.first) this.first = ts
      if (this.last === undefined || ts > this.last) this.last = ts
      const h = this.hour(ts)
      if (h !== undefined) {
        h[H_EVENTS]!++
        if (scanner) h[H_SCANNER]!++
        if (signal !== undefined) h[H_SIGNALS]!++
        if (type === 'custom') h[H_CUSTOM]!++
        if (wouldBlock) h[H_WOULD]!++
        if (blocked) h[H_BLOCKED]!++
      }
    }

    if (!scanner && signal === undefined && !wouldBlock && !blocked && uaClass === undefined) return undefined
    const key = clientKey(e.ip)
    if (key === undefined) {
      this.unattributed++
      return undefined
    }
    const t = this.ips.entry(key)
    t.weight++
    if (scanner) {
      t.scanner++
      if (certain) t.certain++
    }
    if (rule !== undefined) (t.rules ??= new SmallTally(RULES_PER_IP)).add(this.interner.intern(rule))
    if (signal !== undefined) {
      t.signals++
      ;(t.signalKinds ??= new SmallTally(RULES_PER_IP)).add(this.interner.intern(signal))
    }
    if (wouldBlock) t.wouldBlock++
    if (blocked) t.blocked++
    if (uaClass !== undefined) {
      t.tool++
      if (t.uaClass === undefined) t.uaClass = this.interner.intern(uaClass)
    }
    if (t.country === undefined) {
      const country = str(e.cf_country)
      if (country !== undefined) t.country = this.interner.intern(country)
    }
    if (ts !== undefined) {
      const ms = Date.parse(ts)
      if (ms < t.first) t.first = ms
      if (ms > t.last) t.last = ms
    }
    return undefined
  }

  /** The bucket of the hour of `ts` (made when new), or undefined when the hour table is full. */
  private hour (ts: string): number[] | undefined {
    const key = ts.slice(0, 13)
    let h = this.hours.get(key)
    if (h === undefined) {
      if (this.hours.size >= this.limits.maxHours) {
        this.outsideHours++
        return undefined
      }
      h = [0, 0, 0, 0, 0, 0]
      this.hours.set(own(key), h)
    }
    return h
  }
}
