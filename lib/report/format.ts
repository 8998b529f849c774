// The three outputs of the report: text for a person at a terminal, JSON
// (the ReportData as it is) and CSV for a Cloudflare IP list upload. JSON
// and CSV are made piece by piece (generators), so that tens of thousands
// of IP rows are never all in memory as text at once.
// Every string in them came from an event file, which anyone who can reach
// the app can fill: text and CSV keep only printable characters, so a
// crafted path or rule name cannot move the terminal's cursor or add a row.
import type { HourRow, IpRow, Summary } from './summary'

/** Output formats of `--format`. */
export type Format = 'text' | 'json' | 'csv'

/** Longest name shown in a text table, in characters. */
const TEXT_NAME = 40
/** Longest description of a CSV row, in characters (Cloudflare allows 500 per list item). */
const CSV_DESCRIPTION = 200

/** `n` with thousands separators: 1234567 → `1,234,567`. */
export function num (n: number): string {
  const s = String(n)
  if (s.length <= 3 || !/^\d+$/.test(s)) return s
  let out = ''
  for (let i = 0; i < s.length; i++) {
    if (i > 0 && (s.length - i) % 3 === 0) out += ','
    out += s[i]
  }
  return out
}

/** A name from an event file made safe for a terminal: control characters become `?`, long names are cut with `…`. */
export function printable (s: string, max = TEXT_NAME): string {
  // eslint-disable-next-line no-control-regex
  const clean = s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, '?')
  return clean.length > max ? clean.slice(0, max - 1) + '…' : clean
}

function bytes (n: number): string {
  if (n < 1024) return `${n} B`
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`
  if (n < 1024 * 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MiB`
  return `${(n / 1024 / 1024 / 1024).toFixed(2)} GiB`
}

/** `2026-11-25T08:30:00.123Z` → `2026-11-25 08:30`. */
function minute (ts: string | null): string {
  return ts === null ? '-' : ts.slice(0, 10) + ' ' + ts.slice(11, 16)
}

/** Aligned columns; `right[i]` right-aligns column i (numbers). */
function table (head: string[], rows: string[][], right: boolean[]): string[] {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
  const line = (cells: string[]): string => '  ' + cells.map((c, i) => {
    const last = i === cells.length - 1
    return right[i] === true ? c.padStart(widths[i]!) : last ? c : c.padEnd(widths[i]!)
  }).join('  ').trimEnd()
  return [line(head), ...rows.map(line)]
}

/** `a 3, b 2, c 1` of the first `n` names of a counter, `…` when there are more. */
function inline (counts: Record<string, number>, n: number): string {
  const keys = Object.keys(counts)
  if (keys.length === 0) return '-'
  const shown = keys.slice(0, n).map((k) => `${printable(k, 32)} ${num(counts[k]!)}`)
  return shown.join(', ') + (keys.length > n ? `, … (${keys.length - n} more)` : '')
}

function plural (n: number, what: string): string {
  return `${num(n)} ${what}${n === 1 ? '' : 's'}`
}

function sum (counts: Record<string, number>): number {
  let s = 0
  for (const k in counts) s += counts[k]!
  return s
}

/** Options of the text format: rows per list, and how many of the latest hours to show (0: all). */
export interface TextOptions {
  top: number
  hours: number
}

