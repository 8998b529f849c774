'use strict'
// What `appfirewall-fastify report` costs on a large file: wall time, lines
// per second and the peak RSS of the report's process.
//
//   npm run build && node benchmarks/report.bench.js            # generates 1 GiB in os.tmpdir(), deletes it after
//   node benchmarks/report.bench.js --size-mb 200               # a smaller one
//   node benchmarks/report.bench.js --gzip                      # the same events gzip-compressed, in members of 500 lines
//   node benchmarks/report.bench.js path/to/events.ndjson       # an existing file (kept)
//   node benchmarks/report.bench.js --out /tmp/e.ndjson         # generate there and keep it
//   node benchmarks/report.bench.js FILE -- --max-semi-space-size=8   # node flags for the report's process
//
// The generated traffic: 70 % ordinary requests from 300 000 user IPs, 15 %
// scanner 404s from 400 000 addresses (a few hundred of them heavy), IPv6
// clients across 50 000 /64s, signals, recorded events and would_block marks:
// more distinct IPs than --max-ips, so the per-IP table is trimmed as it would
// be on a hostile day. The report's process is started with a preload that
// prints its peak RSS (process.resourceUsage().maxRSS) when it exits.
const { spawn } = require('node:child_process')
const { openSync, writeSync, closeSync, statSync, rmSync, mkdtempSync, writeFileSync } = require('node:fs')
const { tmpdir } = require('node:os')
const { join } = require('node:path')
const { gzipSync } = require('node:zlib')

const all = process.argv.slice(2)
const dashes = all.indexOf('--')
const argv = dashes === -1 ? all : all.slice(0, dashes)
const childFlags = dashes === -1 ? [] : all.slice(dashes + 1)
const flag = (name) => argv.includes(name)
const value = (name, dflt) => {
  const i = argv.indexOf(name)
  return i === -1 ? dflt : argv[i + 1]
}
const sizeMb = Number(value('--size-mb', '1024'))
const gzip = flag('--gzip')
const out = value('--out', undefined)
const given = argv.find((a, i) => !a.startsWith('--') && !(i > 0 && (argv[i - 1] === '--size-mb' || argv[i - 1] === '--out')))

// A small deterministic generator (xorshift32): the same file every run.
let seed = 0x9e3779b9
function rand () {
  seed ^= seed << 13
  seed ^= seed >>> 17
  seed ^= seed << 5
  return (seed >>> 0) / 4294967296
}
const pick = (list) => list[Math.floor(rand() * list.length)]

const PROBES = [
  ['/.env', 'dotfile', true], ['/.git/config', 'vcs', true], ['/wp-login.php', 'wordpress', false],
  ['/wp-admin/setup-config.php', 'wordpress', false], ['/phpmyadmin/', 'admin-console', false],
  ['/actuator/env', 'admin-console', false], ['/etc/passwd', 'traversal', true], ['/shell.php', 'webshell', true],
  ['/backup.sql', 'backup', false], ['/vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php', 'vendor-rce', true]
]
const PAGES = ['/', '/api/items', '/api/items/42', '/login', '/static/app.js', '/docs/getting-started', '/api/cart']
const UAS = ['"Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0"', '"Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X)"', '"curl/8.5.0"']
const TOOLS = [['sqlmap', '"sqlmap/1.8"'], ['nuclei', '"Nuclei - Open-source project (github.com/projectdiscovery/nuclei)"'], [undefined, '"python-requests/2.32"'], [undefined, '"Go-http-client/1.1"']]
const COUNTRIES = ['US', 'DE', 'NL', 'CN', 'RU', 'BR', 'IN', 'SG', 'FR', 'GB']

function v4 (n) {
  return `${10 + (n >>> 24) % 200}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`
}
function v6 (n) {
  return `2001:db8:${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}::${Math.floor(rand() * 65535).toString(16)}`
}

/** One event line (with its newline) at time `ms`. */
function line (ms) {
  const ts = new Date(ms).toISOString()
  const r = rand()
  const country = pick(COUNTRIES)
  if (r < 0.70) {
    const ip = rand() < 0.1 ? v6(Math.floor(rand() * 50000)) : v4(Math.floor(rand() * 300000) * 7919)
    return `{"type":"http_request","ts":"${ts}","ip":"${ip}","method":"GET","path":"${pick(PAGES)}","status":200,"ua":${pick(UAS)},"cf_country":"${country}","cf_ray":"8c${Math.floor(rand() * 1e12).toString(16)}-AMS","environment":"prod"}\n`
  }
  if (r < 0.85) {
    // Heavy scanners: a few hundred addresses send a third of the probes.
    const ip = rand() < 0.33 ? v4(3_000_000 + Math.floor(rand() * 300)) : v4(5_000_000 + Math.floor(rand() * 400000))
    const [path, rule, certain] = pick(PROBES)
    const [tool, ua] = pick(TOOLS)
    return `{"type":"http_request","ts":"${ts}","ip":"${ip}","method":"GET","path":"${path}","status":404,"ua":${ua},"cf_country":"${country}","classification":"scanner","certainty":"${certain ? 'certain' : 'likely'}","rule":"${rule}"` +
      (tool === undefined ? '' : `,"ua_class":"${tool}"`) + (certain || rand() < 0.3 ? ',"would_block":true' : '') + ',"environment":"prod"}\n'
  }
  if (r < 0.90) {
    const ip = v4(Math.floor(rand() * 300000) * 7919)
    return `{"type":"http_request","ts":"${ts}","ip":"${ip}","method":"GET","path":"/favicon.ico","status":404,"ua":${pick(UAS)},"classification":"benign-miss","environment":"prod"}\n`
  }
  if (r < 0.95) {
    const ip = v4(9_000_000 + Math.floor(rand() * 20000))
    const kind = pick(['auth', 'auth', 'parse', 'validation'])
    const code = kind === 'auth' ? '' : kind === 'parse' ? ',"error_code":"FST_ERR_CTP_INVALID_JSON_BODY"' : ',"error_code":"FST_ERR_VALIDATION"'
    return `{"type":"http_request","ts":"${ts}","ip":"${ip}","method":"POST","path":"/login","status":${kind === 'auth' ? 401 : 400},"ua":"curl/8.5.0","signal":"${kind}"${code}${rand() < 0.1 ? ',"would_block":true' : ''},"environment":"prod"}\n`
  }
  const ip = v4(Math.floor(rand() * 300000) * 7919)
  return `{"type":"custom","ts":"${ts}","name":"${pick(['auth.login_failed', 'order.placed', 'upload.parse_failed'])}","fields":{"user":"u${Math.floor(rand() * 1e6)}"},"ip":"${ip}","path":"/login","method":"POST","environment":"prod"}\n`
}

