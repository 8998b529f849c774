'use strict'
// `npm run demo`: starts the example app with the plugin in local mode on
// 127.0.0.1, drives a scripted mix of traffic through real HTTP, then prints a
// short summary of the events file. `npm run demo -- --ship` ships the same
// events to the example ingest (examples/ingest-server.js) instead.
const { request } = require('undici')
const { readFileSync, rmSync, mkdtempSync } = require('node:fs')
const { tmpdir } = require('node:os')
const { join } = require('node:path')
const { spawn } = require('node:child_process')
const { buildApp } = require('./app')

const ship = process.argv.includes('--ship')

async function startIngest () {
  const child = spawn(process.execPath, [join(__dirname, 'ingest-server.js'), '0'], { stdio: ['ignore', 'pipe', 'inherit'] })
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('ingest did not start')), 10_000)
    let buf = ''
    child.stdout.on('data', (d) => {
      buf += d
      process.stdout.write(`  [ingest] ${d}`)
      const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(buf)
      if (m) { clearTimeout(timer); resolve(Number(m[1])) }
    })
    child.once('exit', () => reject(new Error('ingest exited')))
  })
  return { child, port }
}

async function main () {
  const dir = mkdtempSync(join(tmpdir(), 'afw-demo-'))
  const file = join(dir, 'events.ndjson')
  const ingest = ship ? await startIngest() : undefined
  const app = await buildApp({
    mode: ship ? 'ship' : 'local',
    localLogPath: file,
    apiKey: 'demo-key',
    endpoint: ingest ? `http://127.0.0.1:${ingest.port}/v1/events` : undefined,
    environment: 'demo',
    // The demo's traffic comes from 127.0.0.1: treat it as our load balancer,
    // so the x-forwarded-for hops below stand for real clients.
    trustedProxies: ['cloudflare', '127.0.0.1'],
    skip: (req) => req.url === '/health',
    cloudflareRefreshMs: 0,
    flushIntervalMs: 200
  })
  const address = await app.listen({ host: '127.0.0.1', port: 0 })
  console.log(`demo app on ${address} (${ship ? 'ship mode' : `local mode, events in ${file}`})\n`)

  const get = async (path, headers = {}, method = 'GET', body) => {
    // { origin, path }: the path goes out as written (a URL would resolve `.%2e` segments first).
    const res = await request({ origin: address, path }, { method, headers, body })
    await res.body.dump()
    return res.statusCode
  }
  const client = (ip) => ({ 'x-forwarded-for': ip, 'user-agent': 'Mozilla/5.0 (demo browser)' })

  // Ordinary users.
  for (let i = 1; i <= 5; i++) {
    await get('/', client(`198.51.100.${i}`))
    await get(`/products/${i * 7}`, client(`198.51.100.${i}`))
    await get('/favicon.ico', client(`198.51.100.${i}`)) // benign miss
    await get('/health') // skipped: never an event
  }
  await get('/apple-touch-icon.png', client('198.51.100.1'))
  await get('/robots.txt', client('198.51.100.2'))
  await get('/catalogue/spring-2019.php', client('198.51.100.3')) // a stale link of an old site: unknown, not a probe

  // A scanner, disguising some probes, with its tool's user agent.
  const scanner = { 'x-forwarded-for': '203.0.113.66', 'user-agent': 'Mozilla/5.0 (compatible; Nuclei - Open-source project (github.com/projectdiscovery/nuclei))' }
  for (const p of ['/.env', '/.git/config', '/wp-login.php', '/phpmyadmin/index.php', '/%2e%65nv', '//WP-ADMIN//setup-config.php',
    '/actuator/env', '/index.php?page=../../../../etc/passwd', '/backup.sql', '/.aws/credentials', '/shell.php', '/cgi-bin/.%2e/.%2e/bin/sh']) {
    await get(p, scanner)
  }

  // A client that forges Cloudflare's header from a non-Cloudflare hop, and a forged left part of x-forwarded-for.
  await get('/', { 'cf-connecting-ip': '1.2.3.4', 'cf-ipcountry': 'XX', 'x-forwarded-for': '192.0.2.200' })
  await get('/', { 'x-forwarded-for': '6.6.6.6, 192.0.2.201' })

  // Failed logins, recorded by the app with record().
  for (let i = 0; i < 4; i++) {
    await get('/login', { ...client('192.0.2.99'), 'content-type': 'application/json' }, 'POST', JSON.stringify({ user: 'admin', password: `guess${i}` }))
  }

  await app.appfirewall.flush(5000)
  const stats = app.appfirewall.stats()
  await app.close()

  if (ship) {
    console.log(`\nshipped: emitted ${stats.emitted}, sent ${stats.sent}, batches ${stats.batches}, dropped ${JSON.stringify(stats.dropped)}`)
    ingest.child.kill()
    rmSync(dir, { recursive: true, force: true })
    return
  }

  const events = readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l))
  const count = (f) => events.reduce((m, e) => { const k = f(e); if (k !== undefined) m[k] = (m[k] ?? 0) + 1; return m }, {})
  const top = (m, n = 5) => Object.entries(m).sort((a, b) => b[1] - a[1]).slice(0, n)

  console.log(`${events.length} events written`)
  console.log('by type:', count((e) => e.type))
  console.log('404s by classification:', count((e) => e.classification))
  console.log('scanner rules that fired:', count((e) => e.rule))
  console.log('scanner probes by certainty (one certain probe marks an IP):', count((e) => e.certainty))
  console.log('app signals (signal: error_code):', count((e) => e.signal === undefined ? undefined : `${e.signal}: ${e.error_code ?? 'status ' + e.status}`))
  console.log('attack tools seen (ua_class):', count((e) => e.ua_class))
  console.log('custom events:', count((e) => e.type === 'custom' ? e.name : undefined))
  console.log('top IPs:')
  for (const [ip, n] of top(count((e) => e.ip))) console.log(`  ${ip.padEnd(16)} ${n}`)
  const forged = events.filter((e) => e.ip === '1.2.3.4' || e.ip === '6.6.6.6' || e.cf_country !== undefined)
  console.log(`forged headers: cf-connecting-ip 1.2.3.4 and x-forwarded-for left part 6.6.6.6 ignored -> ${forged.length} events carry them`)
  const wouldBlock = events.filter((e) => e.would_block)
  console.log(`would have blocked (shadow mode): ${[...new Set(wouldBlock.map((e) => e.ip))].join(', ') || 'none'}`)
  console.log(`health checks skipped: ${events.filter((e) => e.path === '/health').length === 0 ? 'yes' : 'no'}`)
  console.log(`\nthe events are kept in ${file} (jq . < it, or classifyPath() over your own logs); delete the folder when done`)
}

main().catch((err) => {
  console.error(err)
  process.exitCode = 1
})