/** The report for a person: what was read, events per type and class, rules, signals, the IPs that matter, per hour. */
export function formatText (s: Summary, opts: TextOptions): string {
  const r = s.data
  const out: string[] = []
  const t = r.totals
  out.push('appfirewall-fastify report')
  for (const f of r.files) {
    const what = `${f.gzip ? 'gzip, ' : ''}${bytes(f.bytes)}, ${num(f.lines)} lines, ${num(f.events)} events` +
      (f.malformed > 0 ? `, ${num(f.malformed)} malformed` : '')
    out.push(`  ${printable(f.path, 200)}: ${what}${f.error === null ? '' : `; NOT READ TO THE END: ${printable(f.error, 200)}`}`)
  }
  if (r.window.since !== null || r.window.until !== null) {
    out.push(`Window: ${r.window.since ?? 'start'} .. ${r.window.until ?? 'end'} (${num(t.filtered_out)} events outside it, not counted)`)
  }
  out.push(`Events: ${num(t.events)}` + (r.first_event === null ? '' : `, ${r.first_event} .. ${r.last_event ?? ''} (UTC)`))
  const skipped: string[] = []
  if (t.malformed > 0) skipped.push(`${num(t.malformed)} malformed lines skipped`)
  if (t.without_ts > 0) skipped.push(`${num(t.without_ts)} events without a readable ts (in no hour)`)
  if (skipped.length > 0) out.push('Note: ' + skipped.join('; '))

  out.push('', 'Events by type and class')
  const rows: string[][] = []
  for (const [type, n] of Object.entries(r.types)) {
    rows.push([printable(type), num(n), ''])
    if (type === 'http_request') {
      // Classified misses first, then what was not classified.
      const classes = Object.entries(r.classes).sort((a, b) => Number(a[0] === '(none)') - Number(b[0] === '(none)'))
      for (const [cls, m] of classes) {
        const note = cls === 'scanner'
          ? Object.entries(r.certainty).map(([c, k]) => `${printable(c, 16)} ${num(k)}`).join(', ')
          : cls === '(none)' ? 'not classified (not a miss)' : ''
        rows.push(['  ' + printable(cls), num(m), note])
      }
    } else if (type === 'custom') {
      const names = Object.entries(r.custom_names)
      for (const [name, m] of names.slice(0, opts.top)) rows.push(['  ' + printable(name), num(m), ''])
      if (names.length > opts.top) rows.push([`  … ${names.length - opts.top} more names`, '', ''])
    }
  }
  if (rows.length === 0) out.push('  (no events)')
  else out.push(...table(['type / class', 'events', ''], rows, [false, true, false]))

  out.push('')
  out.push(`Scanner rules:   ${inline(r.rules, opts.top)}`)
  out.push(`Signals:         ${inline(r.signals, opts.top)}` + (sum(r.error_codes) > 0 ? `  (codes: ${inline(r.error_codes, 5)})` : ''))
  out.push(`Attack tools:    ${inline(r.ua_classes, opts.top)}`)
  out.push(`Statuses:        ${inline(r.statuses, 12)}`)

  out.push('')
  out.push(`Would have been blocked: ${plural(r.would_block.events, 'request')} from ${plural(r.would_block.ips, 'IP')} (would_block: shadow mode, or not refusable)`)
  out.push(`Blocked (answered 429): ${plural(r.blocked.events, 'request')} from ${plural(r.blocked.ips, 'IP')}`)
  if (r.unattributed > 0) out.push(`(${num(r.unattributed)} such events had no usable client IP and are not counted per IP)`)

  ipSection(out, 'Top scanner IPs (by scanner 404s; IPv6 per /64)', r.top_scanner_ips, r.top_scanner_ips.length, opts.top)
  if (r.top_signal_ips.length > 0) ipSection(out, 'Top IPs by signals (validation, parse, auth)', r.top_signal_ips, r.top_signal_ips.length, opts.top)
  const blocked: IpRow[] = []
  for (const e of s.blockedIps()) {
    if (blocked.length === opts.top) break
    blocked.push(e)
  }
  ipSection(out, 'IPs that would have been blocked (all of them: --format csv)', blocked, s.blockedCount, opts.top)

  hourSection(out, r.hours, opts.hours)

  if (r.approximate) {
    out.push('')
    const l = r.limits
    if (l.ips_evicted > 0) {
      out.push(`Approximate: more than ${num(l.max_ips)} IPs had scanner, signal or block events; the ${num(l.ips_evicted)} least active were dropped ` +
        `(${num(l.blocked_ips_evicted)} of them marked would_block/blocked), so per-IP counts may be up to ${num(l.max_undercount)} short. Raise --max-ips for exact counts.`)
    }
    if (l.events_outside_hours > 0) out.push(`Approximate: more than ${num(l.max_hours)} distinct hours; ${num(l.events_outside_hours)} events are in no hour row.`)
  }
  return out.join('\n') + '\n'
}

function ipSection (out: string[], title: string, rows: IpRow[], total: number, n: number): void {
  out.push('', title + (total > n ? ` — top ${n} of ${num(total)}` : ''))
  if (rows.length === 0) {
    out.push('  (none)')
    return
  }
  out.push(...table(
    ['ip', 'scanner', 'certain', 'signals', 'would_block', 'blocked', 'country', 'tool', 'last seen', 'rules / signals'],
    rows.slice(0, n).map((e) => [
      printable(e.ip, 45), num(e.scanner), num(e.certain), num(e.signals), num(e.would_block), num(e.blocked),
      printable(e.country ?? '-', 8), printable(e.ua_class ?? '-', 16), minute(e.last_seen),
      [inline(e.rules, 4), Object.keys(e.signal_kinds).length > 0 ? inline(e.signal_kinds, 3) : ''].filter((s) => s !== '' && s !== '-').join('; ') || '-'
    ]),
    [false, true, true, true, true, true, false, false, false, false]))
}

