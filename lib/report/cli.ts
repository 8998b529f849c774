// `appfirewall-fastify report FILE...`: reads event files one line at a
// time (never a whole file), counts them (aggregate.ts) and prints one
// report. stdout carries only the report, so it can be piped into jq or a
// file; progress and the errors of malformed lines go to stderr.
import type { Readable, Writable } from 'node:stream'
import { Aggregator, DEFAULT_LIMITS } from './aggregate'
import { parseReportArgs, USAGE } from './args'
import type { ReportArgs } from './args'
import { formatCsv, formatJson, formatText, printable } from './format'
import { LineSplitter, MAX_LINE_BYTES, openSource } from './lines'
import type { SourceInfo } from './lines'
import { summarize } from './summary'
import type { FileRow } from './summary'
import { VERSION } from '../version'

/** Where the command reads and writes, and its clock: the process's by default, injected by tests. */
export interface CliIo {
  stdout: Writable
  stderr: Writable & { isTTY?: boolean }
  stdin: Readable
  /** Epoch milliseconds. */
  now: () => number
}

const PROGRAM = 'appfirewall-fastify'

const TOP_USAGE = `Usage: ${PROGRAM} report [options] FILE...
       ${PROGRAM} --help | --version

Commands:
  report   summarise event files (local-mode NDJSON, gzip NDJSON of an ingest);
           '${PROGRAM} report --help' lists its options
`

/** Malformed lines described one by one on stderr, per run; the rest are counted, and summed up at the end. */
const MAX_LINE_ERRORS = 20

/** Exit statuses. */
export const EXIT_OK = 0
export const EXIT_UNREADABLE = 1
export const EXIT_USAGE = 2

function processIo (): CliIo {
  return { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, now: Date.now }
}

/** Resolves once `text` has been handed to the stream (or the stream failed: a closed pipe must not hang the command). */
function write (stream: Writable, text: string): Promise<void> {
  return new Promise((resolve) => {
    if (stream.destroyed) {
      resolve()
      return
    }
    stream.write(text, () => resolve())
  })
}

/**
 * Writes the pieces in turn, waiting for 'drain' whenever the stream's buffer
 * is full, so a large report is never all queued in memory. Stops when the
 * stream fails or closes (a reader that went away).
 */
async function writePieces (stream: Writable, pieces: Iterable<string>): Promise<void> {
  for (const piece of pieces) {
    if (stream.destroyed || stream.writableEnded) return
    if (!stream.write(piece)) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          stream.off('drain', done)
          stream.off('close', done)
          stream.off('error', done)
          resolve()
        }
        stream.on('drain', done)
        stream.on('close', done)
        stream.on('error', done)
      })
    }
  }
  // Resolves once what was written has been handed on.
  await write(stream, '')
}

/**
 * Runs the command line after the program name (`['report', '--format',
 * 'json', 'events.ndjson']`) and resolves the exit status: 0 report printed,
 * 1 a file could not be read to its end, 2 usage error. Never rejects for bad
 * input; a bug would.
 */
export async function main (argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  const [command, ...rest] = argv
  if (command === '-h' || command === '--help' || command === 'help') {
    await write(io.stdout, TOP_USAGE)
    return EXIT_OK
  }
  if (command === '-v' || command === '--version') {
    await write(io.stdout, VERSION + '\n')
    return EXIT_OK
  }
  if (command !== 'report') {
    await write(io.stderr, (command === undefined ? `${PROGRAM}: no command given\n` : `${PROGRAM}: unknown command "${printable(command, 80)}"\n`) + TOP_USAGE)
    return EXIT_USAGE
  }
  const parsed = parseReportArgs(rest, io.now())
  if (!parsed.ok) {
    await write(io.stderr, `${PROGRAM} report: ${parsed.error}\nTry '${PROGRAM} report --help'.\n`)
    return EXIT_USAGE
  }
  if (parsed.args.help) {
    await write(io.stdout, USAGE)
    return EXIT_OK
  }
  return report(parsed.args, io)
}

/** Runs main() with the process's argv and streams and sets process.exitCode: what bin/appfirewall-fastify.js calls. */
export function run (argv: readonly string[] = process.argv.slice(2)): void {
  // A reader that goes away early (`| head`) is not an error worth a stack trace.
  process.stdout.on('error', () => {})
  main(argv).then((code) => { process.exitCode = code }, (err: unknown) => {
    process.stderr.write(`${PROGRAM}: internal error: ${err instanceof Error ? String(err.stack) : String(err)}\n`)
    process.exitCode = EXIT_UNREADABLE
  })
}

/** A progress line on stderr: redrawn in place on a terminal (4 a second), a line every 2 s elsewhere. */
class Progress {
  private last = 0
  private drawn = false
  private start = 0

  constructor (private readonly out: Writable, private readonly tty: boolean, private readonly now: () => number) {}

  begin (): void {
    this.start = this.now()
    this.last = this.start
  }

