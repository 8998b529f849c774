// The report's command line. Hand-written rather than util.parseArgs: that
// one takes `--no-progress` only from Node 22.4 and the package runs on 20,
// and its errors do not say what was allowed.
import { DEFAULT_LIMITS } from './aggregate'
import type { Format } from './format'

/** What `report` was asked to do. Times are RFC 3339 UTC with milliseconds. */
export interface ReportArgs {
  files: string[]
  format: Format
  /** Rows per list in text, and in the JSON's top lists. */
  top: number
  since: string | undefined
  until: string | undefined
  /** Latest hours shown in the text's per-hour table; 0: all. */
  hours: number
  maxIps: number
  /** true/false when asked for, undefined: when stderr is a terminal. */
  progress: boolean | undefined
  help: boolean
}

/** Parsed arguments, or the usage error to print (exit 2). */
export type ParsedArgs = { ok: true, args: ReportArgs } | { ok: false, error: string }

export const USAGE = `Usage: appfirewall-fastify report [options] FILE...

Summarises the events appfirewall-fastify wrote: local-mode NDJSON files, or
gzip NDJSON as an ingest stores it (recognised by content, several gzip
members in one file are fine). FILE - reads stdin. Several files make one report.

Options:
  -f, --format FORMAT  text (default): a summary for people
                       json: everything, for machines
                       csv: the IPs that would have been blocked, as a
                       Cloudflare IP list upload (IP,description; IPv6 as /64)
  -n, --top N          rows per list (text) and in json's top lists (default 20)
      --since TIME     only events at or after TIME: 2026-11-25, 2026-11-25T08:00
                       (UTC unless a zone is given), or an age: 90m, 24h, 7d
      --until TIME     only events before TIME (same forms)
      --hours N        latest hours in the text's per-hour table (default 48; 0: all)
      --max-ips N      client IPs (IPv6: /64s) tallied at once (default ${DEFAULT_LIMITS.maxIps},
                       about 0.5 KB each); past it the least active are dropped
                       and per-IP counts become approximate (the report says so)
      --progress       progress on stderr (default: only when stderr is a terminal)
      --no-progress    no progress
  -h, --help           this help

stdout carries only the report; progress and malformed-line errors go to
stderr. A malformed line (not JSON, not an event, longer than 1 MiB) is
counted and skipped.

Exit status: 0 the report was printed; 1 a file could not be read to its
end (missing, unreadable, truncated gzip), the others are still reported;
2 usage error.
`

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }

/**
 * A --since/--until value as RFC 3339 UTC with milliseconds: an age (`90m`,
 * `24h`, `7d`, `2w`: that long before `nowMs`), a date (`2026-11-25`, its
 * midnight UTC), a date and time without a zone (UTC, as the events are), or
 * with one. Undefined when it is none of these.
 */
export function parseTime (text: string, nowMs: number): string | undefined {
  const age = /^(\d{1,6})([smhdw])$/.exec(text)
  if (age !== null) return new Date(nowMs - Number(age[1]) * UNITS[age[2]!]!).toISOString()
  let s = text
  if (/^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?$/.test(s)) s = s.replace(' ', 'T') + 'Z'
  else if (!/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?([Zz]|[+-]\d{2}:?\d{2}))?$/.test(s)) return undefined
  const ms = Date.parse(s.replace(' ', 'T'))
  if (!Number.isFinite(ms)) return undefined
  return new Date(ms).toISOString()
}

function count (name: string, value: string, min: number, max: number): number | string {
  if (!/^\d{1,9}$/.test(value)) return `${name} takes a whole number, got "${value}"`
  const n = Number(value)
  if (n < min || n > max) return `${name} takes a number from ${min} to ${max}, got ${n}`
  return n
}

/** Parses the arguments after `report`. `nowMs` anchors ages such as `--since 24h`. */
export function parseReportArgs (argv: readonly string[], nowMs: number): ParsedArgs {
  const args: ReportArgs = {
    files: [],
    format: 'text',
    top: 20,
    since: undefined,
    until: undefined,
    hours: 48,
    maxIps: DEFAULT_LIMITS.maxIps,
    progress: undefined,
    help: false
  }
  let options = true
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (!options || arg === '-' || !arg.startsWith('-')) {
      args.files.push(arg)
      continue
    }
    if (arg === '--') {
      options = false
      continue
    }
    let name = arg
    let value: string | undefined
    const eq = arg.indexOf('=')
    if (arg.startsWith('--') && eq !== -1) {
      name = arg.slice(0, eq)
      value = arg.slice(eq + 1)
    }
    const takeValue = (): string | undefined => {
      if (value !== undefined) return value
      const next = argv[i + 1]
      if (next === undefined) return undefined
      i++
      return next
    }
    const flag = (): string | undefined => value === undefined ? undefined : `${name} takes no value`
    switch (name) {
      case '-h':
      case '--help': {
        const e = flag()
        if (e !== undefined) return { ok: false, error: e }
        args.help = true
        break
      }
      case '--progress':
      case '--no-progress': {
        const e = flag()
        if (e !== undefined) return { ok: false, error: e }
        args.progress = name === '--progress'
        break
      }
      case '-f':
      case '--format': {
        const v = takeValue()
        if (v !== 'text' && v !== 'json' && v !== 'csv') return { ok: false, error: `${name} takes text, json or csv, got ${v === undefined ? 'nothing' : `"${v}"`}` }
        args.format = v
        break
      }
      case '-n':
      case '--top':
      case '--hours':
      case '--max-ips': {
        const v = takeValue()
        if (v === undefined) return { ok: false, error: `${name} takes a number` }
        const n = name === '--hours' ? count(name, v, 0, 1_000_000) : name === '--max-ips' ? count(name, v, 100, 10_000_000) : count(name, v, 1, 1_000_000)
        if (typeof n === 'string') return { ok: false, error: n }
        if (name === '--hours') args.hours = n
        else if (name === '--max-ips') args.maxIps = n
        else args.top = n
        break
      }
      case '--since':
      case '--until': {
        const v = takeValue()
        const t = v === undefined ? undefined : parseTime(v, nowMs)
        if (t === undefined) return { ok: false, error: `${name} takes a time (2026-11-25, 2026-11-25T08:00, 2026-11-25T08:00:00+01:00) or an age (90m, 24h, 7d), got ${v === undefined ? 'nothing' : `"${v}"`}` }
        if (name === '--since') args.since = t
        else args.until = t
        break
      }
      default:
        return { ok: false, error: `unknown option ${name}` }
    }
  }
  if (args.help) return { ok: true, args }
  if (args.files.length === 0) return { ok: false, error: 'no FILE given (use - for stdin)' }
  if (args.files.filter((f) => f === '-').length > 1) return { ok: false, error: 'stdin (-) can be read only once' }
  if (args.since !== undefined && args.until !== undefined && args.since >= args.until) {
    return { ok: false, error: `--since (${args.since}) must be before --until (${args.until})` }
  }
  return { ok: true, args }
}
