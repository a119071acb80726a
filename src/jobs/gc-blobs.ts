// Deletes blobs nothing refers to, and upload leftovers, once they are older than a grace period.
// Order matters: rows first, then bytes, so the worst case is an orphan file on disk, never a row
// pointing at missing bytes. An upload puts its bytes (refreshing the file's mtime when the blob
// already exists) before it commits its rows, so "no row AND an old mtime" means nobody is using it;
// the one interleaving that leaves (an upload touching the bytes between the GC's look and its
// delete) is closed by storage/blobs/claims.ts.
//
// Bounded work (issue 8): every statement looks at no more than `batchSize` rows (a window of the
// primary key, not "the next N unreferenced ones", which on a big table of used blobs would walk
// all of it in one statement), every delete of rows is one short statement, the bytes of each
// orphan are deleted in a transaction of their own, and the run stops between batches when its
// signal aborts (shutdown).
import { sql, type ExpressionBuilder, type Kysely } from 'kysely'
import { runExclusive } from './lock.js'
import type { Database } from '../storage/db/schema.js'
import type { Flavor } from '../storage/db/migrations/flavor.js'
import { isForeignKeyViolation } from '../storage/db/errors.js'
import type { BlobKey, BlobStore } from '../storage/blobs/blob-store.js'
import { claimForDelete } from '../storage/blobs/claims.js'
import { deleteOldFiles } from '../storage/blobs/fs-blob-store.js'

export interface GcDeps {
  readonly db: Kysely<Database>
  readonly flavor: Flavor
  readonly blobs: BlobStore
  /** Upload spool folder. */
  readonly tmpDir: string
  readonly graceMs: number
  /** Rows per statement and keys per sweep (default BATCH); tests use small ones. */
  readonly batchSize?: number
}

export interface GcResult {
  blobRows: number
  blobFiles: number
  tmpFiles: number
  /** False when another worker or instance runs it now (advisory lock or lease) and this run did nothing. */
  ran: boolean
}

// Any fixed number, the same on every instance: "gc-blobs" as a 32-bit value.
const GC_LOCK_ID = 0x67636231
export const BATCH = 500

/**
 * A blob row is in use while any of these refers to it: files of packages (migration 0001) and the
 * Go proxy cache's .mod and .zip of upstream versions (0005). A new table with a package_blob
 * reference must be added here (doctor.ts uses the same test).
 */
export function blobReferenced(eb: ExpressionBuilder<Database, 'package_blob'>) {
  const one = sql.lit(1).as('one')
  return eb.or([
    eb.exists(eb.selectFrom('package_file').select(one).whereRef('package_file.blob_id', '=', 'package_blob.id')),
    eb.exists(eb.selectFrom('go_proxy_version').select(one).whereRef('go_proxy_version.mod_blob_id', '=', 'package_blob.id')),
    eb.exists(eb.selectFrom('go_proxy_version').select(one).whereRef('go_proxy_version.zip_blob_id', '=', 'package_blob.id')),
  ])
}

const unreferenced = (eb: ExpressionBuilder<Database, 'package_blob'>) => eb.not(blobReferenced(eb))

export async function gcBlobs(deps: GcDeps, signal?: AbortSignal): Promise<GcResult> {
  const r = await runExclusive(deps.db, deps.flavor, 'gc-blobs', () => runGc(deps, signal), { pgLockId: GC_LOCK_ID })
  return r.ran ? r.value : { blobRows: 0, blobFiles: 0, tmpFiles: 0, ran: false }
}

async function runGc(deps: GcDeps, signal?: AbortSignal): Promise<GcResult> {
  const cutoffMs = Date.now() - deps.graceMs
  const batch = Math.max(1, deps.batchSize ?? BATCH)
  const result: GcResult = { blobRows: 0, blobFiles: 0, tmpFiles: 0, ran: true }
  result.blobRows = await deleteUnreferencedRows(deps.db, Math.floor(cutoffMs / 1000), batch, signal)
  if (signal?.aborted) return result
  result.blobFiles = await deleteOrphanBytes(deps, cutoffMs, batch, signal)
  if (signal?.aborted) return result
  result.tmpFiles = await deleteOldFiles(deps.tmpDir, cutoffMs, signal)
  if (deps.blobs.sweepLeftovers && !signal?.aborted) result.tmpFiles += await deps.blobs.sweepLeftovers(cutoffMs, signal)
  return result
}

