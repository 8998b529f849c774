'use strict'
// One benchmark server: `node benchmarks/server.js <config>` where config is
// bare | off | local | ship. Prints "port N" once listening. The plugin is
// loaded from dist/ (npm run bench builds it first).
const Fastify = require('fastify')
const { join } = require('node:path')
const { tmpdir } = require('node:os')

const config = process.argv[2] ?? 'bare'
const ingestPort = process.argv[3]

async function main () {
  const app = Fastify()
  if (config !== 'bare') {
    const appFirewall = require('../dist/index.js')
    await app.register(appFirewall, {
      mode: config,
      apiKey: 'bench',
      endpoint: `http://127.0.0.1:${ingestPort ?? 9}/v1/events`,
      localLogPath: join(tmpdir(), `afw-bench-${process.pid}.ndjson`),
      cloudflareRefreshMs: 0
    })
  }
  app.get('/', async () => ({ hello: 'world' }))
  const address = await app.listen({ host: '127.0.0.1', port: 0 })
  process.stdout.write(`port ${new URL(address).port}\n`)
  process.on('message', async (msg) => {
    if (msg === 'stats') {
      if (config === 'bare') return process.send(null)
      await app.appfirewall.flush(10000)
      process.send(app.appfirewall.stats())
    }
  })
}
main()
