// Spools an upload body to a temp file while computing its digests in the same pass, so memory stays
// flat whatever the file size. A failed or aborted upload leaves no temp file. SHA-256 (the content
// address and ETag) is always computed on the way, and so is every digest the client announced in an
// X-Checksum-* header (it is verified before anything commits). For a large or unannounced body
// the other digests are left empty ('') and computed right after the upload, in a worker thread
// (digests.ts): hashing all four on the way ran uploads at a fifth of the disk's speed.
import { createHash, randomUUID } from 'node:crypto'
import { rm, type FileHandle } from 'node:fs/promises'
import { FollowedFile } from './follow-hash.js'
import { openCreating } from '../storage/blobs/fs-blob-store.js'
import path from 'node:path'
import { PassThrough, Transform, type Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { WharfError, invalid, tooLarge } from '../errors.js'

export interface Checksums {
  readonly md5: string
  readonly sha1: string
  readonly sha256: string
  readonly sha512: string
}

export interface SpooledUpload extends Checksums {
  readonly path: string
  readonly bytes?: undefined
  readonly size: number
}

/** A small body read into memory (receiveUpload): no spool file at all. */
export interface BufferedUpload extends Checksums {
  readonly bytes: Buffer
  readonly path?: undefined
  readonly size: number
}

export type ReceivedUpload = SpooledUpload | BufferedUpload

/**
 * Up to this declared size a body is read into memory instead of a spool file: a spool file costs a
 * dozen file-system operations per upload (create, write, close, stat, fsync, rename, remove…),
 * which queued behind each other and were what limited many small uploads (bench/README, e).
 * 16 connections uploading at once hold at most 16 × this.
 */
export const MEMORY_BODY_MAX = 256 * 1024

/**
 * A body of a declared size up to MEMORY_BODY_MAX is read into memory (all four digests on the
 * way), any other is spooled to a file under `tmpDir` (spoolUpload). Same limits and errors.
 */
export async function receiveUpload(body: Readable, tmpDir: string, maxBytes?: number, opts: SpoolOptions = {}): Promise<ReceivedUpload> {
  if (opts.declaredSize === undefined || opts.declaredSize > MEMORY_BODY_MAX) return spoolUpload(body, tmpDir, maxBytes, opts)
  const source = detach(body)
  const declared = opts.declaredSize
  const hashes = (['sha256', 'md5', 'sha1', 'sha512'] as const).map((alg) => ({ alg, hash: createHash(alg) }))
  const chunks: Buffer[] = []
  let size = 0
  try {
    for await (const chunk of source as AsyncIterable<Buffer>) {
      size += chunk.length
      if (maxBytes !== undefined && size > maxBytes) throw tooLarge(`the file is larger than the limit of ${maxBytes} bytes`)
      // Node's HTTP parser never passes more than Content-Length; other callers might.
      if (size > declared) throw invalid(`the body is longer than its declared length of ${declared} bytes`)
      for (const h of hashes) h.hash.update(chunk)
      chunks.push(chunk)
    }
  } catch (err) {
    source.destroy()
    if (err instanceof WharfError) throw err
    throw new WharfError('invalid', 'the upload was interrupted', { cause: err })
  }
  if (size !== declared) throw invalid(`the body is shorter than its declared length of ${declared} bytes`)
  const digests = Object.fromEntries(hashes.map((h) => [h.alg, h.hash.digest('hex')])) as unknown as Checksums
  return { bytes: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size), size, ...digests }
}

/** Up to this many bytes (by Content-Length) all four digests are computed on the way: it costs little. */
export const INLINE_DIGESTS_MAX = 8 * 1024 * 1024

export interface SpoolOptions {
  /** Digests the client announced: computed on the way whatever the size, to be verified. */
  readonly expected?: ExpectedChecksums
  /** Content-Length, when the client sent one. */
  readonly declaredSize?: number
  /**
   * false: a large body is hashed right here rather than by a worker following the file. For a
   * remote blob store, where the upload's time goes into sending the file on, not into spooling it,
   * and a worker thread's ~11 MiB of memory buys nothing (issue 10's RSS bound).
   */
  readonly followHash?: boolean
}

/** Algorithms other than SHA-256 whose digest an upload computes on the way. */
function inlineAlgorithms(opts: SpoolOptions): Array<'md5' | 'sha1' | 'sha512'> {
  const all = ['md5', 'sha1', 'sha512'] as const
  if (opts.declaredSize !== undefined && opts.declaredSize <= INLINE_DIGESTS_MAX) return [...all]
  return all.filter((a) => (opts.expected?.[a]?.trim() ?? '') !== '')
}

/** Prefix of spool files under the temp folder; gc-blobs removes old ones left by a crash. */
export const SPOOL_PREFIX = 'upload-'

/**
 * Reads `body` to a new file under `tmpDir`. Past `maxBytes` it stops reading and throws a
 * too_large WharfError; the caller owns the file on success and must remove it.
 */
