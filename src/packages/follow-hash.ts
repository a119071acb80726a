// Hashes a file while it is being written, in a worker thread: the thread that serves requests only
// moves the bytes from the socket to the file. Inline, SHA-256 (~1.2 GB/s here) on the same thread
// as the socket reads held a 1 GiB upload to half the disk's speed (bench/README.md).
//
// The writer (FollowedFile below) publishes how many bytes of the file are written, in shared
// memory; the worker reads the file up to there (from the page cache) and hashes, waits for more
// (Atomics.wait), and when the writer says the file is complete, hashes the rest and answers.
import { Worker } from 'node:worker_threads'
import { Writable } from 'node:stream'
import type { FileHandle } from 'node:fs/promises'

export type FollowAlgorithm = 'md5' | 'sha1' | 'sha256' | 'sha512'

// Int32 slots of the shared memory: a change counter the worker waits on, and a done flag; then the
// written byte count as a BigInt64 at byte offset 8.
const SEQ = 0
const DONE = 1

/** The writer wakes the worker each time this many more bytes are written. */
const NOTIFY_EVERY = 4 * 1024 * 1024

// Plain JavaScript run with eval, so the same code works from dist/ and under tsx in tests.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads')
const { createHash } = require('node:crypto')
const { openSync, readSync, closeSync } = require('node:fs')
const { file, algs, shared } = workerData
const flags = new Int32Array(shared, 0, 2)
const written = new BigInt64Array(shared, 8, 1)
const hashes = algs.map((a) => [a, createHash(a)])
const buf = Buffer.allocUnsafe(1 << 20)
const fd = openSync(file, 'r')
let offset = 0
try {
  for (;;) {
    const seq = Atomics.load(flags, ${SEQ})
    const done = Atomics.load(flags, ${DONE}) === 1
    const upTo = Number(Atomics.load(written, 0))
    while (offset < upTo) {
      const n = readSync(fd, buf, 0, Math.min(buf.length, upTo - offset), offset)
      if (n === 0) throw new Error('the file is shorter than written: ' + offset + ' of ' + upTo)
      const chunk = n === buf.length ? buf : buf.subarray(0, n)
      for (const [, h] of hashes) h.update(chunk)
      offset += n
    }
    if (done) break
    Atomics.wait(flags, ${SEQ}, seq, 100)
  }
} finally {
  closeSync(fd)
}
parentPort.postMessage({ size: offset, digests: Object.fromEntries(hashes.map(([a, h]) => [a, h.digest('hex')])) })
`

export interface FollowResult {
  readonly size: number
  readonly digests: Partial<Record<FollowAlgorithm, string>>
}

/** A Writable to an open file handle whose written bytes a worker hashes as they land. */
export class FollowedFile extends Writable {
  readonly #fh: FileHandle
  readonly #flags: Int32Array
  readonly #written: BigInt64Array
  readonly #worker: Worker
  readonly #result: Promise<FollowResult>
  #position = 0
  /** #position when the worker was last woken. */
  #notified = 0

  constructor(fh: FileHandle, file: string, algs: readonly FollowAlgorithm[]) {
    super({ highWaterMark: 1 << 20 })
    this.#fh = fh
    const shared = new SharedArrayBuffer(16)
    this.#flags = new Int32Array(shared, 0, 2)
    this.#written = new BigInt64Array(shared, 8, 1)
    this.#worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { file, algs, shared } })
    this.#result = new Promise<FollowResult>((resolve, reject) => {
      this.#worker.once('message', (m: FollowResult) => resolve(m))
      this.#worker.once('error', reject)
      this.#worker.once('exit', (code) => reject(new Error(`hash worker exited with code ${code}`)))
    })
    // Nobody may be waiting yet (the upload failed first): never an unhandled rejection.
    this.#result.catch(() => {})
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this._writev([{ chunk }], cb)
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, cb: (err?: Error | null) => void): void {
    const buffers = chunks.map((c) => c.chunk)
    const length = buffers.reduce((n, b) => n + b.length, 0)
    this.#writeAll(buffers, length).then(() => {
      this.#position += length
      Atomics.store(this.#written, 0, BigInt(this.#position))
      // Woken every NOTIFY_EVERY bytes, not after every write: a wake-up of the worker's thread cost
      // the request's thread ~12 µs a time, 16,000 times per GiB of 64 KiB socket reads (bench/README.md,
      // seventh session). A worker that caught up meanwhile reads the new bytes at the next wake-up
      // (or its 100 ms wait ends); digests() wakes it for the rest.
      if (this.#position - this.#notified >= NOTIFY_EVERY) {
        this.#notified = this.#position
        Atomics.add(this.#flags, SEQ, 1)
        Atomics.notify(this.#flags, SEQ)
      }
      cb()
    }, (err: unknown) => cb(err instanceof Error ? err : new Error(String(err))))
  }

  async #writeAll(buffers: Buffer[], length: number): Promise<void> {
    let done = 0
    while (done < length) {
      // writev may write less than asked: go on from where it stopped.
      const { bytesWritten } = await this.#fh.writev(done === 0 ? buffers : [Buffer.concat(buffers).subarray(done)], this.#position + done)
      done += bytesWritten
    }
  }

  /** After the last write: the digests of everything written. */
  async digests(): Promise<FollowResult> {
    Atomics.store(this.#flags, DONE, 1)
    Atomics.add(this.#flags, SEQ, 1)
    Atomics.notify(this.#flags, SEQ)
    try {
      return await this.#result
    } finally {
      void this.#worker.terminate()
    }
  }

  /** The upload failed: stop the worker. */
  abandon(): void {
    void this.#worker.terminate()
  }
}
