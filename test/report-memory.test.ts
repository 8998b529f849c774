// The report's memory does not grow with its input. A file of about 130 MB
// is generated on the fly: 220 000 events from 250 000 distinct client keys
// (five times the per-IP table's default cap), and one 80 MiB line without a
// newline for a while, as a corrupt or hostile file could hold. The real
// bin/ reads it in a child whose V8 old space is capped at 48 MB (a report
// that kept every IP, or buffered the long line as a string, runs out of
// heap and dies) and which prints its peak RSS when it exits (a report that
// buffered the long line off the heap, as a Buffer, passes the RSS bound).
import { test } from 'tap'
import { spawn } from 'node:child_process'
import { closeSync, existsSync, openSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs'
import { join, resolve } from 'node:path'
import type { ReportData } from '../lib/report/summary'
import { tempDir } from './fixtures'

const root = resolve(__dirname, '..')
const bin = join(root, 'bin', 'appfirewall-fastify.js')
const built = existsSync(join(root, 'dist', 'report', 'cli.js'))

/** Peak RSS the report may reach, in MiB: about 150 on Node 20 and 24 whatever the file (benchmarks/report.bench.js), plus room. */
const RSS_BOUND_MIB = 220
const LONG_LINE = 80 * 1024 * 1024

function v4 (n: number): string {
  return `${11 + ((n >>> 24) % 200)}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`
}

/** Writes the test file; resolves the number of events in it and how many of them were scanner 404s. */
function generate (file: string): { events: number, scanner: number } {
  const fd = openSync(file, 'w')
  let events = 0
  let scanner = 0
  const start = Date.parse('2026-11-20T00:00:00.000Z')
  for (let block = 0; block < 22; block++) {
    let chunk = ''
    for (let i = 0; i < 10_000; i++) {
      const n = block * 10_000 + i
      const ts = new Date(start + n * 1000).toISOString()
      if (n % 4 === 0) {
        chunk += `{"type":"http_request","ts":"${ts}","ip":"${v4(n * 2654435761)}","method":"GET","path":"/","status":200,"ua":"Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0","cf_country":"DE","environment":"prod"}\n`
      } else {
        // 250 000 distinct keys: most IPv4 addresses probe once or twice, IPv6 clients each from their own /64.
        const ip = n % 4 === 1 ? `2001:db8:${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}::1` : v4(7_000_000 + (n % 200_000))
        chunk += `{"type":"http_request","ts":"${ts}","ip":"${ip}","method":"GET","path":"/.env","status":404,"ua":"python-requests/2.32","cf_country":"US","classification":"scanner","certainty":"certain","rule":"dotfile","would_block":true,"environment":"prod"}\n`
        scanner++
      }
      events++
    }
    writeSync(fd, chunk)
    if (block === 10) {
      // The long line, written in pieces: the test itself stays small.
      const piece = Buffer.alloc(1024 * 1024, 'x')
      for (let k = 0; k < LONG_LINE / piece.length; k++) writeSync(fd, piece)
      writeSync(fd, '\n')
    }
  }
  closeSync(fd)
  return { events, scanner }
}

test('a ~130 MB file with 250 000 client keys and an 80 MiB line: bounded heap and RSS, the right totals', {
  timeout: 60_000
}, async (t) => {
  // npm test builds first; a missing build fails here rather than skipping the bound.
  t.ok(built, 'dist/report/cli.js exists (run npm run build)')
  if (!built) return
  const dir = tempDir('afw-report-mem-')
  const file = join(dir, 'big.ndjson')
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const want = generate(file)
  const size = statSync(file).size
  t.ok(size > 120 * 1024 * 1024, `generated ${(size / 1048576).toFixed(0)} MiB`)
  const probe = join(dir, 'rss-probe.js')
  writeFileSync(probe, "process.on('exit', () => { require('node:fs').writeSync(2, 'MAXRSS_KB=' + process.resourceUsage().maxRSS + '\\n') })\n")

  const env: NodeJS.ProcessEnv = { ...process.env }
  delete env.NODE_OPTIONS
  const run = await new Promise<{ code: number | null, stdout: string, stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, ['--max-old-space-size=48', '--require', probe, bin, 'report', '--format', 'json', file],
      { stdio: ['ignore', 'pipe', 'pipe'], env })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (c) => { stdout += String(c) })
    child.stderr.on('data', (c) => { stderr += String(c) })
    const timer = setTimeout(() => { child.kill('SIGKILL') }, 50_000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
  t.equal(run.code, 0, run.code === 0 ? 'exit 0' : run.stderr.slice(-2000))
  const rss = /MAXRSS_KB=(\d+)/.exec(run.stderr)
  t.ok(rss, 'the child reported its peak RSS')
  const peakMib = Number(rss?.[1]) / 1024
  t.ok(peakMib < RSS_BOUND_MIB, `peak RSS ${peakMib.toFixed(0)} MiB < ${RSS_BOUND_MIB} MiB`)

  const r = JSON.parse(run.stdout) as ReportData
  t.equal(r.totals.events, want.events)
  t.equal(r.totals.malformed, 1, 'the long line')
  t.match(run.stderr, new RegExp(`big\\.ndjson:110001: malformed line skipped: longer than 1048576 bytes \\(${LONG_LINE} bytes\\)`))
  t.equal(r.classes.scanner, want.scanner)
  t.ok(r.limits.ips_tracked <= r.limits.max_ips)
  t.ok(r.limits.ips_evicted > 0, 'the per-IP table was trimmed')
  t.equal(r.approximate, true, 'and the report says its per-IP counts are approximate')
  t.ok(r.limits.max_undercount <= 2, `counts at most ${r.limits.max_undercount} short`)
})
