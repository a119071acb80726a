// Deletes blobs no package file or cached Go proxy version refers to, and upload leftovers, once they are older than a grace period.
// Order matters: rows first, then bytes, so the worst case is an orphan file on disk, never a row
// pointing at missing bytes. An upload puts its bytes (refreshing the file's mtime when the blob
// already exists) before it commits its rows, so "no row AND an old mtime" means nobody is using it.
import { sql, type ExpressionBuilder, type Kysely } from 'kysely'
import { runExclusive } from './lock.js'
import type { Database } from '../storage/db/schema.js'
import type { Flavor } from '../storage/db/migrations/flavor.js'
import { isForeignKeyViolation } from '../storage/db/errors.js'
import type { BlobKey, BlobStore } from '../storage/blobs/blob-store.js'
import { deleteOldFiles } from '../storage/blobs/fs-blob-store.js'

export interface GcDeps {
  readonly db: Kysely<Database>
  readonly flavor: Flavor
  readonly blobs: BlobStore
  /** Upload spool folder. */
  readonly tmpDir: string
  readonly graceMs: number
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
const BATCH = 500

export async function gcBlobs(deps: GcDeps, signal?: AbortSignal): Promise<GcResult> {
  const r = await runExclusive(deps.db, deps.flavor, 'gc-blobs', () => runGc(deps, signal), { pgLockId: GC_LOCK_ID })
  return r.ran ? r.value : { blobRows: 0, blobFiles: 0, tmpFiles: 0, ran: false }
}

async function runGc(deps: GcDeps, signal?: AbortSignal): Promise<GcResult> {
  const cutoffMs = Date.now() - deps.graceMs
  const result: GcResult = { blobRows: 0, blobFiles: 0, tmpFiles: 0, ran: true }
  result.blobRows = await deleteUnreferencedRows(deps.db, Math.floor(cutoffMs / 1000), signal)
  result.blobFiles = await deleteOrphanBytes(deps, cutoffMs, signal)
  result.tmpFiles = await deleteOldFiles(deps.tmpDir, cutoffMs, signal)
  if (deps.blobs.sweepLeftovers) result.tmpFiles += await deps.blobs.sweepLeftovers(cutoffMs, signal)
  return result
}

async function deleteUnreferencedRows(db: Kysely<Database>, cutoffUnix: number, signal?: AbortSignal): Promise<number> {
  // A blob is in use while a package file or a cached upstream Go version (its .mod or .zip) refers to it.
  const unreferenced = (eb: ExpressionBuilder<Database, 'package_blob'>) => eb.and([
    eb.not(eb.exists(eb.selectFrom('package_file').select(sql.lit(1).as('one')).whereRef('package_file.blob_id', '=', 'package_blob.id'))),
    eb.not(eb.exists(eb.selectFrom('go_proxy_version').select(sql.lit(1).as('one')).whereRef('go_proxy_version.mod_blob_id', '=', 'package_blob.id'))),
    eb.not(eb.exists(eb.selectFrom('go_proxy_version').select(sql.lit(1).as('one')).whereRef('go_proxy_version.zip_blob_id', '=', 'package_blob.id'))),
  ])
  let deleted = 0
  let afterId = 0
  for (;;) {
    if (signal?.aborted) return deleted
    const ids = await db.selectFrom('package_blob').select('id')
      .where('created_unix', '<=', cutoffUnix).where('id', '>', afterId).where(unreferenced)
      .orderBy('id').limit(BATCH).execute()
    if (ids.length === 0) return deleted
    afterId = ids[ids.length - 1]!.id
    for (const { id } of ids) {
      try {
        // The guard again: an upload may have started using this blob since the select.
        const r = await db.deleteFrom('package_blob').where('id', '=', id).where(unreferenced).executeTakeFirst()
        deleted += Number(r.numDeletedRows)
      } catch (err) {
        if (!isForeignKeyViolation(err)) throw err
      }
    }
  }
}

async function deleteOrphanBytes(deps: GcDeps, cutoffMs: number, signal?: AbortSignal): Promise<number> {
  let deleted = 0
  let batch: BlobKey[] = []
  const sweep = async () => {
    const known = new Set((await deps.db.selectFrom('package_blob').select('hash_sha256').where('hash_sha256', 'in', batch).execute())
      .map((r) => r.hash_sha256))
    for (const key of batch) {
      if (known.has(key)) continue
      const s = await deps.blobs.stat(key)
      if (!s || s.modifiedAt.getTime() > cutoffMs) continue
      // Last look at the rows right before deleting: narrows the window against a racing upload.
      const row = await deps.db.selectFrom('package_blob').select('id').where('hash_sha256', '=', key).executeTakeFirst()
      if (row) continue
      await deps.blobs.delete(key)
      deleted++
    }
    batch = []
  }
  // With a listing that carries ages (S3), blobs written within the grace period are skipped up front.
  const listing = deps.blobs.entries?.() ?? mapKeys(deps.blobs.keys())
  for await (const e of listing) {
    if (signal?.aborted) break
    if (e.modifiedAt && e.modifiedAt.getTime() > cutoffMs) continue
    batch.push(e.key)
    if (batch.length >= BATCH) await sweep()
  }
  if (batch.length > 0 && !signal?.aborted) await sweep()
  return deleted
}

async function* mapKeys(keys: AsyncIterable<BlobKey>): AsyncIterable<{ key: BlobKey; modifiedAt?: Date }> {
  for await (const key of keys) yield { key }
}
