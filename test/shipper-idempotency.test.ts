// Issue 9, item 3: retries an ingest can deduplicate. Every batch carries an
// Idempotency-Key that is the same on each of its retries, so an ingest that
// stored a batch whose answer was lost (too slow, connection cut) can drop
// the resend and answer at once, and the sender then counts the batch as sent.
import t from 'tap'
import { numbers, shipTo } from './fixtures'
import type { IngestRequest } from './fixtures'

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i)
const KEY = /^"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"$/
const keyOf = (r: IngestRequest | undefined): string | undefined => r?.headers['idempotency-key'] as string | undefined

/**
 * What an ingest that stores a batch as soon as it has read it keeps: the
 * lines of every request whose body arrived, once per Idempotency-Key (a
 * request without one is stored every time).
 */
function storedOnce (requests: IngestRequest[]): string[] {
  const seen = new Set<string>()
  const out: string[] = []
  for (const r of requests) {
    if (r.lines.length === 0) continue
    const key = keyOf(r)
    if (key !== undefined) {
      if (seen.has(key)) continue
      seen.add(key)
    }
    out.push(...r.lines)
  }
  return out
}

t.test('every batch carries an Idempotency-Key: the same on each of its retries, another for the next batch', async (t) => {
  const { ingest, h } = await shipTo(t, (req) => req.index < 2 ? { status: 503 } : undefined, { batchSize: 5, flushIntervalMs: 600000 })
  h.pushEvents(5)
  t.equal(await h.sink.flush(5000), true)
  for (let i = 0; i < 20; i++) h.pushEvents(5)
  t.equal(await h.sink.flush(5000), true)
  const keys = ingest.requests.map(keyOf)
  t.match(keys[0], KEY, 'a quoted UUID (a Structured Fields string, as the IETF draft has it)')
  t.same(keys.slice(0, 3), [keys[0], keys[0], keys[0]], 'the two retries carry the first try\'s key')
  t.equal(ingest.requests.length, 23)
  t.equal(new Set(keys).size, 21, 'each of the 21 batches has its own key')
  t.ok(keys.every((k) => k !== undefined && KEY.test(k)), 'every key is a quoted UUID')
})

t.test('an ingest that stores a batch but answers after the timeout: the resend has the same key, each event is stored once and counted sent', async (t) => {
  // The ingest stores what it reads. The first time it sees a key it answers
  // too late (the sender has timed out); a key it has seen is answered 200 at
  // once, as an idempotent ingest does. A request without a key is new every time.
  const seen = new Set<string>()
  const { ingest, h } = await shipTo(t, (req) => {
    const key = keyOf(req)
    if (key !== undefined && seen.has(key)) return undefined
    if (key !== undefined) seen.add(key)
    return { delayMs: 1500 }
  }, { batchSize: 10, requestTimeoutMs: 300, retryDeadlineMs: 3000, flushIntervalMs: 600000 })
  h.pushEvents(10)
  t.equal(await h.sink.flush(6000), true)
  const [first, second] = ingest.requests
  t.ok(keyOf(first) !== undefined, 'the batch has a key')
  t.equal(keyOf(second), keyOf(first), 'the resend after the timeout has the same key')
  t.same(numbers(storedOnce(ingest.requests)), range(10), 'the ingest keeps each event once')
  const s = h.stats()
  t.equal(s.sent, 10, 'the events are counted as sent, not dropped')
  t.equal(s.dropped.breaker, 0)
  t.equal(s.failures, 1, 'one timed-out attempt')
})

t.test('413: the halves are new batches keyed "<key>.1" and "<key>.2", each the same across its own retries', async (t) => {
  const replies = [{ status: 413 }, { status: 503 }]
  const { ingest, h } = await shipTo(t, (req) => replies[req.index], { batchSize: 10, flushIntervalMs: 600000 })
  h.pushEvents(10)
  t.equal(await h.sink.flush(5000), true)
  t.same(ingest.requests.map((r) => r.lines.length), [10, 5, 5, 5], 'whole, first half, its retry, second half')
  const [whole, half1, retry1, half2] = ingest.requests.map(keyOf)
  t.match(whole, KEY)
  const id = (whole ?? '').slice(1, -1)
  t.equal(half1, `"${id}.1"`)
  t.equal(retry1, half1, 'the retry of a half keeps the half\'s key')
  t.equal(half2, `"${id}.2"`)
  t.same(numbers(ingest.lines()), range(10))
})

t.test('413 twice deep: quarter keys extend their half\'s', async (t) => {
  const { ingest, h } = await shipTo(t, (req) => req.index < 2 ? { status: 413 } : undefined, { batchSize: 8, flushIntervalMs: 600000 })
  h.pushEvents(8)
  t.equal(await h.sink.flush(5000), true)
  const keys = ingest.requests.map(keyOf)
  const id = (keys[0] ?? '').slice(1, -1)
  t.same(keys, [`"${id}"`, `"${id}.1"`, `"${id}.1.1"`, `"${id}.1.2"`, `"${id}.2"`])
  t.same(ingest.requests.map((r) => r.lines.length), [8, 4, 2, 2, 4])
})
