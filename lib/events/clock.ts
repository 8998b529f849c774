// RFC 3339 UTC timestamps with milliseconds. Date#toISOString costs ~8.5k
// instructions (V8 formats it through snprintf), more than the whole
// per-request budget: the text up to the seconds is formatted once per
// second, and the milliseconds come from a table.
const MILLIS: readonly string[] = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0') + 'Z')

let lastSecond = Number.NaN
let secondPrefix = '' // "YYYY-MM-DDTHH:MM:SS."

export function isoTime (nowMs: number): string {
  const second = Math.floor(nowMs / 1000)
  if (second !== lastSecond) {
    lastSecond = second
    secondPrefix = new Date(second * 1000).toISOString().slice(0, 20)
  }
  return secondPrefix + (MILLIS[nowMs - second * 1000] as string)
}