/** Writes about `mb` MiB of events (a week of traffic, in time order) to `file`; resolves the number of lines. */
function generate (file, mb) {
  const target = mb * 1024 * 1024
  const fd = openSync(file, 'w')
  const start = Date.parse('2026-11-18T00:00:00.000Z')
  const step = (7 * 86400_000) / (target / 330) // ~330 bytes a line: a week in all
  let written = 0
  let lines = 0
  let ms = start
  while (written < target) {
    let chunk = ''
    let batch = 0
    while (chunk.length < 4 * 1024 * 1024) {
      chunk += line(ms)
      ms += step
      batch++
    }
    const buf = gzip ? gzipMembers(chunk) : Buffer.from(chunk)
    writeSync(fd, buf)
    written += chunk.length
    lines += batch
  }
  closeSync(fd)
  return lines
}

/** gzip members of 500 lines each, as an ingest stores batches. */
function gzipMembers (text) {
  const parts = []
  let from = 0
  while (from < text.length) {
    let to = from
    for (let n = 0; n < 500 && to !== -1 && to < text.length; n++) to = text.indexOf('\n', to) + 1 || -1
    if (to === -1) to = text.length
    parts.push(gzipSync(text.slice(from, to), { level: 1 }))
    from = to
  }
  return Buffer.concat(parts)
}

function runReport (file, dir) {
  const probe = join(dir, 'rss-probe.js')
  writeFileSync(probe, "process.on('exit', () => { require('fs').writeSync(2, 'MAXRSS_KB=' + process.resourceUsage().maxRSS + '\\n') })\n")
  const bin = join(__dirname, '..', 'bin', 'appfirewall-fastify.js')
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint()
    const child = spawn(process.execPath, [...childFlags, '--require', probe, bin, 'report', '--format', 'json', '--no-progress', file], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.on('data', (c) => { out += c })
    child.stderr.on('data', (c) => { err += c })
    child.on('error', reject)
    child.on('close', (code) => {
      const ms = Number(process.hrtime.bigint() - t0) / 1e6
      const rss = /MAXRSS_KB=(\d+)/.exec(err)
      resolve({ code, ms, maxRssKb: rss === null ? NaN : Number(rss[1]), report: out.length > 0 ? JSON.parse(out) : undefined, stderr: err })
    })
  })
}

async function main () {
  const dir = mkdtempSync(join(tmpdir(), 'afw-report-bench-'))
  const file = given ?? out ?? join(dir, gzip ? 'events.ndjson.gz' : 'events.ndjson')
  try {
    if (given === undefined) {
      const t0 = Date.now()
      const lines = generate(file, sizeMb)
      console.log(`generated ${file}: ${(statSync(file).size / 1048576).toFixed(0)} MiB, ${lines} lines in ${((Date.now() - t0) / 1000).toFixed(1)} s`)
    }
    const size = statSync(file).size
    const r = await runReport(file, dir)
    if (r.code !== 0 || r.report === undefined) {
      console.error(r.stderr)
      throw new Error(`report exited ${r.code}`)
    }
    const lines = r.report.totals.lines
    console.log(`node ${process.version}${childFlags.length > 0 ? ' ' + childFlags.join(' ') : ''}, report --format json: ${(r.ms / 1000).toFixed(1)} s wall, ` +
      `${Math.round(lines / (r.ms / 1000)).toLocaleString('en-US')} lines/s, ${(size / 1048576 / (r.ms / 1000)).toFixed(0)} MiB/s (file bytes), ` +
      `peak RSS ${(r.maxRssKb / 1024).toFixed(0)} MiB`)
    console.log(`events ${r.report.totals.events}, malformed ${r.report.totals.malformed}, IPs tracked ${r.report.limits.ips_tracked}, ` +
      `evicted ${r.report.limits.ips_evicted} (max undercount ${r.report.limits.max_undercount}), would_block IPs ${r.report.would_block.ips}, hours ${r.report.hours.length}`)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

main().catch((err) => {
  console.error(err)
  process.exitCode = 1
})
