// RFC 3339 UTC timestamps with milliseconds. toISOString() allocates a Date
// and a string; under load many events share a millisecond, so the text is
// cached per millisecond and reused.
let lastMs = -1
let lastIso = ''

export function isoTime (nowMs: number): string {
  if (nowMs !== lastMs) {
    lastMs = nowMs
    lastIso = new Date(nowMs).toISOString()
  }
  return lastIso
}
