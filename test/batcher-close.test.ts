// The Batcher against scripted exporters: what close does with the export
// under way, what a broken exporter costs, and that a paused exporter leaves
// the lines queued (so the ring keeps the newest).
import t from 'tap'
import { Counters } from '../lib/counters'
import { Batcher } from '../lib/ship/batcher'
import { emptyResult } from '../lib/ship/exporter'
import type { Exporter, ExportResult } from '../lib/ship/exporter'
import { FileExporter } from '../lib/ship/file-exporter'
import { timerDelay } from '../lib/timer-delay'
import { accountedFor, sleep, tempDir, waitFor } from './fixtures'
import { writeFileSync, rmSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

/** An exporter whose answers the test decides; it records every call. */
class ScriptedExporter implements Exporter {
  readonly batches: string[][] = []
  readonly calls: string[] = []
  abortReason: unknown
  pausedUntil = 0
  constructor (private readonly answer: (lines: string[], signal: AbortSignal) => Promise<ExportResult>) {}
  readyAt (now: number): number {
    return this.pausedUntil > now ? this.pausedUntil : now
  }

  export (lines: string[], signal: AbortSignal): Promise<ExportResult> {
    this.batches.push(lines)
    this.calls.push('export')
    signal.addEventListener('abort', () => { this.abortReason = signal.reason })
    return this.answer(lines, signal)
  }

  closing (): void {
    this.calls.push('closing')
  }

  async shutdown (): Promise<void> {
    this.calls.push('shutdown')
  }
}

function sent (lines: string[]): ExportResult {
  const r = emptyResult()
  r.sent = lines.length
  r.deliveries = 1
  return r
}

function make (exporter: Exporter, opts: { queueSize?: number, batchSize?: number, flushIntervalMs?: number } = {}) {
  const counters = new Counters()
  const warnings: string[] = []
  const batcher = new Batcher({
    exporter,
    counters,
    log: { warn: (_o, msg) => { warnings.push(msg) }, info: () => {} },
    queueSize: opts.queueSize ?? 100,
    batchSize: opts.batchSize ?? 10,
    flushIntervalMs: opts.flushIntervalMs ?? 20
  })
  const stats = () => counters.snapshot('ship', batcher.queued(), batcher.inFlight(), null)
  const balanced = (): boolean => stats().emitted === accountedFor(stats())
  const push = (n: number, from = 0): void => {
    for (let i = 0; i < n; i++) batcher.push(`{"i":${from + i}}`)
  }
  return { batcher, counters, warnings, stats, balanced, push }
}

t.test('close counts an aborted export by what it reports within the abort wait', async (t) => {
  // Delivers 4 lines, then hangs until aborted; reports 4 sent and the rest shutdown.
  const exporter = new ScriptedExporter((lines, signal) => new Promise((resolve) => {
    signal.addEventListener('abort', () => {
      setTimeout(() => {
        const r = emptyResult()
        r.sent = 4
        r.deliveries = 1
        r.shutdown = lines.length - 4
        resolve(r)
      }, 20)
    })
  }))
  const b = make(exporter)
  b.push(10)
  await waitFor(() => b.stats().inFlight === 10, 2000, 'the export to start')
  const started = Date.now()
  await b.batcher.close(100)
  const took = Date.now() - started
  t.ok(took < 100 + 200 + 500, `closed in ${took} ms (grace 100 ms)`)
  const s = b.stats()
  t.equal(s.sent, 4, 'what the export delivered counts as sent')
  t.equal(s.dropped.shutdown, 6)
  t.equal(s.batches, 1)
  t.equal(s.inFlight, 0)
  t.ok(b.balanced())
  t.match(exporter.abortReason, { code: 'FST_APPFIREWALL_CLOSED' }, 'aborted with a coded error')
  t.same(exporter.calls, ['export', 'closing', 'shutdown'])
})

t.test('close gives up on an export that does not report after the abort, and ignores its late result', async (t) => {
  let finish: ((r: ExportResult) => void) | undefined
  const exporter = new ScriptedExporter(() => new Promise((resolve) => { finish = resolve }))
  const b = make(exporter)
  b.push(10)
  await waitFor(() => b.stats().inFlight === 10, 2000, 'the export to start')
  const pending = b.batcher.flush(60_000)
  const started = Date.now()
  await b.batcher.close(100)
  const took = Date.now() - started
  t.ok(took >= 100 && took < 100 + 200 + 500, `closed in ${took} ms: the grace, a bounded wait for the export, no more`)
  t.equal(await pending, true, 'a pending flush settles once the batch is counted')
  const s = b.stats()
  t.equal(s.dropped.shutdown, 10)
  t.equal(s.inFlight, 0)
  t.ok(b.balanced())
  finish?.(sent(exporter.batches[0] ?? []))
  await sleep(20)
  const after = b.stats()
  t.equal(after.sent, 0, 'the late answer is not counted')
  t.equal(after.batches, 0)
  t.ok(b.balanced(), 'still balanced')
  t.same(exporter.calls, ['export', 'closing', 'shutdown'])
})

t.test('an exporter that rejects has its batch counted as dropped.io, with a warning, and the batcher goes on', async (t) => {
  let n = 0
  const exporter = new ScriptedExporter(async (lines) => {
    if (n++ === 0) throw new Error('broken exporter')
    return sent(lines)
  })
  const b = make(exporter, { batchSize: 5 })
  b.push(5)
  t.equal(await b.batcher.flush(2000), true)
  b.push(5, 5)
  t.equal(await b.batcher.flush(2000), true)
  const s = b.stats()
  t.equal(s.dropped.io, 5)
  t.equal(s.sent, 5)
  t.ok(b.balanced())
  t.match(b.warnings, [/exporter failed/])
  await b.batcher.close(0)
})

t.test('while the exporter is paused the lines stay queued, so a full queue keeps the newest', async (t) => {
  const exporter = new ScriptedExporter(async (lines) => sent(lines))
  exporter.pausedUntil = Date.now() + 300
  const b = make(exporter, { queueSize: 20, batchSize: 10, flushIntervalMs: 10 })
  b.push(50)
  await sleep(100)
  t.equal(exporter.batches.length, 0, 'nothing exported during the pause')
  t.equal(b.stats().queued, 20)
  t.equal(b.stats().dropped.overflow, 30)
  t.equal(await b.batcher.flush(3000), true)
  t.same(exporter.batches.flat().map((l) => JSON.parse(l).i), Array.from({ length: 20 }, (_, i) => 30 + i), 'the newest 20 went out')
  t.ok(b.balanced())
  await b.batcher.close(0)
})

t.test('close ends a pause at once when the exporter is ready after closing()', async (t) => {
  const exporter = new ScriptedExporter(async (lines) => sent(lines))
  exporter.pausedUntil = Date.now() + 60_000
  exporter.closing = () => {
    exporter.calls.push('closing')
    exporter.pausedUntil = 0
  }
  const b = make(exporter)
  b.push(15)
  await sleep(50)
  t.equal(exporter.batches.length, 0)
  const started = Date.now()
  await b.batcher.close(5000)
  t.ok(Date.now() - started < 1000, 'did not wait out the pause')
  t.equal(b.stats().sent, 15)
  t.equal(b.stats().dropped.shutdown, 0)
})

t.test('close with an exporter paused beyond the grace counts the queue as dropped at shutdown', async (t) => {
  const exporter = new ScriptedExporter(async (lines) => sent(lines))
  exporter.pausedUntil = Date.now() + 60_000
  const b = make(exporter)
  b.push(15)
  await b.batcher.close(100)
  t.equal(exporter.batches.length, 0)
  t.equal(b.stats().dropped.shutdown, 15)
  t.equal(b.stats().queued, 0)
  t.ok(b.balanced())
})

t.test('flush and close delays above 2^31-1 ms are clamped, not turned into 1 ms', async (t) => {
  let finish: (() => void) | undefined
  const exporter = new ScriptedExporter((lines) => new Promise((resolve) => { finish = () => resolve(sent(lines)) }))
  const b = make(exporter, { flushIntervalMs: 2 ** 40 })
  b.push(3)
  let settled: boolean | undefined
  const done = b.batcher.flush(2 ** 40).then((ok) => { settled = ok })
  await waitFor(() => exporter.batches.length === 1, 2000, 'the export to start')
  await sleep(50)
  t.equal(settled, undefined, 'flush is still waiting')
  finish?.()
  await done
  t.equal(settled, true)
  await b.batcher.close(2 ** 40)
  t.equal(b.stats().sent, 3)
})

t.test('timer delays are clamped to what Node keeps: 0 to 2^31-1 ms', async (t) => {
  t.equal(timerDelay(0), 0)
  t.equal(timerDelay(1500), 1500)
  t.equal(timerDelay(2 ** 31 - 1), 2 ** 31 - 1)
  t.equal(timerDelay(2 ** 31), 2 ** 31 - 1)
  t.equal(timerDelay(Infinity), 2 ** 31 - 1)
  t.equal(timerDelay(-5), 0)
  t.equal(timerDelay(NaN), 0)
})

t.test('an exporter whose shutdown rejects still lets close resolve, with a warning', async (t) => {
  const exporter = new ScriptedExporter(async (lines) => sent(lines))
  exporter.shutdown = async () => { throw new Error('cannot release') }
  const b = make(exporter)
  b.push(3)
  await b.batcher.close(1000)
  t.equal(b.stats().sent, 3)
  t.match(b.warnings, [/did not shut down cleanly/])
})

t.test('an unexpected error in the batcher is logged and the next trigger starts it again', async (t) => {
  const exporter = new ScriptedExporter(async (lines) => sent(lines))
  let calls = 0
  exporter.readyAt = (now) => {
    if (calls++ === 0) throw new Error('readyAt broke')
    return now
  }
  const b = make(exporter, { batchSize: 5, flushIntervalMs: 60_000 })
  b.push(5)
  await waitFor(() => b.warnings.length === 1, 2000, 'the warning')
  t.match(b.warnings, [/batcher error/])
  t.equal(await b.batcher.flush(2000), true, 'a flush starts the batcher again')
  t.equal(b.stats().sent, 5)
  t.ok(b.balanced())
  await b.batcher.close(0)
})

t.test('the file exporter warns once per failure streak, says so once on recovery, and counts failures', async (t) => {
  const dir = tempDir()
  const blocker = join(dir, 'logs')
  writeFileSync(blocker, 'x')
  const counters = new Counters()
  const logs: string[] = []
  const exporter = new FileExporter({
    path: join(blocker, 'events.ndjson'),
    counters,
    log: { warn: (_o, msg) => { logs.push(`warn ${msg}`) }, info: (_o, msg) => { logs.push(`info ${msg}`) } }
  })
  const signal = new AbortController().signal
  for (let i = 0; i < 3; i++) t.match(await exporter.export(['{"a":1}', '{"a":2}'], signal), { io: 2, sent: 0, deliveries: 0 })
  t.equal(counters.failures, 3)
  rmSync(blocker)
  t.match(await exporter.export(['{"a":3}'], signal), { sent: 1, deliveries: 1, io: 0 })
  t.match(await exporter.export(['{"a":4}'], signal), { sent: 1, deliveries: 1 })
  t.equal(readFileSync(join(blocker, 'events.ndjson'), 'utf8'), '{"a":3}\n{"a":4}\n')
  t.equal(logs.length, 2)
  t.match(logs, [/^warn .*cannot write local event log/, /^info .*writable again/])
  t.match(counters.lastSendAt, /^\d{4}-\d\d-\d\dT/)
  const aborted = new AbortController()
  aborted.abort()
  t.match(await exporter.export(['{"a":5}'], aborted.signal), { shutdown: 1, sent: 0 }, 'an export after the abort writes nothing')
})
