// Process lifetime: child processes (tap's TypeScript loader, no build
// needed) show that nothing in the ship-mode sink or the plugin keeps a
// process alive, that a pending flush still settles, and that events queued
// before close reach the ingest.
import t from 'tap'
import { join } from 'node:path'
import { refusedPort, runChild, startIngest } from './fixtures'

const SHIPPER_CHILD = join(__dirname, 'fixtures', 'shipper-child.ts')
const APP_CHILD = join(__dirname, 'fixtures', 'app-child.ts')

// Each test waits on its own child, whose start-up (loading TypeScript
// sources) is most of its time: run them side by side.
t.jobs = 3
// Loading the TypeScript sources in a child can take tens of seconds on a
// loaded 2-core machine (the whole suite runs beside it): the bounds below
// are generous, and the file's own timeout is above them.
t.setTimeout(170_000)
const CHILD_BOUND_MS = 90_000

t.test('flush with a bound resolves false, with a ref\'d timer, even when nothing else keeps the process alive', async (t) => {
  const port = await refusedPort()
  const r = await runChild(SHIPPER_CHILD, ['flush-dead', `http://127.0.0.1:${port}/v1/events`], CHILD_BOUND_MS)
  t.equal(r.killed, false, 'the child exited by itself')
  t.equal(r.code, 0, r.stderr)
  t.equal(r.result?.ok, false, 'flush settled (false) instead of hanging unsettled')
})

t.test('an app that never calls close exits by itself once its server is closed', async (t) => {
  // The ingest keeps idle connections for 150 s, longer than the bound below:
  // a ref'd keep-alive socket in the plugin would keep the child alive.
  const ingest = await startIngest(undefined, 0, 150_000)
  t.teardown(() => ingest.close())
  const r = await runChild(APP_CHILD, ['never-close', ingest.url], CHILD_BOUND_MS)
  t.equal(r.killed, false, 'the child exited by itself')
  t.equal(r.code, 0, r.stderr)
  t.same(r.result?.statuses, [200, 404, 404, 200, 404], 'the app served its requests')
  t.equal(r.result?.stats?.emitted, 605)
  t.ok(r.result?.stats?.sent >= 500, 'a batch went out over a keep-alive connection first')
  t.equal(ingest.requests[0]?.headers.connection, 'keep-alive', 'the connection was keep-alive')
  t.equal(r.result?.signals, 0, 'the plugin adds no signal handlers')
})

t.test('300 events queued before app.close() all reach the ingest', async (t) => {
  const ingest = await startIngest()
  t.teardown(() => ingest.close())
  const r = await runChild(APP_CHILD, ['close-300', ingest.url], CHILD_BOUND_MS)
  t.equal(r.killed, false)
  t.equal(r.code, 0, r.stderr)
  t.equal(r.result?.before?.queued, 300, 'all 300 were still queued when close began')
  t.equal(r.result?.stats?.sent, 300)
  const events = ingest.lines().map((l) => JSON.parse(l))
  t.equal(events.length, 300)
  t.equal(events.filter((e) => e.type === 'http_request' && e.status === 404).length, 100)
  t.equal(events.filter((e) => e.path === '/hello' && e.status === 200).length, 200)
})
