// The fail-open boundary. Every error inside the plugin is caught where it
// crosses into Fastify and handed here; what happens next is the `onError`
// option. Logging itself is guarded: a broken logger must not break a request.
import type { FastifyBaseLogger } from 'fastify'
import type { OnErrorMode } from './types'
import type { FaultInjection, Stage } from './faults'
import { FST_APPFIREWALL_INJECTED_FAULT } from './errors'

/** Per stage, this many internal errors are logged, then one in every 1000 (an attack must not flood the log). */
const LOG_FIRST = 10

/** The logger the parts report state changes through: the Fastify logger, child-tagged, guarded. */
export interface PluginLog {
  warn: (obj: object, msg: string) => void
  info: (obj: object, msg: string) => void
}

export class Guard {
  private readonly seen = new Map<string, number>()

  constructor (
    private readonly mode: OnErrorMode,
    private readonly logger: FastifyBaseLogger,
    private readonly faults: FaultInjection | undefined
  ) {}

  /** Throws when a test injected a fault at this stage; otherwise nothing. */
  fault (stage: Stage): void {
    if (this.faults !== undefined && this.faults.throwAt.has(stage)) {
      throw new FST_APPFIREWALL_INJECTED_FAULT(stage)
    }
  }

  /** The guarded logger for the parts (a logger that throws costs a log line, never a request). */
  readonly pluginLog: PluginLog = {
    warn: (obj, msg) => { this.log('warn', obj, msg) },
    info: (obj, msg) => { this.log('info', obj, msg) }
  }

  log (level: 'warn' | 'info' | 'error', obj: object, msg: string): void {
    try {
      this.logger[level](obj, msg)
    } catch {
      // A logger that throws has nowhere to report to; the request goes on.
    }
  }

  error (err: unknown, stage: Stage): void {
    if (this.mode === 'ignore') return
    const n = (this.seen.get(stage) ?? 0) + 1
    this.seen.set(stage, n)
    if (this.mode === 'raise') {
      this.log('error', { err, stage }, 'appfirewall: internal error (onError: "raise")')
      // Re-thrown outside the request's call chain: the response the app
      // produced is already on its way, so the request is not broken, but a
      // test run sees the failure as an uncaught exception.
      process.nextTick(() => { throw err })
      return
    }
    if (n <= LOG_FIRST || n % 1000 === 0) {
      this.log('warn', { err, stage, occurrences: n }, 'appfirewall: internal error; the request was served unchanged')
    }
  }

  /** Calls a user hook (skip) so that it cannot throw into the request; a throwing hook counts as false. */
  call<A> (fn: (arg: A) => boolean, arg: A): boolean {
    try {
      const result: unknown = fn(arg)
      // An async hook returns a promise: its answer comes too late to use
      // (a promise is not `true`), and its rejection must not go unhandled.
      if (result !== null && typeof result === 'object' && typeof (result as { then?: unknown }).then === 'function') {
        Promise.resolve(result).catch(this.onHookRejection)
        if (!this.asyncHookWarned) {
          this.asyncHookWarned = true
          this.log('warn', {}, 'appfirewall: skip returned a promise; it must answer synchronously, so the request was not skipped')
        }
        return false
      }
      return result === true
    } catch (err) {
      this.error(err, 'hook')
      return false
    }
  }

  private asyncHookWarned = false
  private readonly onHookRejection = (err: unknown): void => { this.error(err, 'hook') }
}
