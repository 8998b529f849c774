// The report as data: what `--format json` prints as it is, and what the
// text and CSV formatters read. snake_case, like the events it summarises.
import { Aggregator, HOUR_COLUMNS, IpEntry } from './aggregate'

/** One source read: its name as given (`-` for stdin), what was read of it, and why it stopped early if it did. */
export interface FileRow {
  path: string
  gzip: boolean
  /** Bytes read from the source (compressed bytes for gzip). */
  bytes: number
  /** Lines seen (blank ones included), lines that were events, lines skipped as malformed. */
  lines: number
  events: number
  malformed: number
  /** Why the source could not be read to its end (missing, unreadable, truncated gzip), else null. */
  error: string | null
}

/** One client key (an IPv4 address, or an IPv6 client's `/64`) and what it did. */
export interface IpRow {
  ip: string
  /** 404s classified scanner, and of them, certain ones. */
  scanner: number
  certain: number
  /** Events with a signal (validation, parse, auth). */
  signals: number
  would_block: number
  blocked: number
  /** Events whose user agent named an attack tool. */
  attack_tool: number
  /** Counts per rule (pattern family) and per signal kind. */
  rules: Record<string, number>
  signal_kinds: Record<string, number>
  ua_class: string | null
  country: string | null
  /** RFC 3339 UTC; null when its events had no readable ts. */
  first_seen: string | null
  last_seen: string | null
}

/** One hour (UTC) and its counts; only hours with events are listed. */
export interface HourRow {
  /** Start of the hour, `2026-11-25T08:00:00Z`. */
  hour: string
  events: number
  scanner: number
  signals: number
  custom: number
  would_block: number
  blocked: number
}

/**
 * Everything `report` found, as `--format json` prints it. Name counters are
 * sorted largest first; `(other)` holds names past a cap. `blocked_ips`
 * comes last: it can hold every tracked IP, so it is written row by row.
 */
export interface ReportData {
  report_version: 1
  files: FileRow[]
  /** The --since / --until window, RFC 3339 UTC, or null. */
  window: { since: string | null, until: string | null }
  totals: {
    lines: number
    events: number
    malformed: number
    /** Events outside the window. */
    filtered_out: number
    /** Events without a readable ts (counted, but in no hour). */
    without_ts: number
  }
  first_event: string | null
  last_event: string | null
  types: Record<string, number>
  /** http_request events by classification; `(none)`: not classified (not a miss). */
  classes: Record<string, number>
  /** scanner 404s by certainty. */
  certainty: Record<string, number>
  rules: Record<string, number>
  signals: Record<string, number>
  error_codes: Record<string, number>
  ua_classes: Record<string, number>
  /** custom events by name. */
  custom_names: Record<string, number>
  /** http_request events by status. */
  statuses: Record<string, number>
  /** Events marked would_block / blocked, and how many client keys they came from. */
  would_block: { events: number, ips: number }
  blocked: { events: number, ips: number }
  /** Scanner, signal, would_block, blocked or attack-tool events whose ip was missing (0.0.0.0) or not an IP. */
  unattributed: number
  hours: HourRow[]
  /** Top `--top` keys by scanner 404s, and by signals. */
  top_scanner_ips: IpRow[]
  top_signal_ips: IpRow[]
  /** True when a cap dropped something: per-IP counts are then lower bounds (see limits). */
  approximate: boolean
  limits: {
    max_ips: number
    ips_tracked: number
    /** Keys dropped from the per-IP table to stay within max_ips, and of those, keys that were marked would_block or blocked. */
    ips_evicted: number
    blocked_ips_evicted: number
    /** Most a per-IP count can be below the truth (the largest tally a dropped key had). */
    max_undercount: number
    max_hours: number
    /** Events whose hour found the hour table full (in the totals, in no hour). */
    events_outside_hours: number
  }
  /** Every key marked would_block or blocked, most marked first: the CSV's rows. */
  blocked_ips: IpRow[]
}

/**
 * The report before it is written: everything but `blocked_ips`, which can
 * hold every tracked IP (tens of thousands) and is made one row at a time
 * while it is written, so the rows and their text never sit in memory all
 * at once.
 */
