// `local` mode: the same NDJSON lines, appended to a file (no gzip). The
// request path only pushes into the ring; a single writer drains it out of
// band with one appendFile per batch, so a slow disk never slows a request.
import { mkdir, appendFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { Ring } from './ring'
import type { Counters } from '../counters'
import type { Sink, SinkLogger } from './sink'

export interface FileSinkOptions {
  path: string
  counters: Counters
  log: SinkLogger
  queueSize: number
  batchSize: number
  flushIntervalMs: number
}

export class FileSink implements Sink {
  private readonly ring: Ring<string>
  private readonly opts: FileSinkOptions
  private readonly timer: NodeJS.Timeout
  private writing = 0 // lines in the append under way
  private drainScheduled = false
  private dirReady = false
  private warned = false
  private overflowWarned = false
  private closed = false
  private idle: Array<() => void> = []

  constructor (opts: FileSinkOptions) {
    this.opts = opts
    this.ring = new Ring<string>(opts.queueSize)
    // One interval for the sink's lifetime, unref'd: it never keeps the process alive.
    this.timer = setInterval(() => { this.drain() }, opts.flushIntervalMs)
    this.timer.unref()
  }

  push (line: string): void {
    const c = this.opts.counters
    c.emitted++
    if (this.ring.push(line)) {
      c.dropped.overflow++
      if (!this.overflowWarned) {
        this.overflowWarned = true
        this.opts.log.warn({ queueSize: this.opts.queueSize }, 'appfirewall: local event queue full, dropping oldest events')
      }
    }
    if (this.ring.size >= this.opts.batchSize && !this.drainScheduled) {
      this.drainScheduled = true
      setImmediate(() => { this.drainScheduled = false; this.drain() }).unref()
    }
  }

  queued (): number { return this.ring.size }
  inFlight (): number { return this.writing }

  private drain (): void {
    if (this.writing > 0 || this.ring.size === 0) {
      if (this.writing === 0) this.settleIdle()
      return
    }
    const lines = this.ring.shift(this.opts.batchSize)
    this.writing = lines.length
    this.write(lines).then((ok) => {
      const c = this.opts.counters
      if (ok) c.sent += lines.length
      else c.dropped.io += lines.length
      c.lastSendAt = new Date().toISOString()
      this.writing = 0
      if (this.ring.size > 0) this.drain()
      else this.settleIdle()
    }, /* c8 ignore next */ () => {})
  }

  private async write (lines: string[]): Promise<boolean> {
    try {
      if (!this.dirReady) {
        await mkdir(dirname(this.opts.path), { recursive: true })
        this.dirReady = true
      }
      await appendFile(this.opts.path, lines.join('\n') + '\n')
      if (this.warned) {
        this.warned = false
        this.opts.log.info({ path: this.opts.path }, 'appfirewall: local log writable again')
      }
      return true
    } catch (err) {
      // One warning per failure streak, not per batch: a full disk must not flood the log.
      if (!this.warned) {
        this.warned = true
        this.opts.log.warn({ err, path: this.opts.path }, 'appfirewall: cannot write local event log; events are dropped (counted as dropped.io)')
      }
      return false
    }
  }

  private settleIdle (): void {
    const waiters = this.idle
    this.idle = []
    for (const w of waiters) w()
  }

  flush (timeoutMs = 5000): Promise<boolean> {
    if (this.ring.size === 0 && this.writing === 0) return Promise.resolve(true)
    return new Promise<boolean>((resolve) => {
      // This timer stays ref'd: it is what keeps a pending flush() settling.
      const t = setTimeout(() => { resolve(false) }, timeoutMs)
      const done = (): void => {
        if (this.ring.size > 0 || this.writing > 0) { this.idle.push(done); return }
        clearTimeout(t)
        resolve(true)
      }
      this.idle.push(done)
      this.drain()
    })
  }

  async close (graceMs: number): Promise<void> {
    if (this.closed) return
    this.closed = true
    clearInterval(this.timer)
    await this.flush(graceMs)
    const left = this.ring.size
    if (left > 0) {
      this.ring.shift(left)
      this.opts.counters.dropped.shutdown += left
    }
  }
}
