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

/** Bytes handed to the worker and not yet hashed: past this the blob stream pauses. */
const MAX_IN_FLIGHT = 8 * 1024 * 1024

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
  for (const [, h] of hashes) h.update(m)
  parentPort.postMessage({ hashed: m.byteLength })
})
`

/** Hashes a stream with `algs` in a worker thread; memory stays bounded (back-pressure). */
export function hashInWorker(stream: Readable, algs: readonly DeferredAlgorithm[]): Promise<Partial<DeferredDigests>> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { algs } })
    let inFlight = 0
    let settled = false
    const fail = (err: unknown) => {
      if (settled) return
      settled = true
      stream.destroy()
      void worker.terminate()
      reject(err instanceof Error ? err : new Error(String(err)))
    }
    worker.on('message', (m: { hashed?: number; done?: Partial<DeferredDigests> }) => {
      if (m.hashed !== undefined) {
        inFlight -= m.hashed
        if (inFlight <= MAX_IN_FLIGHT / 2 && stream.isPaused()) stream.resume()
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
      inFlight += chunk.length
      worker.postMessage(chunk)
      if (inFlight > MAX_IN_FLIGHT) stream.pause()
    })
    stream.on('end', () => worker.postMessage(null))
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
