// A file read stream that, piped into an HTTP response, reads into a few reused 1 MiB buffers
// instead of a new one per chunk. With fs.ReadStream a 1 GiB download allocated ~1,000 buffers of
// external memory, and V8 answered with mark-compacts of the whole heap (~15 per GiB, ~20 ms each
// on the AMD machine): the slow rounds of bench scenario c. A buffer goes back to the pool only when
// the socket's write callback says its bytes have been handed to the kernel (or encrypted, for
// TLS); a failed write drops it, so a buffer libuv might still read is never reused.
// Piped anywhere else (a Transform may keep the chunk after its callback) or read any other way,
// it behaves as a plain Readable with a fresh buffer per chunk.
import { ServerResponse } from 'node:http'
import type { FileHandle } from 'node:fs/promises'
import { Readable } from 'node:stream'

const CHUNK = 1024 * 1024
/** Buffers kept for reuse across downloads: at most this many MiB stay allocated when idle. */
const POOL_MAX = 8
const pool: Buffer[] = []

let allocated = 0

function take(): Buffer {
  const b = pool.pop()
  if (b) return b
  allocated++
  return Buffer.allocUnsafeSlow(CHUNK)
}

function give(buf: Buffer): void {
  if (buf.length === CHUNK && pool.length < POOL_MAX) pool.push(buf)
}

/** Buffers in the pool now (tests). */
export function pooledBuffers(): number {
  return pool.length
}

/** Pool-sized buffers allocated so far (tests). */
export function allocatedBuffers(): number {
  return allocated
}

export class FileSendStream extends Readable {
  readonly #fh: FileHandle
  #pos: number
  /** One past the last byte to send. */
  readonly #end: number
  #pumping = false
  #inflight: Promise<unknown> | undefined

  /** Sends bytes start..end (inclusive) of fh, and closes it when done or destroyed. */
  constructor(fh: FileHandle, start: number, end: number) {
    super({ highWaterMark: Math.max(16 * 1024, Math.min(CHUNK, end - start + 1)) })
    this.#fh = fh
    this.#pos = start
    this.#end = end + 1
  }

  override pipe<T extends NodeJS.WritableStream>(dest: T, options?: { end?: boolean }): T {
    if (this.#pumping || this.readableFlowing !== null || !(dest instanceof ServerResponse) || options?.end === false) {
      return super.pipe(dest, options)
    }
    this.#pumping = true
    this.#pump(dest).catch((err: unknown) => this.destroy(err as Error))
    return dest
  }

  async #pump(dest: ServerResponse): Promise<void> {
    let next = this.#pos < this.#end ? this.#readInto(this.#buffer()) : undefined
    while (next) {
      const { buf, n } = await next
      if (this.destroyed || dest.destroyed) {
        this.destroy()
        return
      }
      if (n === 0) throw new Error('blob file is shorter than its recorded size')
      next = this.#pos < this.#end ? this.#readInto(this.#buffer()) : undefined
      const ok = dest.write(n === buf.length ? buf : buf.subarray(0, n), (err) => {
        if (!err) give(buf)
      })
      if (!ok && !(await drained(dest))) {
        this.destroy()
        return
      }
    }
    // 'end' for whoever watches this stream (Fastify does), then finish the response like pipe().
    this.push(null)
    this.resume()
    dest.end()
  }

  /**
   * A pooled buffer for a whole chunk; for what is left below a chunk (every small file), a buffer of
   * that size, not pooled: a 1 KiB download must not hold (or, with the pool empty under many
   * connections, allocate) a whole MiB.
   */
  #buffer(): Buffer {
    const left = this.#end - this.#pos
    return left >= CHUNK ? take() : Buffer.allocUnsafe(left)
  }

  async #readInto(buf: Buffer): Promise<{ buf: Buffer, n: number }> {
    const p = this.#fh.read(buf, 0, Math.min(buf.length, this.#end - this.#pos), this.#pos)
    this.#inflight = p
    const { bytesRead } = await p
    this.#pos += bytesRead
    return { buf, n: bytesRead }
  }

  override _read(): void {
    const length = Math.min(CHUNK, this.#end - this.#pos)
    if (length <= 0) {
      this.push(null)
      return
    }
    this.#readInto(Buffer.allocUnsafe(length)).then(({ buf, n }) => {
      if (n === 0) this.destroy(new Error('blob file is shorter than its recorded size'))
      else this.push(n === buf.length ? buf : buf.subarray(0, n))
    }, (err: unknown) => this.destroy(err as Error))
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    // a read still running must finish before its descriptor is closed (and possibly reused)
    const pending = this.#inflight?.catch(() => undefined) ?? Promise.resolve()
    pending.then(() => this.#fh.close()).then(() => callback(err), (closeErr: unknown) => callback(err ?? closeErr as Error))
  }
}

/** Resolves true on 'drain', false when the response closes or fails first. */
function drained(dest: ServerResponse): Promise<boolean> {
  return new Promise((resolve) => {
    const done = (ok: boolean) => () => {
      dest.off('drain', onDrain)
      dest.off('close', onClose)
      dest.off('error', onClose)
      resolve(ok)
    }
    const onDrain = done(true)
    const onClose = done(false)
    dest.on('drain', onDrain)
    dest.on('close', onClose)
    dest.on('error', onClose)
  })
}
