/**
 * Delay before retry number `attempt` (1 for the first retry): exponential
 * from `baseMs`, capped at `maxMs`, with "equal jitter" (a random point in the
 * upper half) so that many instances that failed together do not retry in
 * lockstep, while every wait stays at least half the nominal delay.
 */
export function backoffDelay (attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const exp = Math.min(maxMs, baseMs * 2 ** Math.min(attempt - 1, 30))
  const half = exp / 2
  return Math.round(half + random() * half)
}
