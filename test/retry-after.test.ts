import t from 'tap'
import { parseRetryAfter } from '../lib/ship/retry-after'
import { backoffDelay } from '../lib/ship/backoff'

const now = Date.parse('2026-01-01T00:00:00.000Z')
const max = 300000

t.test('reads Retry-After as delay-seconds', async (t) => {
  t.equal(parseRetryAfter('3', now, max), 3000)
  t.equal(parseRetryAfter(' 0 ', now, max), 0)
  t.equal(parseRetryAfter('1.5', now, max), 1500)
  t.equal(parseRetryAfter(['2', '9'], now, max), 2000, 'the first of repeated headers wins')
})

t.test('reads Retry-After as an HTTP date in any of the three RFC 9110 forms', async (t) => {
  t.equal(parseRetryAfter('Thu, 01 Jan 2026 00:00:10 GMT', now, max), 10000)
  t.equal(parseRetryAfter('Thursday, 01-Jan-26 00:00:20 GMT', now, max), 20000)
  t.equal(parseRetryAfter('Thu Jan  1 00:00:30 2026', now, max) !== undefined, true, 'asctime parses')
})

t.test('treats a date in the past as no wait', async (t) => {
  t.equal(parseRetryAfter('Wed, 31 Dec 2025 23:59:00 GMT', now, max), 0)
})

t.test('clamps huge values to the maximum', async (t) => {
  t.equal(parseRetryAfter('999999999', now, max), max)
  t.equal(parseRetryAfter('9'.repeat(60), now, max), max, 'a number that overflows to Infinity')
  t.equal(parseRetryAfter('Fri, 01 Jan 2100 00:00:00 GMT', now, max), max)
  t.equal(parseRetryAfter('5', now, 1000), 1000)
})

t.test('ignores negative, garbage, empty and oversized values', async (t) => {
  for (const v of ['-5', '-0.5', 'soon', '', '   ', '1e3', '0x10', '3 seconds', 'Thu, 99 Foo 2026 xx GMT', '1'.padStart(100, ' '), undefined, []]) {
    t.equal(parseRetryAfter(v as string | string[] | undefined, now, max), undefined, JSON.stringify(v))
  }
})

t.test('backs off exponentially with jitter in the upper half, capped', async (t) => {
  t.equal(backoffDelay(1, 100, 10000, () => 0), 50)
  t.equal(backoffDelay(1, 100, 10000, () => 1), 100)
  t.equal(backoffDelay(3, 100, 10000, () => 0), 200)
  t.equal(backoffDelay(3, 100, 10000, () => 1), 400)
  t.equal(backoffDelay(20, 100, 10000, () => 1), 10000, 'capped at the maximum')
  t.equal(backoffDelay(5000, 100, 10000, () => 0), 5000, 'a huge attempt number stays finite')
  for (let i = 0; i < 100; i++) {
    const d = backoffDelay(2, 100, 10000)
    t.ok(d >= 100 && d <= 200, 'a random delay stays within the jitter band')
  }
})