export async function spoolUpload(body: Readable, tmpDir: string, maxBytes?: number, opts: SpoolOptions = {}): Promise<SpooledUpload> {
  // Listen for the source's errors before the first await: one emitted meanwhile must not go unheard.
  const source = detach(body)
  const file = path.join(tmpDir, `${SPOOL_PREFIX}${randomUUID()}`)
  const inline = inlineAlgorithms(opts)
  // A large body is hashed by a worker that follows the file as it is written (follow-hash.ts);
  // a small one right here, where a worker would cost more than the hashing.
  const follow = opts.followHash !== false && opts.declaredSize !== undefined && opts.declaredSize >= FOLLOW_MIN_BYTES
  const hashes = follow ? [] : (['sha256', ...inline] as const).map((alg) => ({ alg, hash: createHash(alg) }))
  let size = 0
  const counter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      size += chunk.length
      if (maxBytes !== undefined && size > maxBytes) {
        cb(tooLarge(`the file is larger than the limit of ${maxBytes} bytes`))
        return
      }
      for (const h of hashes) h.hash.update(chunk)
      cb(null, chunk)
    },
  })
  const digests: Record<'md5' | 'sha1' | 'sha256' | 'sha512', string> = { md5: '', sha1: '', sha256: '', sha512: '' }
  let fh: FileHandle | undefined
  let followed: FollowedFile | undefined
  try {
    fh = await openCreating(file)
    // Large writes: 1 MiB at a time rather than the default 64 KiB.
    followed = follow ? new FollowedFile(fh, file, ['sha256', ...inline]) : undefined
    // The plain stream closes the handle when done; closing it again below is a no-op.
    await pipeline(source, counter, followed ?? fh.createWriteStream({ highWaterMark: 1 << 20 }))
    if (followed) {
      const r = await followed.digests()
      if (r.size !== size) throw new Error(`the hash worker read ${r.size} bytes of ${size}`)
      Object.assign(digests, r.digests)
    }
    await fh.close()
  } catch (err) {
    source.destroy()
    followed?.abandon()
    await fh?.close().catch(() => {})
    await rm(file, { force: true })
    if (err instanceof WharfError) throw err
    throw new WharfError('invalid', 'the upload was interrupted', { cause: err })
  }
  for (const h of hashes) digests[h.alg] = h.hash.digest('hex')
  return { path: file, size, ...digests }
}

/** From this declared size on, the digests of an upload are computed by a worker thread (follow-hash.ts). */
export const FOLLOW_MIN_BYTES = INLINE_DIGESTS_MAX + 1

/**
 * pipeline() destroys its source on error, and destroying a request destroys its socket, so a
 * 413 could never be answered. Piping through a PassThrough keeps the request alive (the HTTP layer
 * answers and closes the connection); client aborts still reach the pipeline.
 */
function detach(body: Readable): Readable {
  const pass = new PassThrough()
  // The pipeline attaches later (after an await) and still sees the error: a destroyed stream
  // keeps it. Without a listener meanwhile, the error would be thrown as uncaught.
  pass.on('error', () => {})
  const onError = (err: Error) => pass.destroy(err)
  const onClose = () => {
    if (!body.readableEnded) pass.destroy(new Error('the client closed the connection mid-upload'))
  }
  body.once('error', onError)
  body.once('close', onClose)
  pass.once('close', () => {
    body.off('error', onError)
    body.off('close', onClose)
    body.unpipe(pass)
  })
  body.pipe(pass)
  return pass
}

/** Digests the client announced (X-Checksum-*); any of them may be missing. */
export type ExpectedChecksums = Partial<Record<keyof Checksums, string>>

const HEX_LENGTH: Record<keyof Checksums, number> = { md5: 32, sha1: 40, sha256: 64, sha512: 128 }

/** Throws an invalid WharfError when an announced digest is not hex of the right length (before reading a body). */
export function checkChecksumFormat(expected: ExpectedChecksums | undefined): void {
  if (!expected) return
  for (const alg of Object.keys(HEX_LENGTH) as Array<keyof Checksums>) {
    const want = expected[alg]?.trim().toLowerCase()
    if (want === undefined || want === '') continue
    if (want.length !== HEX_LENGTH[alg] || !/^[0-9a-f]+$/.test(want)) throw invalid(`X-Checksum-${alg}: not a ${alg} hex digest`)
  }
}

/** Throws an invalid WharfError when an announced digest does not match what was received. */
export function verifyChecksums(got: Checksums, expected: ExpectedChecksums | undefined): void {
  if (!expected) return
  checkChecksumFormat(expected)
  for (const alg of Object.keys(HEX_LENGTH) as Array<keyof Checksums>) {
    const want = expected[alg]?.trim().toLowerCase()
    if (want === undefined || want === '') continue
    if (got[alg] === '') throw new Error(`${alg} was announced but not computed`)
    if (want !== got[alg]) throw invalid(`${alg} checksum mismatch: expected ${want}, received ${got[alg]}`)
  }
}