function hourSection (out: string[], hours: HourRow[], latest: number): void {
  const shown = latest > 0 && hours.length > latest ? hours.slice(hours.length - latest) : hours
  out.push('', 'Per hour (UTC)' + (shown.length < hours.length ? ` — the latest ${latest} of ${num(hours.length)} hours with events (--hours 0: all)` : ''))
  if (shown.length === 0) {
    out.push('  (no events with a time)')
    return
  }
  out.push(...table(
    ['hour', 'events', 'scanner', 'signals', 'custom', 'would_block', 'blocked'],
    shown.map((h) => [minute(h.hour), num(h.events), num(h.scanner), num(h.signals), num(h.custom), num(h.would_block), num(h.blocked)]),
    [false, true, true, true, true, true, true]))
}

/** Rows of JSON text written per piece: large enough that writes are few, small enough that a piece stays small. */
const ROWS_PER_PIECE = 256

/**
 * The report as one JSON document (indented, newline-terminated), in
 * pieces: everything but `blocked_ips` first, then its rows a few hundred at
 * a time.
 */
export function * formatJson (s: Summary): Generator<string> {
  const head = JSON.stringify(s.data, null, 2)
  // `head` ends with "\n}": blocked_ips goes in as the last key.
  yield head.slice(0, head.length - 2) + ',\n  "blocked_ips": ['
  let piece = ''
  let n = 0
  for (const e of s.blockedIps()) {
    piece += (n === 0 ? '\n    ' : ',\n    ') + JSON.stringify(e, null, 2).replace(/\n/g, '\n    ')
    if (++n % ROWS_PER_PIECE === 0) {
      yield piece
      piece = ''
    }
  }
  yield piece + (n === 0 ? ']\n}\n' : '\n  ]\n}\n')
}

/** Characters a CSV description keeps; anything else (a comma, a quote, a newline) becomes `_`. */
const CSV_SAFE = /[^A-Za-z0-9 ._:/()+-]/g

/** The description of a CSV row: why the IP is listed, within Cloudflare's item comment and without CSV metacharacters. */
export function csvDescription (e: IpRow): string {
  const parts = ['appfirewall']
  if (e.would_block > 0) parts.push(`would_block ${e.would_block}`)
  if (e.blocked > 0) parts.push(`blocked ${e.blocked}`)
  if (e.scanner > 0) {
    const rules = Object.keys(e.rules).filter((k) => k !== '(other)').slice(0, 3).join(' ')
    parts.push(`scanner ${e.scanner}` + (rules === '' ? '' : ` (${rules})`))
  }
  if (e.signals > 0) parts.push(`signals ${e.signals} (${Object.keys(e.signal_kinds).slice(0, 3).join(' ')})`)
  if (e.ua_class !== null) parts.push(`tool ${e.ua_class}`)
  if (e.first_seen !== null && e.last_seen !== null) parts.push(`${e.first_seen.slice(0, 16)}Z to ${e.last_seen.slice(0, 16)}Z`)
  const text = parts.join(' ').replace(CSV_SAFE, '_')
  return text.length > CSV_DESCRIPTION ? text.slice(0, CSV_DESCRIPTION) : text
}

/**
 * The IPs that would have been blocked (marked `would_block` or `blocked`),
 * most marked first, in the CSV a Cloudflare custom IP list takes on upload:
 * one item per line, `<IP or CIDR>,<description>`, no header. IPv4 clients
 * are single addresses, IPv6 clients their /64 (`2001:db8:1:2::/64`), the
 * longest IPv6 prefix such a list accepts and the one the plugin's limiter
 * counts.
 */
export function * formatCsv (s: Summary): Generator<string> {
  let piece = ''
  let n = 0
  for (const e of s.blockedIps()) {
    piece += e.ip + ',' + csvDescription(e) + '\n'
    if (++n % ROWS_PER_PIECE === 0) {
      yield piece
      piece = ''
    }
  }
  if (piece !== '') yield piece
}