export interface Summary {
  data: Omit<ReportData, 'blocked_ips'>
  /** How many rows `blockedIps()` yields. */
  blockedCount: number
  /** The keys marked would_block or blocked, most marked first. */
  blockedIps: () => Generator<IpRow>
}

function row (ip: string, e: IpEntry): IpRow {
  return {
    ip,
    scanner: e.scanner,
    certain: e.certain,
    signals: e.signals,
    would_block: e.wouldBlock,
    blocked: e.blocked,
    attack_tool: e.tool,
    rules: e.rules?.sorted() ?? {},
    signal_kinds: e.signalKinds?.sorted() ?? {},
    ua_class: e.uaClass ?? null,
    country: e.country ?? null,
    first_seen: e.first === Infinity ? null : new Date(e.first).toISOString(),
    last_seen: e.last === -Infinity ? null : new Date(e.last).toISOString()
  }
}

function byIp (a: [string, IpEntry], b: [string, IpEntry]): number {
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0
}

/** The entries with a `score` above 0, largest first (ties: more weight, then by key). */
function ranked (entries: Array<[string, IpEntry]>, score: (e: IpEntry) => number): Array<[string, IpEntry]> {
  return entries.filter(([, e]) => score(e) > 0)
    .sort((a, b) => score(b[1]) - score(a[1]) || b[1].weight - a[1].weight || byIp(a, b))
}

function top (entries: Array<[string, IpEntry]>, score: (e: IpEntry) => number, n: number): IpRow[] {
  return ranked(entries, score).slice(0, n).map(([k, e]) => row(k, e))
}

/** The report of what `agg` counted over `files`; the top lists hold `topN` rows each. */
export function summarize (agg: Aggregator, files: FileRow[], topN: number): Summary {
  const entries = [...agg.ips.map]
  const hours: HourRow[] = [...agg.hours].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([k, h]) => {
    const r: Record<string, number | string> = { hour: k + ':00:00Z' }
    HOUR_COLUMNS.forEach((c, i) => { r[c] = h[i]! })
    return r as unknown as HourRow
  })
  const blocked = ranked(entries, (e) => e.wouldBlock + e.blocked)
  let wouldIps = 0
  let blockedIps = 0
  for (const [, e] of entries) {
    if (e.wouldBlock > 0) wouldIps++
    if (e.blocked > 0) blockedIps++
  }
  const ips = agg.ips
  const data: Omit<ReportData, 'blocked_ips'> = {
    report_version: 1,
    files,
    window: { since: agg.window.since ?? null, until: agg.window.until ?? null },
    totals: {
      lines: files.reduce((s, f) => s + f.lines, 0),
      events: agg.events,
      malformed: files.reduce((s, f) => s + f.malformed, 0),
      filtered_out: agg.filteredOut,
      without_ts: agg.withoutTs
    },
    first_event: agg.first ?? null,
    last_event: agg.last ?? null,
    types: agg.types.sorted(),
    classes: agg.classes.sorted(),
    certainty: agg.certainty.sorted(),
    rules: agg.rules.sorted(),
    signals: agg.signals.sorted(),
    error_codes: agg.errorCodes.sorted(),
    ua_classes: agg.uaClasses.sorted(),
    custom_names: agg.customNames.sorted(),
    statuses: agg.statuses.sorted(),
    would_block: { events: agg.wouldBlock, ips: wouldIps },
    blocked: { events: agg.blocked, ips: blockedIps },
    unattributed: agg.unattributed,
    hours,
    top_scanner_ips: top(entries, (e) => e.scanner, topN),
    top_signal_ips: top(entries, (e) => e.signals, topN),
    approximate: ips.evicted > 0 || agg.outsideHours > 0,
    limits: {
      max_ips: ips.cap,
      ips_tracked: ips.map.size,
      ips_evicted: ips.evicted,
      blocked_ips_evicted: ips.evictedBlocked,
      max_undercount: ips.maxEvictedWeight,
      max_hours: agg.limits.maxHours,
      events_outside_hours: agg.outsideHours
    }
  }
  return {
    data,
    blockedCount: blocked.length,
    blockedIps: function * () {
      for (const [k, e] of blocked) yield row(k, e)
    }
  }
}