async function deleteUnreferencedRows(db: Kysely<Database>, cutoffUnix: number, batch: number, signal?: AbortSignal): Promise<number> {
  let deleted = 0
  for (let afterId = 0; ;) {
    if (signal?.aborted) return deleted
    // The next window of at most `batch` rows by the primary key …
    const window = await db.selectFrom('package_blob').select('id').where('id', '>', afterId).orderBy('id').limit(batch).execute()
    if (window.length === 0) return deleted
    const lastId = window[window.length - 1]!.id
    // … and the old, unreferenced ones in it (the reference checks use the blob_id indexes).
    const ids = (await db.selectFrom('package_blob').select('id')
      .where('id', '>', afterId).where('id', '<=', lastId).where('created_unix', '<=', cutoffUnix).where(unreferenced)
      .execute()).map((r) => r.id)
    afterId = lastId
    if (ids.length > 0) deleted += await deleteRows(db, ids)
  }
}

/** One statement for the batch, with the guard again (an upload may have started using a blob since). */
async function deleteRows(db: Kysely<Database>, ids: number[]): Promise<number> {
  try {
    const r = await db.deleteFrom('package_blob').where('id', 'in', ids).where(unreferenced).executeTakeFirst()
    return Number(r.numDeletedRows)
  } catch (err) {
    // A reference not yet committed when the guard looked: one by one, skipping that blob.
    if (!isForeignKeyViolation(err)) throw err
  }
  let deleted = 0
  for (const id of ids) {
    try {
      const r = await db.deleteFrom('package_blob').where('id', '=', id).where(unreferenced).executeTakeFirst()
      deleted += Number(r.numDeletedRows)
    } catch (err) {
      if (!isForeignKeyViolation(err)) throw err
    }
  }
  return deleted
}

async function deleteOrphanBytes(deps: GcDeps, cutoffMs: number, batchSize: number, signal?: AbortSignal): Promise<number> {
  let deleted = 0
  let batch: BlobKey[] = []
  const sweep = async () => {
    const known = new Set((await deps.db.selectFrom('package_blob').select('hash_sha256').where('hash_sha256', 'in', batch).execute())
      .map((r) => r.hash_sha256))
    for (const key of batch) {
      if (signal?.aborted) break
      if (known.has(key)) continue
      if (await deleteIfOrphan(deps, key, cutoffMs)) deleted++
    }
    batch = []
  }
  // With a listing that carries ages (S3), blobs written within the grace period are skipped up front.
  const listing = deps.blobs.entries?.() ?? mapKeys(deps.blobs.keys())
  for await (const e of listing) {
    if (signal?.aborted) break
    if (e.modifiedAt && e.modifiedAt.getTime() > cutoffMs) continue
    batch.push(e.key)
    if (batch.length >= batchSize) await sweep()
  }
  if (batch.length > 0 && !signal?.aborted) await sweep()
  return deleted
}

/**
 * The look for a row, the age and the delete of one key, in one short transaction that holds the
 * key against uploads committing a row for it (claims.ts). True when the bytes were deleted.
 */
export async function deleteIfOrphan(deps: Pick<GcDeps, 'db' | 'flavor' | 'blobs'>, key: BlobKey, cutoffMs: number): Promise<boolean> {
  return deps.db.transaction().execute(async (trx) => {
    await claimForDelete(trx, deps.flavor, key)
    const row = await trx.selectFrom('package_blob').select('id').where('hash_sha256', '=', key).executeTakeFirst()
    if (row) return false
    // After the claim: an upload that touched the bytes before it makes them young again. In the
    // transaction: bytes kept in the database (inline-blob-store.ts) are checked and deleted with it.
    const blobs = deps.blobs.within?.(trx) ?? deps.blobs
    const s = await blobs.stat(key)
    if (!s || s.modifiedAt.getTime() > cutoffMs) return false
    await blobs.delete(key)
    return true
  })
}

async function* mapKeys(keys: AsyncIterable<BlobKey>): AsyncIterable<{ key: BlobKey; modifiedAt?: Date }> {
  for await (const key of keys) yield { key }
}
