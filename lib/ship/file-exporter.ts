// `local` mode transport: each batch is appended to the log file as NDJSON
// lines (no gzip), with one appendFile per batch. A failed write drops its
// batch (counted as dropped.io): a full disk must never slow a request or
// grow memory, and resending would only fail the same way.
import { appendFile, mkdir } from 'node:fs/promises'
import { dirname } from 'node:path'
import type { Counters } from '../counters'
import { emptyResult } from './exporter'
import type { Exporter, ExportResult } from './exporter'
import { safeLogger } from './sink'
import type { PluginLog } from '../guard'

export interface FileExporterOptions {
  /** The NDJSON file; its folder is created on the first write. */
  path: string
  /** Where `failures` and `lastSendAt` are kept. */
  counters: Counters
  log: PluginLog
}

/**
 * Appends batches to a file. Never paused, nothing to retry; the signal is
 * not used to cut a write short, since half a line would corrupt the file
 * (an append takes milliseconds, well inside the Batcher's abort wait).
 */
export class FileExporter implements Exporter {
  private readonly path: string
  private readonly counters: Counters
  private readonly log: PluginLog
  private dirReady = false
  /** In a failure streak: warned once, and an info line is due on recovery. */
  private failing = false

  constructor (opts: FileExporterOptions) {
    this.path = opts.path
    this.counters = opts.counters
    this.log = safeLogger(opts.log)
  }

  readyAt (now: number): number {
    return now
  }

  async export (lines: string[], signal: AbortSignal): Promise<ExportResult> {
    const result = emptyResult()
    if (signal.aborted) {
      result.shutdown = lines.length
      return result
    }
    this.counters.lastSendAt = new Date().toISOString()
    try {
      if (!this.dirReady) {
        await mkdir(dirname(this.path), { recursive: true })
        this.dirReady = true
      }
      // Created readable by its owner only: the events hold client IPs and the fields the app recorded.
      await appendFile(this.path, lines.join('\n') + '\n', { mode: 0o600 })
    } catch (err) {
      this.counters.failures++
      result.io = lines.length
      // One warning per failure streak, not per batch: a full disk must not flood the log.
      if (!this.failing) {
        this.failing = true
        this.log.warn({ err, path: this.path }, 'appfirewall: cannot write local event log; events are dropped (counted as dropped.io)')
      }
      return result
    }
    result.sent = lines.length
    result.deliveries = 1
    if (this.failing) {
      this.failing = false
      this.log.info({ path: this.path }, 'appfirewall: local log writable again')
    }
    return result
  }

  closing (): void {}

  async shutdown (): Promise<void> {}
}
