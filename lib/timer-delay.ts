// Node turns a timer delay above 2^31-1 ms (about 24.8 days) into 1 ms, with a
// TimeoutOverflowWarning: a huge option or flush(Infinity) would then fire at
// once, and an interval would spin. Every timer of the plugin goes through this.
const MAX_TIMER_MS = 2_147_483_647

/** A delay in ms that Node's timers keep as given: clamped to 0..2^31-1 (NaN and negatives give 0). */
export function timerDelay (ms: number): number {
  return ms > MAX_TIMER_MS ? MAX_TIMER_MS : ms >= 0 ? ms : 0
}
