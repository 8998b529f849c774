// A header longer than this is not a date or a number of seconds: refuse it
// before any parsing work (a hostile ingest controls the value).
const MAX_LENGTH = 64
const SECONDS = /^\d+(?:\.\d+)?$/
// Only the HTTP date forms (IMF-fixdate, RFC 850, asctime) start with a day
// name; Date.parse alone would accept "1" or "2030" as dates.
const HTTP_DATE = /^[A-Za-z]{3}/

/**
 * Milliseconds to wait from an HTTP `Retry-After` value (RFC 9110 10.2.3):
 * delay-seconds or an HTTP date, clamped to `maxMs`. A date in the past gives
 * 0. Negative numbers, garbage and oversized values give undefined, so the
 * caller falls back to its own backoff.
 */
export function parseRetryAfter (value: string | string[] | undefined, nowMs: number, maxMs: number): number | undefined {
  const raw = Array.isArray(value) ? value[0] : value
  if (raw === undefined || raw.length > MAX_LENGTH) return undefined
  const text = raw.trim()
  let ms: number
  if (SECONDS.test(text)) {
    ms = Math.ceil(Number(text) * 1000)
  } else if (HTTP_DATE.test(text)) {
    const at = Date.parse(text)
    if (Number.isNaN(at)) return undefined
    ms = Math.max(0, at - nowMs)
  } else {
    return undefined
  }
  // Also catches "9".repeat(60) (Infinity after the multiplication).
  return ms > maxMs ? maxMs : ms
}
