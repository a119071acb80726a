// The MD5, SHA-1 and SHA-512 of a blob that was uploaded without them (upload.ts computes only
// SHA-256 and the announced digests of a large body on the way). Right after the upload, and again
// whenever a reader finds one missing (a restart, another instance), the blob is read back and
// hashed in a worker thread, off the thread that serves requests; the row is then completed.
// Readers wait for it (PackageService), so no response ever shows a missing or wrong digest. One
// computation per blob at a time in this process; the results are the same wherever they are made.
import { Worker } from 'node:worker_threads'
import type { Readable } from 'node:stream'
import type { Kysely } from 'kysely'
import type { Database } from '../storage/db/schema.js'
import type { BlobKey, BlobStore } from '../storage/blobs/blob-store.js'
import type { Checksums } from './upload.js'

export type DeferredAlgorithm = 'md5' | 'sha1' | 'sha512'
export type DeferredDigests = Pick<Checksums, DeferredAlgorithm>

/**
 * The bytes go to the worker in SLABS buffers of SLAB_SIZE that are transferred there and back, never
 * copied and never left to the garbage collector: posting each stream chunk (a copy per message)
 * let the worker's freed copies pile up until its GC ran, ~50 MiB of RSS for a 1 GiB blob read back
 * from S3 (issue 10). With no slab free the blob stream pauses: at most SLABS × SLAB_SIZE in flight.
 */
const SLAB_SIZE = 1024 * 1024
const SLABS = 4

// Plain JavaScript run with eval, so the same code works from dist/ and under tsx in tests.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads')
const { createHash } = require('node:crypto')
const hashes = workerData.algs.map((a) => [a, createHash(a)])
parentPort.on('message', (m) => {
  if (m === null) {
    parentPort.postMessage({ done: Object.fromEntries(hashes.map(([a, h]) => [a, h.digest('hex')])) })
    return
  }
  const bytes = new Uint8Array(m.slab, 0, m.length)
  for (const [, h] of hashes) h.update(bytes)
  parentPort.postMessage({ slab: m.slab }, [m.slab])
})
`

/** Hashes a stream with `algs` in a worker thread; memory stays bounded (SLABS slabs, back-pressure). */
export function hashInWorker(stream: Readable, algs: readonly DeferredAlgorithm[]): Promise<Partial<DeferredDigests>> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { algs } })
    const free: ArrayBuffer[] = Array.from({ length: SLABS }, () => new ArrayBuffer(SLAB_SIZE))
    let slab: Uint8Array | undefined
    let filled = 0
    /** What did not fit while every slab was at the worker. */
    let waiting: Buffer | undefined
    let ended = false
    let finished = false
    let settled = false
    const fail = (err: unknown) => {
      if (settled) return
      settled = true
      stream.destroy()
      void worker.terminate()
      reject(err instanceof Error ? err : new Error(String(err)))
    }
    const send = () => {
      const buf = slab!.buffer as ArrayBuffer
      worker.postMessage({ slab: buf, length: filled }, [buf])
      slab = undefined
      filled = 0
    }
    /** Copies `chunk` into slabs, sending each full one; false (the rest kept in `waiting`) when none is free. */
    const take = (chunk: Buffer): boolean => {
      for (let off = 0; off < chunk.length;) {
        if (!slab) {
          const buf = free.pop()
          if (!buf) {
            waiting = chunk.subarray(off)
            return false
          }
          slab = new Uint8Array(buf)
        }
        const n = Math.min(chunk.length - off, SLAB_SIZE - filled)
        slab.set(chunk.subarray(off, off + n), filled)
        filled += n
        off += n
        if (filled === SLAB_SIZE) send()
      }
      return true
    }
    const finish = () => {
      if (finished) return
      finished = true
      if (slab && filled > 0) send()
      worker.postMessage(null)
    }
    worker.on('message', (m: { slab?: ArrayBuffer; done?: Partial<DeferredDigests> }) => {
      if (m.slab) {
        free.push(m.slab)
        if (waiting) {
          const rest = waiting
          waiting = undefined
          if (!take(rest)) return
        }
        if (ended) finish()
        else if (stream.isPaused()) stream.resume()
      } else if (m.done) {
        settled = true
        void worker.terminate()
        resolve(m.done)
      }
    })
    worker.on('error', fail)
    worker.on('exit', (code) => fail(new Error(`digest worker exited with code ${code}`)))
    stream.on('error', fail)
    stream.on('data', (chunk: Buffer) => {
      // A chunk that comes while paused (already on its way) waits behind the rest.
      if (waiting) waiting = Buffer.concat([waiting, chunk])
      else if (!take(chunk)) stream.pause()
    })
    stream.on('end', () => {
      ended = true
      if (!waiting) finish()
    })
  })
}

export const missingDigests = (c: DeferredDigests): DeferredAlgorithm[] =>
  (['md5', 'sha1', 'sha512'] as const).filter((a) => c[a] === '')

export class DigestCompleter {
  readonly #running = new Map<string, Promise<DeferredDigests>>()
  /** One blob hashed at a time: the other core keeps serving requests. */
  #queue: Promise<unknown> = Promise.resolve()

  constructor(private readonly db: Kysely<Database>, private readonly blobs: BlobStore) {}

  /** The blob's three digests, computing the missing ones (once per blob in this process). */
  complete(key: BlobKey, known: DeferredDigests): Promise<DeferredDigests> {
    const missing = missingDigests(known)
    if (missing.length === 0) return Promise.resolve(known)
    let p = this.#running.get(key)
    if (!p) {
      const run = this.#queue.then(() => this.#compute(key, known, missing))
      this.#queue = run.catch(() => {})
      p = run.finally(() => this.#running.delete(key))
      this.#running.set(key, p)
    }
    return p
  }

  async #compute(key: BlobKey, known: DeferredDigests, missing: DeferredAlgorithm[]): Promise<DeferredDigests> {
    // Another instance (or an earlier run of this one) may have finished meanwhile.
    const row = await this.db.selectFrom('package_blob').select(['hash_md5', 'hash_sha1', 'hash_sha512'])
      .where('hash_sha256', '=', key).executeTakeFirst()
    const current = row ? { md5: row.hash_md5, sha1: row.hash_sha1, sha512: row.hash_sha512 } : known
    const still = missingDigests(current)
    if (still.length === 0) return current
    const got = await hashInWorker(await this.blobs.open(key), still.length ? still : missing)
    const full = { ...current, ...got }
    await this.db.updateTable('package_blob')
      .set({ hash_md5: full.md5, hash_sha1: full.sha1, hash_sha512: full.sha512 })
      .where('hash_sha256', '=', key).execute()
    return full
  }
}
