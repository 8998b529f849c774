// Reading event files for the report: raw bytes from a file or stdin, gunzip
// when the content is gzip (whatever the name), then lines. Memory stays
// bounded whatever the input: a line longer than the cap is dropped as it
// streams past instead of being buffered whole (readline would buffer a
// 1 GB line without a newline in full).
import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import { createGunzip } from 'node:zlib'
import { Readable, pipeline } from 'node:stream'

/** Longest line the report reads, in bytes (without its newline): longer ones are counted as malformed and skipped. */
export const MAX_LINE_BYTES = 1024 * 1024

/** Bytes asked of the file system per read: large reads are what makes a 1 GB file quick. */
const READ_CHUNK = 256 * 1024

/**
 * Splits a byte stream into lines at `\n` (a `\r` before it is dropped, blank
 * lines are skipped). Complete lines go to `onLine` as UTF-8 text with their
 * 1-based line number; a line longer than `maxLineBytes` goes to `onOverlong`
 * (its number and its length in bytes) and is never held whole: at most
 * `maxLineBytes` of it are kept while it streams past.
 */
export class LineSplitter {
  /** Number of the line being read (1-based; lines seen so far, blank ones included). */
  lineNo = 0
  private pending: Buffer[] = []
  private pendingBytes = 0
  /** Bytes of the current line while it is being dropped (over the cap), else -1. */
  private dropping = -1

  constructor (
    private readonly onLine: (text: string, lineNo: number) => void,
    private readonly onOverlong: (lineNo: number, bytes: number) => void,
    private readonly maxLineBytes: number = MAX_LINE_BYTES
  ) {}

  /** Feeds one chunk of the stream. */
  push (chunk: Buffer): void {
    let start = 0
    const n = chunk.length
    while (start < n) {
      const nl = chunk.indexOf(10, start)
      if (nl === -1) {
        this.hold(chunk, start, n)
        return
      }
      this.lineNo++
      if (this.dropping !== -1) {
        this.onOverlong(this.lineNo, this.dropping + (nl - start))
        this.dropping = -1
      } else if (this.pendingBytes === 0) {
        this.emit(chunk, start, nl)
      } else if (this.pendingBytes + (nl - start) > this.maxLineBytes) {
        this.onOverlong(this.lineNo, this.pendingBytes + (nl - start))
        this.clear()
      } else {
        this.pending.push(chunk.subarray(start, nl))
        const whole = Buffer.concat(this.pending, this.pendingBytes + (nl - start))
        this.clear()
        this.emit(whole, 0, whole.length)
      }
      start = nl + 1
    }
  }

  /** The stream ended: a last line without a newline is still a line. */
  end (): void {
    if (this.dropping !== -1) {
      this.lineNo++
      this.onOverlong(this.lineNo, this.dropping)
      this.dropping = -1
    } else if (this.pendingBytes > 0) {
      this.lineNo++
      const whole = Buffer.concat(this.pending, this.pendingBytes)
      this.clear()
      this.emit(whole, 0, whole.length)
    }
  }

  /** The stream broke off: what is held of an unfinished line, in bytes (0 when none), forgotten. */
  abandon (): number {
    const bytes = this.dropping !== -1 ? this.dropping : this.pendingBytes
    this.clear()
    this.dropping = -1
    return bytes
  }

  private hold (chunk: Buffer, start: number, end: number): void {
    const len = end - start
    if (this.dropping !== -1) {
      this.dropping += len
    } else if (this.pendingBytes + len > this.maxLineBytes) {
      this.dropping = this.pendingBytes + len
      this.clear()
    } else {
      // A copy: a subarray would keep the whole read buffer alive while a long line accumulates.
      this.pending.push(Buffer.from(chunk.subarray(start, end)))
      this.pendingBytes += len
    }
  }

  private clear (): void {
    this.pending = []
    this.pendingBytes = 0
  }

  private emit (buf: Buffer, start: number, end: number): void {
    if (end > start && buf[end - 1] === 13) end--
    if (end === start) return
    this.onLine(buf.toString('utf8', start, end), this.lineNo)
  }
}

/** Where a source's bytes are: `rawBytes` read so far (compressed, for gzip), out of `totalBytes` (undefined for stdin or a pipe). */
export interface SourceInfo {
  name: string
  gzip: boolean
  rawBytes: number
  totalBytes: number | undefined
}

/**
 * The decompressed chunks of one source: `path` (a file), or `stdin` when the
 * path is `-`. gzip is recognised by its magic bytes (1f 8b), so an ingest's
 * `.ndjson.gz`, a rotated `events.ndjson.1.gz` and `zcat`-less stdin all
 * work; several concatenated gzip members (one per batch) are read as one
 * stream. Rejects (through the iteration) with the file system's or zlib's
 * error: ENOENT, EISDIR, EACCES, or a truncated gzip's "unexpected end of file".
 */
export async function * openSource (path: string, info: SourceInfo, stdin: Readable): AsyncGenerator<Buffer> {
  let raw: AsyncIterable<Buffer>
  if (path === '-') {
    raw = stdin
  } else {
    // ENOENT and EACCES are thrown here; a directory throws EISDIR at its first read.
    const st = await stat(path)
    info.totalBytes = st.isFile() ? st.size : undefined
    raw = createReadStream(path, { highWaterMark: READ_CHUNK })
  }
  const it = counted(raw, info)[Symbol.asyncIterator]()
  // The first two bytes decide; a pipe may hand them over one at a time.
  let head: Buffer = Buffer.alloc(0)
  while (head.length < 2) {
    const r = await it.next()
    if (r.done === true) break
    head = head.length === 0 ? r.value : Buffer.concat([head, r.value])
  }
  if (head.length === 0) return
  const rest = async function * (): AsyncGenerator<Buffer> {
    yield head
    for (let r = await it.next(); r.done !== true; r = await it.next()) yield r.value
  }
  if (head[0] !== 0x1f || head[1] !== 0x8b) {
    yield * rest()
    return
  }
  info.gzip = true
  // Gunzip reads concatenated members as one stream (Node's default), which
  // is how batches appended one after another are stored.
  const gunzip = createGunzip({ chunkSize: 64 * 1024 })
  pipeline(Readable.from(rest(), { objectMode: false }), gunzip, () => {
    // Errors surface through the iteration of gunzip below.
  })
  for await (const chunk of gunzip) yield chunk as Buffer
}

async function * counted (raw: AsyncIterable<Buffer | string>, info: SourceInfo): AsyncGenerator<Buffer> {
  for await (const chunk of raw) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk
    info.rawBytes += buf.length
    yield buf
  }
}
