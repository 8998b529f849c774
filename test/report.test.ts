// Issue 12, item 3: `appfirewall-fastify report FILE...`. Events written by a
// real Fastify app in local mode (and the same lines gzip-compressed as an
// ingest stores them) are read back by the command, in-process with injected
// streams and as the real bin/ in a child process; the numbers of its three
// formats are asserted. Malformed, overlong and truncated input, missing
// files, stdin and usage errors each have a test; test/report-memory.test.ts
// holds the large-file one.
import { test, type Test } from 'tap'
import { PassThrough, Readable } from 'node:stream'
import { spawn } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { gzipSync } from 'node:zlib'
import type { InjectOptions } from 'fastify'
import { main, type CliIo } from '../lib/report/cli'
import { Aggregator, clientKey, normTs } from '../lib/report/aggregate'
import { LineSplitter } from '../lib/report/lines'
import { parseReportArgs, parseTime } from '../lib/report/args'
import { csvDescription } from '../lib/report/format'
import type { ReportData } from '../lib/report/summary'
import { localApp, tempDir } from './fixtures'

const root = resolve(__dirname, '..')
const bin = join(root, 'bin', 'appfirewall-fastify.js')
const built = existsSync(join(root, 'dist', 'report', 'cli.js'))
const NOW = Date.parse('2026-11-25T12:00:00.000Z')

interface Run {
  code: number
  stdout: string
  stderr: string
}

/** The command in-process, with its own stdout and stderr (stderr not a terminal: no progress unless asked). */
async function cli (argv: string[], stdin: Readable = Readable.from([]), now: () => number = () => NOW): Promise<Run> {
  const stdout = new PassThrough()
  const stderr = new PassThrough()
  let out = ''
  let err = ''
  stdout.on('data', (c) => { out += String(c) })
  stderr.on('data', (c) => { err += String(c) })
  const io: CliIo = { stdout, stderr, stdin, now }
  const code = await main(argv, io)
  return { code, stdout: out, stderr: err }
}

async function json (argv: string[], stdin?: Readable): Promise<ReportData> {
  const r = await cli(['report', '--format', 'json', ...argv], stdin)
  return JSON.parse(r.stdout) as ReportData
}

/** bin/appfirewall-fastify.js in a child process (needs dist/: `npm test` builds it first); bounded to 20 s. */
function spawnBin (args: string[], stdin?: Buffer): Promise<Run> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = { ...process.env }
    delete env.NODE_OPTIONS
    const child = spawn(process.execPath, [bin, ...args], { stdio: ['pipe', 'pipe', 'pipe'], env })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (c) => { stdout += String(c) })
    child.stderr.on('data', (c) => { stderr += String(c) })
    const timer = setTimeout(() => { child.kill('SIGKILL') }, 20_000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code: code ?? -1, stdout, stderr })
    })
    child.stdin.end(stdin)
  })
}

/** Through a Cloudflare edge address, so that cf-connecting-ip and cf-ipcountry are believed. */
function viaCloudflare (ip: string, url: string, headers: Record<string, string> = {}, extra: Partial<InjectOptions> = {}): InjectOptions {
  return { url, remoteAddress: '173.245.48.10', headers: { 'cf-connecting-ip': ip, 'cf-ipcountry': 'NL', ...headers }, ...extra }
}

