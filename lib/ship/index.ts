// The ship stage as the plugin sees it: one factory that turns the resolved
// options into the sink of the mode (or none, in `off` mode).
import type { Counters } from '../counters'
import type { ResolvedOptions } from '../types'
import { USER_AGENT } from '../version'
import { Shipper } from './shipper'
import { FileSink } from './sink-file'
import type { Sink, SinkLogger } from './sink'

export type { Sink, SinkLogger } from './sink'

/** The sink of `options.mode`: the HTTP shipper, the local file writer, or undefined in `off` mode. */
export function createSink (options: ResolvedOptions, apiKey: string | undefined, counters: Counters, log: SinkLogger): Sink | undefined {
  if (options.mode === 'local') {
    return new FileSink({
      path: options.localLogPath as string,
      counters,
      log,
      queueSize: options.queueSize,
      batchSize: options.batchSize,
      flushIntervalMs: options.flushIntervalMs
    })
  }
  if (options.mode === 'ship') {
    return new Shipper({
      endpoint: options.endpoint,
      apiKey: apiKey as string,
      userAgent: USER_AGENT,
      counters,
      log,
      queueSize: options.queueSize,
      batchSize: options.batchSize,
      flushIntervalMs: options.flushIntervalMs,
      requestTimeoutMs: options.requestTimeoutMs,
      retryDeadlineMs: options.retryDeadlineMs,
      maxRetryAfterMs: options.maxRetryAfterMs,
      breakerThreshold: options.breakerThreshold,
      breakerCooldownMs: options.breakerCooldownMs,
      gzipLevel: options.gzipLevel
    })
  }
  return undefined
}
