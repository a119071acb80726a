// `wharf migrate-storage --to URL`: copies every blob the database refers to from the current store
// into another, hashing the bytes on the way (a SHA-256 mismatch aborts that put, so nothing wrong
// lands), then reading the copy back to verify it. Blobs already in the target with the right size
// are skipped, so an interrupted run simply resumes.
import { createHash } from 'node:crypto'
import { Transform, type Readable } from 'node:stream'
import type { Kysely } from 'kysely'
import type { Database } from '../db/schema.js'
import { blobKey, type BlobStore } from './blob-store.js'

export interface MigrateProgress {
  readonly total: number
  readonly copied: number
  readonly skipped: number
  readonly bytes: number
}

export async function migrateBlobs(db: Kysely<Database>, from: BlobStore, to: BlobStore,
  opts: { signal?: AbortSignal; onProgress?: (p: MigrateProgress) => void } = {}): Promise<MigrateProgress> {
  const rows = await db.selectFrom('package_blob').select(['hash_sha256', 'size']).orderBy('id').execute()
  const p = { total: rows.length, copied: 0, skipped: 0, bytes: 0 }
  for (const row of rows) {
    if (opts.signal?.aborted) break
    const key = blobKey(row.hash_sha256)
    const there = await to.stat(key)
    if (there && there.size === row.size) {
      p.skipped++
    } else {
      await to.put(key, verifying(await from.open(key), row.hash_sha256, row.size), row.size)
      const back = createHash('sha256')
      for await (const c of await to.open(key)) back.update(c as Buffer)
      if (back.digest('hex') !== row.hash_sha256) {
        await to.delete(key)
        throw new Error(`blob ${key}: the copy in the target reads back with another SHA-256`)
      }
      p.copied++
      p.bytes += row.size
    }
    opts.onProgress?.({ ...p })
  }
  return p
}

/** Passes the bytes through and fails the stream, before its end, when they are not what the row says. */
function verifying(source: Readable, sha256: string, size: number): Readable {
  const h = createHash('sha256')
  let n = 0
  const t = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      h.update(chunk)
      n += chunk.length
      cb(null, chunk)
    },
    flush(cb) {
      const got = h.digest('hex')
      cb(got === sha256 && n === size ? null : new Error(`blob ${sha256} in the source is corrupt (sha256 ${got}, ${n} bytes)`))
    },
  })
  source.once('error', (err) => t.destroy(err))
  return source.pipe(t)
}