const BROWSER = { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0', 'accept-language': 'en' }

/**
 * A real app in local mode and known traffic; resolves its event file.
 *  - 203.0.113.66 (sqlmap): /.git/config and /.env (certain), /wp-login.php (likely), / (200)
 *  - 2001:db8:1:2::5 and 2001:db8:1:2::77 (one /64, a browser): /.git/HEAD each (certain)
 *  - 198.51.100.9: three failed logins (auth signal), one recorded auth.login_failed each
 *  - 192.0.2.3 (not through Cloudflare): a body that is not JSON (parse signal)
 *  - 192.0.2.10 (a browser): / twice, /favicon.ico (benign-miss), /old-page (unknown)
 */
async function realEvents (t: Test): Promise<string> {
  const { app, file, events } = await localApp(t)
  app.get('/', async () => 'ok')
  app.post('/login', async (request, reply) => {
    request.appfirewall.record('auth.login_failed', { user: 'admin' })
    return await reply.code(401).send({ error: 'no' })
  })
  const sqlmap = { 'user-agent': 'sqlmap/1.8' }
  for (const url of ['/.git/config', '/.env', '/wp-login.php', '/']) await app.inject(viaCloudflare('203.0.113.66', url, sqlmap))
  await app.inject(viaCloudflare('2001:db8:1:2::5', '/.git/HEAD', BROWSER))
  await app.inject(viaCloudflare('2001:db8:1:2::77', '/.git/HEAD', BROWSER))
  for (let i = 0; i < 3; i++) {
    await app.inject(viaCloudflare('198.51.100.9', '/login', { 'user-agent': 'curl/8.5.0', 'content-type': 'application/json' }, { method: 'POST', payload: JSON.stringify({ user: 'admin', password: `guess${i}` }) }))
  }
  await app.inject({ method: 'POST', url: '/login', remoteAddress: '192.0.2.3', headers: { 'content-type': 'application/json' }, payload: '{not json' })
  for (const url of ['/', '/', '/favicon.ico', '/old-page']) await app.inject({ url, remoteAddress: '192.0.2.10', headers: BROWSER })
  const written = await events()
  t.equal(written.length, 14 + 3, 'the app wrote one event per request and one per record()')
  return file
}

test('a real app\'s local-mode file: JSON, text and CSV say what happened', async (t) => {
  const file = await realEvents(t)
  const r = await json([file])
  t.equal(r.totals.events, 17)
  t.equal(r.totals.malformed, 0)
  t.same(r.types, { http_request: 14, custom: 3 })
  t.same(r.classes, { '(none)': 7, scanner: 5, 'benign-miss': 1, unknown: 1 }, 'every request classified or not; the parse error answered 400 is not a miss')
  t.same(r.certainty, { certain: 4, likely: 1 })
  t.same(r.rules, { vcs: 3, dotfile: 1, wordpress: 1 })
  t.same(r.signals, { auth: 3, parse: 1 })
  t.same(r.custom_names, { 'auth.login_failed': 3 })
  t.same(r.ua_classes, { sqlmap: 4 })
  t.equal(r.would_block.ips, 2, 'the sqlmap client and the IPv6 /64')

  const [top, v6] = r.top_scanner_ips
  t.match(top, { ip: '203.0.113.66', scanner: 3, certain: 2, ua_class: 'sqlmap', country: 'NL', rules: { vcs: 1, dotfile: 1, wordpress: 1 } })
  t.match(v6, { ip: '2001:db8:1:2::/64', scanner: 2, certain: 2, rules: { vcs: 2 } }, 'two addresses of one /64 are one client')
  t.same(r.top_signal_ips.map((e) => [e.ip, e.signals, e.signal_kinds]), [['198.51.100.9', 3, { auth: 3 }], ['192.0.2.3', 1, { parse: 1 }]])
  t.notOk(r.top_scanner_ips.some((e) => e.ip === '192.0.2.10'), 'a user with a benign and an unknown miss is no scanner')
  t.equal(r.hours.reduce((s, h) => s + h.events, 0), 17)
  t.equal(r.hours.reduce((s, h) => s + h.scanner, 0), 5)
  t.equal(r.approximate, false)

  const csv = await cli(['report', '--format', 'csv', file])
  t.equal(csv.code, 0)
  t.equal(csv.stderr, '')
  const rows = csv.stdout.trim().split('\n')
  t.equal(rows.length, 2)
  t.ok(rows.every((l) => /^[0-9a-f.:/]+,appfirewall [A-Za-z0-9 ._:/()+-]+$/.test(l)), 'IP,description per line, no header, no quoting needed')
  t.same(rows.map((l) => l.split(',')[0]).sort(), ['2001:db8:1:2::/64', '203.0.113.66'], 'IPv6 as its /64, which a Cloudflare list accepts')

  const text = await cli(['report', file])
  t.equal(text.code, 0)
  t.match(text.stdout, /Events: 17, /)
  t.match(text.stdout, /^ {4}scanner +5 +certain 4, likely 1$/m)
  t.match(text.stdout, /Would have been blocked: \d+ requests from 2 IPs/)
  t.match(text.stdout, /^ {2}203\.0\.113\.66 +3 +2 +0 +\d+ +0 +NL +sqlmap .*vcs 1/m)
  t.match(text.stdout, /Per hour \(UTC\)/)
  t.notMatch(text.stdout, /Approximate/)
})

test('gzip NDJSON as an ingest stores it (two concatenated members), through the real bin, equals the plain file', async (t) => {
  const file = await realEvents(t)
  const lines = readFileSync(file, 'utf8')
  const cut = lines.indexOf('\n', lines.length >> 1) + 1
  const gz = join(tempDir(), 'batch.ndjson.gz')
  writeFileSync(gz, Buffer.concat([gzipSync(lines.slice(0, cut)), gzipSync(lines.slice(cut))]))
  const plain = await json([file])
  const zipped = await json([gz])
  t.equal(zipped.files[0]?.gzip, true)
  t.equal(zipped.totals.events, plain.totals.events)
  t.same(zipped.top_scanner_ips, plain.top_scanner_ips)
  t.same(zipped.hours, plain.hours)

  // npm test builds first; a missing build fails here rather than leaving the bin untested.
  t.ok(built, 'dist/report/cli.js exists (run npm run build)')
  if (!built) return
  const child = await spawnBin(['report', '--format', 'csv', gz, file])
  t.equal(child.code, 0, child.stderr)
  t.equal(child.stderr, '', 'no progress when stderr is not a terminal')
  t.equal(child.stdout.trim().split('\n').length, 2, 'two files, one report')
  t.match(child.stdout, /^203\.0\.113\.66,appfirewall would_block \d+ scanner 6 \(vcs dotfile wordpress\) tool sqlmap /m)

  const fromStdin = await spawnBin(['report', '--format', 'json', '-'], readFileSync(gz))
  t.equal(fromStdin.code, 0)
  t.equal((JSON.parse(fromStdin.stdout) as ReportData).totals.events, 17, 'gzip on stdin is recognised too')

  const help = await spawnBin(['--help'])
  t.equal(help.code, 0)
  t.match(help.stdout, /report/)
  const unknown = await spawnBin(['frobnicate'])
  t.equal(unknown.code, 2)
  t.equal(unknown.stdout, '')
  t.match(unknown.stderr, /unknown command "frobnicate"[\s\S]*Usage:/)
})

const EV = (ip: string, extra = ''): string =>
  `{"type":"http_request","ts":"2026-11-25T08:00:00.000Z","ip":"${ip}","method":"GET","path":"/.env","status":404,"classification":"scanner","certainty":"certain","rule":"dotfile","would_block":true${extra}}`

test('malformed lines are counted and skipped, each named by file and line on stderr', async (t) => {
  const dir = tempDir()
  const file = join(dir, 'mixed.ndjson')
  const long = '{"type":"custom","name":"' + 'x'.repeat(1024 * 1024 + 10) + '"}'
  writeFileSync(file, [
    EV('192.0.2.1'), // 1
    'not json at all', // 2
    '', // 3: blank, skipped silently
    '[1,2,3]', // 4
    '{"no":"type"}', // 5
    long, // 6: over 1 MiB
    EV('192.0.2.1') + '\r', // 7: CRLF
    '{"type":"http_request","ts":"2026-11-25T08:00:00.000Z","ip":"192.0.2.1"' // 8: cut short, no newline
  ].join('\n'))
  const r = await cli(['report', '--format', 'json', file])
  t.equal(r.code, 0, 'malformed lines do not fail the run')
  const data = JSON.parse(r.stdout) as ReportData
  t.equal(data.totals.lines, 8)
  t.equal(data.totals.events, 2)
  t.equal(data.totals.malformed, 5)
  t.same(data.files[0], { path: file, gzip: false, bytes: readFileSync(file).length, lines: 8, events: 2, malformed: 5, error: null })
  for (const [line, why] of [[2, /not JSON/], [4, /not an event \(a JSON array/], [5, /not an event \(no "type"\)/], [6, /longer than 1048576 bytes/], [8, /not JSON/]] as const) {
    t.match(r.stderr, new RegExp(`mixed\\.ndjson:${line}: malformed line skipped: ${why.source}`), `line ${line}`)
  }
  t.match(r.stderr, /5 malformed lines skipped \(.*mixed\.ndjson: 5\)/)
  t.ok(r.stderr.length < 4000, 'an overlong line is not echoed')
  t.equal(data.blocked_ips[0]?.would_block, 2)
})

test('a line longer than the cap is dropped as it streams, never held whole', async (t) => {
  const lines: string[] = []
  const over: Array<[number, number]> = []
  const s = new LineSplitter((text, n) => lines.push(`${n}:${text}`), (n, bytes) => over.push([n, bytes]), 16)
  const feed = 'short\n' + 'y'.repeat(100) + '\nok\r\n\nlast'
  // One byte at a time: every chunk boundary falls everywhere.
  for (const b of Buffer.from(feed)) {
    s.push(Buffer.from([b]))
    t.ok((s as unknown as { pendingBytes: number }).pendingBytes <= 16)
  }
  s.end()
  t.same(lines, ['1:short', '3:ok', '5:last'])
  t.same(over, [[2, 100]])
  const s2 = new LineSplitter(() => {}, (n, bytes) => over.push([n, bytes]), 16)
  s2.push(Buffer.from('z'.repeat(40)))
  s2.end()
  t.same(over[1], [1, 40], 'an overlong last line without a newline')
})

test('a truncated gzip file: the lines before the cut are reported, exit 1, the error names the file', async (t) => {
  const dir = tempDir()
  const whole = Array.from({ length: 2000 }, (_, i) => EV(`198.51.100.${i % 200}`)).join('\n') + '\n'
  const gz = gzipSync(whole)
  const file = join(dir, 'cut.ndjson.gz')
  writeFileSync(file, gz.subarray(0, gz.length >> 1))
  const other = join(dir, 'ok.ndjson')
  writeFileSync(other, EV('192.0.2.200') + '\n')
  const r = await cli(['report', '--format', 'json', file, other])
  t.equal(r.code, 1)
  t.match(r.stderr, /cut\.ndjson\.gz: truncated gzip \(unexpected end of file\)/)
  const data = JSON.parse(r.stdout) as ReportData
  t.match(data.files[0], { gzip: true, error: /truncated gzip/ })
  t.ok(data.files[0]!.events > 0 && data.files[0]!.events < 2000, `some events before the cut (${data.files[0]!.events})`)
  t.same(data.files[1], { path: other, gzip: false, bytes: readFileSync(other).length, lines: 1, events: 1, malformed: 0, error: null }, 'the next file is still read')
  const text = await cli(['report', file])
  t.match(text.stdout, /NOT READ TO THE END: truncated gzip/)
})

test('a missing file: exit 1, named on stderr, the other files still reported', async (t) => {
  const dir = tempDir()
  const ok = join(dir, 'ok.ndjson')
  writeFileSync(ok, EV('192.0.2.7') + '\n')
  const r = await cli(['report', '--format', 'csv', join(dir, 'nope.ndjson'), ok, dir])
  t.equal(r.code, 1)
  t.match(r.stderr, /nope\.ndjson: no such file/)
  t.match(r.stderr, /: is a directory/)
  t.equal(r.stdout, '192.0.2.7,appfirewall would_block 1 scanner 1 (dotfile) 2026-11-25T08:00Z to 2026-11-25T08:00Z\n')
})

test('stdin (-), plain and gzip, and with files', async (t) => {
  const text = [EV('192.0.2.1'), EV('192.0.2.2'), EV('192.0.2.1')].join('\n') + '\n'
  const plain = await json(['-'], Readable.from([Buffer.from(text)]))
  t.equal(plain.files[0]?.path, '(stdin)')
  t.equal(plain.totals.events, 3)
  // A pipe may deliver the gzip magic one byte at a time.
  const gz = gzipSync(text)
  const zipped = await json(['-'], Readable.from([gz.subarray(0, 1), gz.subarray(1, 5), gz.subarray(5)]))
  t.equal(zipped.files[0]?.gzip, true)
  t.same(zipped.blocked_ips.map((e) => [e.ip, e.would_block]), [['192.0.2.1', 2], ['192.0.2.2', 1]])
  const empty = await json(['-'])
  t.equal(empty.totals.events, 0)
  t.same(empty.hours, [])
})

test('usage: --help, errors exit 2 with a hint, progress only when asked or on a terminal', async (t) => {
  const help = await cli(['report', '--help'])
  t.equal(help.code, 0)
  t.match(help.stdout, /--format FORMAT[\s\S]*Exit status/)
  for (const argv of [['report'], ['report', '--format', 'xml', 'f'], ['report', '--top', '0', 'f'], ['report', '--since', 'yesterday', 'f'],
    ['report', '--bogus', 'f'], ['report', '-', '-'], ['report', '--since', '2026-11-26', '--until', '2026-11-25', 'f'], ['report', '--progress=yes', 'f'], [], ['nope']]) {
    const r = await cli(argv)
    t.equal(r.code, 2, argv.join(' '))
    t.equal(r.stdout, '', 'nothing on stdout')
    t.not(r.stderr, '')
  }
  const file = join(tempDir(), 'e.ndjson')
  writeFileSync(file, EV('192.0.2.1') + '\n')
  const quiet = await cli(['report', file])
  t.notMatch(quiet.stderr, /MiB/, 'no progress on a stderr that is not a terminal')
  const progress = await cli(['report', '--progress', file])
  t.equal(progress.code, 0)
  t.notMatch(progress.stderr, /MiB/, 'a file read within the first 2 s shows no progress')
  const version = await cli(['--version'])
  t.match(version.stdout, /^\d+\.\d+\.\d+/)
})

test('progress: on stderr every 2 s when asked, redrawn in place on a terminal, cleared before an error line and at the end', async (t) => {
  const file = join(tempDir(), 'p.ndjson')
  writeFileSync(file, Array.from({ length: 3 }, () => EV('192.0.2.1')).join('\n') + '\n')
  let clock = NOW
  const ticking = (): number => (clock += 2500)
  // Chunks of a stdin pipe, each a tick of the clock.
  const chunks = (): Readable => Readable.from([EV('192.0.2.1') + '\n', 'oops\n', EV('192.0.2.2') + '\n'].map((l) => Buffer.from(l)))
  const plain = await cli(['report', '--progress', '-'], chunks(), ticking)
  t.match(plain.stderr, /^\(stdin\): 0\.0 MiB, 1 lines, 0\.0 MiB\/s\n/, 'a line per report on a pipe or a file')
  t.notMatch(plain.stderr, /\r/)
  t.equal(plain.stdout.includes('MiB/s'), false, 'never on stdout')

  const stderr = new PassThrough()
  Object.assign(stderr, { isTTY: true })
  let err = ''
  stderr.on('data', (c) => { err += String(c) })
  const stdout = new PassThrough()
  stdout.resume()
  t.equal(await main(['report', file, '-'], { stdout, stderr, stdin: chunks(), now: ticking }), 0)
  // eslint-disable-next-line no-control-regex -- the escape sequence is what is tested
  t.match(err, /\r\(stdin\): [^\n]*\u001b\[K/, 'drawn in place on a terminal')
  // eslint-disable-next-line no-control-regex -- the escape sequence is what is tested
  t.match(err, /\r\u001b\[K[^\r]*\(stdin\):2: malformed line skipped/, 'cleared before an error line')
  t.match(err, /p\.ndjson: 100% /, 'a file shows its percentage')
  const noProgress = await cli(['report', '--no-progress', '-'], chunks(), ticking)
  t.notMatch(noProgress.stderr, /MiB/)
})

test('--since and --until keep a window of events (UTC), ages are relative to now', async (t) => {
  const file = join(tempDir(), 'days.ndjson')
  const at = (ts: string, ip: string): string => `{"type":"http_request","ts":"${ts}","ip":"${ip}","method":"GET","path":"/.env","status":404,"classification":"scanner","certainty":"certain","rule":"dotfile"}`
  writeFileSync(file, [at('2026-11-24T23:59:59.999Z', '192.0.2.1'), at('2026-11-25T00:00:00.000Z', '192.0.2.2'), at('2026-11-25T11:30:00.000Z', '192.0.2.3'),
    '{"type":"custom","name":"no ts"}'].join('\n') + '\n')
  const day = await json(['--since', '2026-11-25', '--until', '2026-11-25T11:00', file])
  t.equal(day.totals.events, 1)
  t.equal(day.totals.filtered_out, 3, 'an event without a time is outside any window')
  t.same(day.top_scanner_ips.map((e) => e.ip), ['192.0.2.2'])
  t.same(day.window, { since: '2026-11-25T00:00:00.000Z', until: '2026-11-25T11:00:00.000Z' })
  const lastHour = await json(['--since', '1h', file])
  t.same(lastHour.top_scanner_ips.map((e) => e.ip), ['192.0.2.3'])
  const all = await json([file])
  t.equal(all.totals.events, 4)
  t.equal(all.totals.without_ts, 1)
  t.equal(parseTime('2026-11-25T08:00:00+02:00', NOW), '2026-11-25T06:00:00.000Z')
  t.equal(parseTime('7d', NOW), '2026-11-18T12:00:00.000Z')
  t.equal(parseTime('2026-13-45', NOW), undefined)
  t.same(parseReportArgs(['--top=5', '--max-ips', '1000', '--no-progress', '--', '-weird-name'], NOW), {
    ok: true,
    args: { files: ['-weird-name'], format: 'text', top: 5, since: undefined, until: undefined, hours: 48, maxIps: 1000, progress: false, help: false }
  })
})

test('the per-IP table is capped: a flood of one-probe IPs never pushes out a blocked one, and the report says it is approximate', async (t) => {
  const agg = new Aggregator({ maxIps: 100, maxHours: 10, maxNames: 50 })
  const ev = (ip: string, extra: Record<string, unknown> = {}): Record<string, unknown> =>
    ({ type: 'http_request', ts: '2026-11-25T08:00:00.000Z', ip, status: 404, classification: 'scanner', certainty: 'likely', rule: 'wordpress', ...extra })
  agg.add(ev('192.0.2.66', { would_block: true }))
  for (let i = 0; i < 50; i++) agg.add(ev('192.0.2.99'))
  for (let i = 0; i < 5000; i++) agg.add(ev(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`))
  t.ok(agg.ips.map.size <= 100)
  t.ok(agg.ips.map.has('192.0.2.66'), 'the blocked IP stays')
  t.equal(agg.ips.map.get('192.0.2.99')?.scanner, 50, 'a heavy hitter keeps its exact count')
  t.equal(agg.ips.maxEvictedWeight, 1)
  t.ok(agg.ips.evicted > 4000)
  // Distinct hours past the cap, and names past theirs.
  for (let h = 0; h < 20; h++) agg.add({ type: `t${h}`, ts: `2026-11-${10 + h}T08:00:00.000Z`, ip: '192.0.2.1', rule: `r${h}-${'x'.repeat(300)}` })
  t.equal(agg.hours.size, 10)
  t.equal(agg.outsideHours, 10, 'the 25th had its hour already; 9 new hours fit, 10 did not')
  t.ok([...agg.rules.counts.keys()].every((k) => k.length <= 200), 'names are clipped')

  const file = join(tempDir(), 'flood.ndjson')
  writeFileSync(file, [EV('192.0.2.66'), ...Array.from({ length: 500 }, (_, i) => EV(`10.0.${i >> 8}.${i & 255}`).replace(',"would_block":true', ''))].join('\n'))
  const r = await cli(['report', '--max-ips', '100', file])
  t.match(r.stdout, /Approximate: more than 100 IPs .* may be up to 1 short/)
  const data = await json(['--max-ips', '100', file])
  t.equal(data.approximate, true)
  t.same(data.blocked_ips.map((e) => e.ip), ['192.0.2.66'])
})

test('hostile content: no terminal escapes in text, no CSV metacharacters, odd IPs and times handled', async (t) => {
  const file = join(tempDir(), 'hostile.ndjson')
  writeFileSync(file, [
    EV('192.0.2.5', ',"ua_class":"evil\\u001b[31m,\\"x\\"\\n=cmd","cf_country":"\\u001b]0;pwn\\u0007"').replace('"rule":"dotfile"', '"rule":"a,b\\u001b[2J"'),
    EV('::ffff:192.0.2.5'),
    EV('0.0.0.0'),
    EV('not-an-ip'),
    EV('2001:DB8:0:0:1:0:0:1'),
    '{"type":"http_request","ts":"2026-11-25T10:00:00+02:00","ip":"192.0.2.6","status":"404","classification":7,"would_block":"yes"}'
  ].join('\n') + '\n')
  const text = await cli(['report', file])
  t.notOk(text.stdout.includes('\u001b'), 'no escape character reaches the terminal')
  t.notOk(text.stdout.includes('\u0007'))
  t.match(text.stdout, /evil\?\[31m/, 'shown, made printable')
  const csv = await cli(['report', '--format', 'csv', file])
  const rows = csv.stdout.trim().split('\n')
  t.same(rows.map((l) => l.split(',')[0]), ['192.0.2.5', '2001:db8::/64'], 'a mapped IPv4 is that IPv4; an IPv6 in any spelling is its canonical /64; no IP, no row')
  t.ok(rows.every((l) => l.split(',').length === 2 && !l.includes('"')), 'one comma per row')
  const data = await json([file])
  t.equal(data.unattributed, 2, '0.0.0.0 and a non-IP are counted, not listed')
  t.equal(data.hours.find((h) => h.hour === '2026-11-25T08:00:00Z')?.events, 6, 'an offset time is read as UTC')
  t.equal(data.would_block.events, 5, 'only the JSON true marks')
  t.equal(clientKey('2001:db8::1%eth0'), '2001:db8::/64')
  t.equal(clientKey(42), undefined)
  t.equal(normTs('yesterday'), undefined)
  t.match(csvDescription({ ip: '192.0.2.1', scanner: 1, certain: 0, signals: 1, would_block: 1, blocked: 0, attack_tool: 0, rules: { 'a,b': 1 }, signal_kinds: { 'x"y': 1 }, ua_class: null, country: null, first_seen: null, last_seen: null }),
    /^appfirewall would_block 1 scanner 1 \(a_b\) signals 1 \(x_y\)$/)
})
