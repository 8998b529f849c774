'use strict'
// Throughput and latency of a hello-world Fastify app: bare, and with the
// plugin in off, local and ship mode. Configurations alternate within each
// round (this machine is shared and noisy), and the report gives medians and
// ratios against bare. Usage: npm run bench [-- --rounds 5 --duration 5]
const autocannon = require('autocannon')
const { fork } = require('node:child_process')
const http = require('node:http')
const { join } = require('node:path')

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`)
  return i === -1 ? dflt : process.argv[i + 1]
}
const rounds = Number(arg('rounds', 5))
const duration = Number(arg('duration', 5))
const connections = Number(arg('connections', 50))
const configs = arg('configs', 'bare,off,local,ship').split(',')

function startIngest () {
  const server = http.createServer((req, res) => {
    req.resume()
    req.on('end', () => { res.end('{}') })
  })
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, port: server.address().port })))
}

function startServer (config, ingestPort) {
  const child = fork(join(__dirname, 'server.js'), [config, String(ingestPort)], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] })
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('server did not start')), 15000)
    child.stdout.on('data', (d) => {
      const m = /port (\d+)/.exec(String(d))
      if (m) { clearTimeout(timer); resolve({ child, port: Number(m[1]) }) }
    })
  })
}

function stats (child) {
  return new Promise((resolve) => { child.once('message', resolve); child.send('stats') })
}

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2 }

async function main () {
  const ingest = await startIngest()
  const results = Object.fromEntries(configs.map((c) => [c, { rps: [], p50: [], p99: [], delivered: [] }]))
  for (let r = 1; r <= rounds; r++) {
    for (const config of configs) {
      const { child, port } = await startServer(config, ingest.port)
      // warm-up, then the measured run
      await autocannon({ url: `http://127.0.0.1:${port}/`, connections, duration: 1 })
      const res = await autocannon({ url: `http://127.0.0.1:${port}/`, connections, duration })
      const s = await stats(child)
      child.kill()
      results[config].rps.push(res.requests.average)
      results[config].p50.push(res.latency.p50)
      results[config].p99.push(res.latency.p99)
      if (s) results[config].delivered.push(s)
      console.log(`round ${r} ${config.padEnd(6)} ${Math.round(res.requests.average)} req/s  p50 ${res.latency.p50} ms  p99 ${res.latency.p99} ms` +
        (s ? `  emitted ${s.emitted} sent ${s.sent} queued ${s.queued} dropped ${JSON.stringify(s.dropped)}` : ''))
    }
  }
  ingest.server.close()
  const bare = median(results.bare?.rps ?? [NaN])
  console.log(`\nmedians over ${rounds} rounds, ${duration} s each, ${connections} connections:`)
  console.log('config  req/s    vs bare  p50 ms  p99 ms')
  for (const c of configs) {
    const m = median(results[c].rps)
    console.log(`${c.padEnd(7)} ${String(Math.round(m)).padEnd(8)} ${(m / bare).toFixed(3).padEnd(8)} ${String(median(results[c].p50)).padEnd(7)} ${median(results[c].p99)}`)
  }
}
main().catch((err) => { console.error(err); process.exit(1) })
