import type { BreakerState } from '../types'

/**
 * Circuit breaker over the ingest. Pure: the caller passes the clock in, and
 * each transition method returns whether the state changed, so the caller
 * logs state changes only (never one line per batch).
 *
 * closed -> open after `threshold` retryable failures in a row; open ->
 * half_open once `cooldownMs` has passed (checked by `readyAt`); in half_open
 * the next attempt is the probe: success closes, failure opens again.
 */
export class Breaker {
  state: BreakerState = 'closed'
  private streak = 0
  private openUntil = 0

  constructor (private readonly threshold: number, private readonly cooldownMs: number) {}

  /** Earliest time a send may start. Moves open to half_open when the cooldown is over. */
  readyAt (now: number): number {
    if (this.state !== 'open') return now
    if (now < this.openUntil) return this.openUntil
    this.state = 'half_open'
    return now
  }

  /** Ends the cooldown now, so the next send is the probe (used at shutdown: the last chance to send). */
  endCooldown (): void {
    if (this.state === 'open') this.openUntil = 0
  }

  /** The ingest answered (2xx, or a refusal that says it is up). Returns true when the breaker closed. */
  onAnswer (): boolean {
    this.streak = 0
    if (this.state === 'closed') return false
    this.state = 'closed'
    return true
  }

  /** A retryable failure. Returns true when the breaker (re)opened. */
  onFailure (now: number): boolean {
    this.streak++
    if (this.state === 'half_open' || (this.state === 'closed' && this.streak >= this.threshold)) {
      this.state = 'open'
      this.openUntil = now + this.cooldownMs
      return true
    }
    return false
  }
}