  tick (info: SourceInfo, lines: number): void {
    const t = this.now()
    if (t - this.last < (this.tty ? 250 : 2000)) return
    this.last = t
    const mib = (n: number): string => (n / 1048576).toFixed(1)
    const rate = info.rawBytes / Math.max(0.001, (t - this.start) / 1000)
    const pct = info.totalBytes !== undefined && info.totalBytes > 0 ? `${Math.min(100, Math.floor(info.rawBytes * 100 / info.totalBytes))}% ` : ''
    const of = info.totalBytes !== undefined ? `/${mib(info.totalBytes)}` : ''
    const text = `${printable(info.name, 60)}: ${pct}${mib(info.rawBytes)}${of} MiB${info.gzip ? ' (gzip)' : ''}, ${lines} lines, ${mib(rate)} MiB/s`
    this.out.write(this.tty ? `\r${text}\x1b[K` : text + '\n')
    this.drawn = this.tty
  }

  /** Clears a line drawn in place, before anything else is written to stderr. */
  clear (): void {
    if (!this.drawn) return
    this.out.write('\r\x1b[K')
    this.drawn = false
  }
}

function describe (err: unknown): string {
  const e = err as NodeJS.ErrnoException | undefined
  const code = e?.code
  if (code === 'ENOENT') return 'no such file'
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied'
  if (code === 'EISDIR') return 'is a directory'
  if (code === 'Z_BUF_ERROR' || e?.message === 'unexpected end of file') return 'truncated gzip (unexpected end of file); the lines before the cut are counted'
  if (code === 'Z_DATA_ERROR') return `corrupt gzip (${String(e?.message)}); the lines before it are counted`
  return e instanceof Error ? `${code ?? e.name}: ${e.message}` : String(err)
}

async function report (args: ReportArgs, io: CliIo): Promise<number> {
  const agg = new Aggregator({ ...DEFAULT_LIMITS, maxIps: args.maxIps }, { since: args.since, until: args.until })
  const progress = (args.progress ?? io.stderr.isTTY === true) ? new Progress(io.stderr, io.stderr.isTTY === true, io.now) : undefined
  const files: FileRow[] = []
  let described = 0
  let status = EXIT_OK

  for (const path of args.files) {
    const name = path === '-' ? '-' : path
    const row: FileRow = { path: name === '-' ? '(stdin)' : name, gzip: false, bytes: 0, lines: 0, events: 0, malformed: 0, error: null }
    files.push(row)
    const info: SourceInfo = { name: row.path, gzip: false, rawBytes: 0, totalBytes: undefined }
    const lineError = (lineNo: number, why: string): void => {
      row.malformed++
      if (described < MAX_LINE_ERRORS) {
        progress?.clear()
        io.stderr.write(`${PROGRAM} report: ${printable(row.path, 200)}:${lineNo}: malformed line skipped: ${why}\n`)
      } else if (described === MAX_LINE_ERRORS) {
        progress?.clear()
        io.stderr.write(`${PROGRAM} report: further malformed lines are counted, not shown\n`)
      }
      described++
    }
    const splitter = new LineSplitter((text, lineNo) => {
      let value: unknown
      try {
        value = JSON.parse(text)
      } catch (err) {
        lineError(lineNo, 'not JSON (' + printable(err instanceof Error ? err.message : String(err), 120) + ')')
        return
      }
      const why = agg.add(value)
      if (why === undefined) row.events++
      else lineError(lineNo, why)
    }, (lineNo, bytes) => {
      lineError(lineNo, `longer than ${MAX_LINE_BYTES} bytes (${bytes} bytes)`)
    })
    progress?.begin()
    try {
      for await (const chunk of openSource(path, info, io.stdin)) {
        splitter.push(chunk)
        progress?.tick(info, splitter.lineNo)
      }
      splitter.end()
    } catch (err) {
      const held = splitter.abandon()
      row.error = describe(err)
      status = EXIT_UNREADABLE
      progress?.clear()
      io.stderr.write(`${PROGRAM} report: ${printable(row.path, 200)}: ${row.error}\n`)
      if (held > 0) lineError(splitter.lineNo + 1, `unfinished line of ${held} bytes where the input broke off`)
    }
    progress?.clear()
    row.gzip = info.gzip
    row.bytes = info.rawBytes
    row.lines = splitter.lineNo
  }

  const malformed = files.reduce((s, f) => s + f.malformed, 0)
  if (malformed > 0) {
    const per = files.filter((f) => f.malformed > 0).map((f) => `${printable(f.path, 200)}: ${f.malformed}`).join(', ')
    io.stderr.write(`${PROGRAM} report: ${malformed} malformed line${malformed === 1 ? '' : 's'} skipped (${per})\n`)
  }
  const summary = summarize(agg, files, args.top)
  const pieces = args.format === 'json' ? formatJson(summary) : args.format === 'csv' ? formatCsv(summary) : [formatText(summary, { top: args.top, hours: args.hours })]
  await writePieces(io.stdout, pieces)
  return status
}
