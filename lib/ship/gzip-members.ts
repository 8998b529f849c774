// The gzip step of `ship` mode: one zlib stream for the exporter's life, each
// batch compressed into one complete gzip member (RFC 1952 §2.2: a file is a
// series of members; an HTTP `Content-Encoding: gzip` body is one).
//
// Why not `zlib.gzip()` per batch, as before. On Node 24 and 26 each call's
// zlib handle outlived every scavenge, and with it the batch's UTF-8 body
// and zlib's output chunk, until a full mark-compact: ~180 KiB of
// ArrayBuffers per 500-line batch (test/ship-arraybuffers.test.ts; Node 20
// and 22 freed them young). The likely reason: Node's zlib code sets
// properties on the handle, and V8 keeps API wrapper objects a script has
// modified alive through a scavenge. At 6 500 req/s (13 batches/s) that was
// ~2 MB/s and a mark-compact every 4-5 s, whose marking steps took 10-28 ms
// on the main thread; on a one-core server V8's concurrent marking threads
// shared that core too, and 1-2% of requests waited 15-40 ms
// (benchmarks/RESULTS.md, issue 10). With one stream the handle is made
// once; a batch leaves nothing behind but its own output, which dies young.
import { createGzip, constants } from 'node:zlib'
import type { Gzip } from 'node:zlib'
import { FST_APPFIREWALL_CLOSED } from '../errors'

/**
 * Compresses each input into one gzip member on a stream made once (and again
 * only after an error). Calls are queued: one member at a time, in call
 * order. `close()` ends it: later calls reject.
 */
export class GzipMembers {
  private stream: Gzip | null = null
  private chunks: Buffer[] = []
  /** The last member queued; the next one starts when it has settled. */
  private tail: Promise<unknown> = Promise.resolve()
  private closed = false

  /** `level`: zlib's compression level, 0-9. */
  constructor (private readonly level: number) {}

  /**
   * The gzip member of `input`, in a Buffer of its own (the caller may keep
   * it). Rejects with zlib's error, or FST_APPFIREWALL_CLOSED after close().
   */
  compress (input: Buffer): Promise<Buffer> {
    const member = this.tail.then(() => this.once(input))
    this.tail = member.catch(noop)
    return member
  }

  /** Frees the stream; a member under way rejects. */
  close (): void {
    this.closed = true
    this.discard()
  }

  private once (input: Buffer): Promise<Buffer> {
    return new Promise<Buffer>((resolve, reject) => {
      if (this.closed) {
        reject(new FST_APPFIREWALL_CLOSED('compressing a batch'))
        return
      }
      const stream = this.stream !== null && !this.stream.destroyed ? this.stream : this.open()
      let settled = false
      const fail = (err: unknown): void => {
        if (settled) return
        settled = true
        this.discard()
        // No error: the stream was closed under it (close(), or a member before it failed).
        reject(err instanceof Error ? err : new FST_APPFIREWALL_CLOSED('compressing a batch'))
      }
      stream.once('error', fail)
      stream.once('close', fail)
      try {
        stream.write(input)
      } catch (err) {
        // Not a Buffer (the exporter always passes one): nothing was queued.
        stream.removeListener('error', fail)
        stream.removeListener('close', fail)
        fail(err)
        return
      }
      // Z_FINISH ends the deflate stream with its trailer (CRC-32, length);
      // the write's callback runs once zlib has returned every byte of it,
      // each pushed to 'data' before (flowing, with nothing buffered, push
      // emits at once).
      stream.flush(constants.Z_FINISH, (err?: Error | null) => {
        stream.removeListener('error', fail)
        stream.removeListener('close', fail)
        if (settled) return
        // Destroyed: by close(), by a failure, or by discard() (which also
        // unsets this.stream), so no separate check of which stream is current.
        if (err != null || stream.destroyed) {
          fail(err)
          return
        }
        settled = true
        const out = Buffer.concat(this.chunks)
        this.chunks = []
        // deflateReset: the next input starts a new member, header included.
        // (zlib.reset() is documented for every deflate stream; @types/node
        // declares it on Deflate and DeflateRaw only.) Should it fail, Node
        // destroys the stream: the next call opens a new one.
        try {
          ;(stream as Gzip & { reset: () => void }).reset()
        } catch {
          this.discard()
        }
        resolve(out)
      })
    })
  }

  private open (): Gzip {
    const stream = createGzip({ level: this.level })
    stream.on('data', (chunk: Buffer) => { this.chunks.push(chunk) })
    // Errors are taken by the member under way ('error' above); this keeps one
    // that comes between members from being an uncaught exception.
    stream.on('error', noop)
    // A stream that dies between members is not used again.
    stream.once('close', () => {
      if (this.stream === stream) {
        this.stream = null
        this.chunks = []
      }
    })
    this.stream = stream
    return stream
  }

  private discard (): void {
    const stream = this.stream
    this.stream = null
    this.chunks = []
    if (stream !== null) stream.destroy()
  }
}

function noop (): void {}
