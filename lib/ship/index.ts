// The ship stage as the plugin sees it: one factory that turns the resolved
// options into the sink of the mode (or none, in `off` mode). Both modes share
// the Batcher; only the exporter differs.
import type { Dispatcher } from 'undici'
import type { Counters } from '../counters'
import type { ResolvedOptions } from '../types'
import { USER_AGENT } from '../version'
import { Batcher } from './batcher'
import type { Exporter } from './exporter'
import { FileExporter } from './file-exporter'
import { HttpExporter } from './http-exporter'
import type { Sink } from './sink'
import type { PluginLog } from '../guard'

export type { Sink } from './sink'

/**
 * The sink of `options.mode`: a Batcher in front of the HTTP or the file
 * exporter, or undefined in `off` mode. `dispatcher` (the option of that name,
 * `ship` mode only) is how the ingest is reached; it stays the caller's.
 */
export function createSink (options: ResolvedOptions, apiKey: string | undefined, counters: Counters, log: PluginLog, dispatcher?: Dispatcher): Sink | undefined {
  let exporter: Exporter
  if (options.mode === 'local') {
    exporter = new FileExporter({ path: options.localLogPath as string, counters, log })
  } else if (options.mode === 'ship') {
    exporter = new HttpExporter({
      endpoint: options.endpoint,
      apiKey: apiKey as string,
      userAgent: USER_AGENT,
      counters,
      log,
      requestTimeoutMs: options.requestTimeoutMs,
      retryDeadlineMs: options.retryDeadlineMs,
      maxRetryAfterMs: options.maxRetryAfterMs,
      breakerThreshold: options.breakerThreshold,
      breakerCooldownMs: options.breakerCooldownMs,
      gzipLevel: options.gzipLevel,
      dispatcher
    })
  } else {
    return undefined
  }
  return new Batcher({
    exporter,
    counters,
    log,
    queueSize: options.queueSize,
    maxQueueBytes: options.maxQueueBytes,
    batchSize: options.batchSize,
    flushIntervalMs: options.flushIntervalMs
  })
}
