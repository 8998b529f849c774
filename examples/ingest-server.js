'use strict'

// A minimal ingest that speaks the appfirewall ingest contract, for trying
// ship mode locally. No dependencies.
//
//   node examples/ingest-server.js [port]          (or PORT=8787)
//   INGEST_API_KEY=secret node examples/ingest-server.js   -> 401 on any other key
//
// Then point the plugin at it:
//   { apiKey: 'anything', endpoint: 'http://127.0.0.1:8787/v1/events' }
//
// Contract: POST, body = gzipped NDJSON (one event per line),
// Authorization: Bearer <key>, Content-Type: application/x-ndjson,
// Content-Encoding: gzip. Answer 2xx to accept; 429/502/503/504 (optionally
// with Retry-After) make the SDK retry; any other status drops the batch.

const http = require('node:http')
const zlib = require('node:zlib')

const port = Number(process.argv[2] || process.env.PORT || 8787)
const expectedKey = process.env.INGEST_API_KEY
const MAX_BODY = 10 * 1024 * 1024
let batches = 0
let events = 0

const server = http.createServer((req, res) => {
  if (req.method !== 'POST') {
    res.writeHead(405, { allow: 'POST' }).end()
    return
  }
  const auth = req.headers.authorization || ''
  if (expectedKey !== undefined && auth !== `Bearer ${expectedKey}`) {
    res.writeHead(401).end()
    console.log(`401 for ${auth ? 'a wrong key' : 'a missing key'}`)
    return
  }
  const chunks = []
  let size = 0
  req.on('data', (c) => {
    size += c.length
    if (size > MAX_BODY) {
      res.writeHead(413).end()
      req.destroy()
      return
    }
    chunks.push(c)
  })
  req.on('end', () => {
    let lines
    try {
      const raw = Buffer.concat(chunks)
      const text = req.headers['content-encoding'] === 'gzip' ? zlib.gunzipSync(raw).toString('utf8') : raw.toString('utf8')
      lines = text.split('\n').filter((l) => l !== '')
      lines.forEach((l) => JSON.parse(l))
    } catch (err) {
      res.writeHead(400).end()
      console.log(`400: ${err.message}`)
      return
    }
    batches++
    events += lines.length
    console.log(`batch #${batches}: ${lines.length} events, ${size} bytes gzipped, from ${req.headers['user-agent'] || 'an unnamed client'} (total ${events} events)`)
    for (const l of lines.slice(0, 3)) console.log(`  ${l}`)
    if (lines.length > 3) console.log(`  ... ${lines.length - 3} more`)
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ accepted: lines.length }))
  })
})

server.listen(port, '127.0.0.1', () => {
  console.log(`ingest listening on http://127.0.0.1:${server.address().port}/v1/events`)
})
