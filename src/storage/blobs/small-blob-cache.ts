// Blobs are immutable (the key is the SHA-256 of the bytes), so small ones can be kept in memory
// without any invalidation: the bench showed opening, reading and closing a file costing more server
// CPU than everything else on a 1 KiB download. Bounded by entry size and total bytes (LRU).
import { buffer as readAll } from 'node:stream/consumers'
import type { Readable } from 'node:stream'
import type { BlobKey, BlobStore, ByteRange } from './blob-store.js'

export const SMALL_BLOB_MAX = 64 * 1024
const TOTAL_MAX = 32 * 1024 * 1024

export class SmallBlobCache {
  readonly #entries = new Map<BlobKey, Buffer>()
  #bytes = 0

  constructor(private readonly blobs: BlobStore, private readonly maxEntry = SMALL_BLOB_MAX, private readonly maxTotal = TOTAL_MAX) {}

  /** The bytes (a Buffer for small blobs, a stream otherwise); `size` is the blob's size from its row. */
  async open(key: BlobKey, size: number, range?: ByteRange): Promise<Readable | Buffer> {
    if (size > this.maxEntry) return this.blobs.open(key, range)
    let buf = this.#entries.get(key)
    if (buf) {
      // Most recently used goes last.
      this.#entries.delete(key)
      this.#entries.set(key, buf)
    } else {
      buf = await readAll(await this.blobs.open(key))
      if (buf.length !== size) return this.blobs.open(key, range) // not what the row says: don't cache
      this.#remember(key, buf)
    }
    return range ? buf.subarray(range.start, range.end + 1) : buf
  }

  forget(key: BlobKey): void {
    const b = this.#entries.get(key)
    if (b) {
      this.#bytes -= b.length
      this.#entries.delete(key)
    }
  }

  #remember(key: BlobKey, buf: Buffer): void {
    this.#entries.set(key, buf)
    this.#bytes += buf.length
    for (const [k, b] of this.#entries) {
      if (this.#bytes <= this.maxTotal) break
      this.#entries.delete(k)
      this.#bytes -= b.length
    }
  }
}

