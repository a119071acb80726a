// What keeps the blob GC and an upload of the same bytes from losing them (issue 8).
//
// The race: the GC finds no package_blob row for a key and an old write time; an upload of the same
// content then touches the existing bytes (put answers "existed", so it writes nothing) and commits
// a row; if the GC's delete lands after the touch, the committed row points at nothing.
//
// Two halves close it:
// - The GC decides and deletes inside one short transaction that holds the key for deletion
//   (claimForDelete): the look for a row, the stat and the delete. An upload's transaction holds the
//   keys it commits rows for (claimForUse) before it inserts them. On PostgreSQL these are
//   transaction-scoped advisory locks (exclusive for the GC, shared for uploads, so uploads never
//   wait for each other); on SQLite every write transaction already runs alone (BEGIN IMMEDIATE), so
//   nothing more is needed. So either the upload's row committed before the GC looked (the GC keeps
//   the bytes), or the GC's delete finished before the upload's commit.
// - In that second case the upload's put may still have come before the delete (it touched bytes
//   that are now gone). So an upload whose put answered "existed" checks after its commit that the
//   blob is there and puts it again from its spool (putAgainIfGone): the spool must live until then.
//   A put that wrote the bytes itself needs no check: they are younger than the GC's cutoff, as long
//   as an upload commits within WHARF_GC_GRACE of its put, which the grace is there for.
import { createReadStream } from 'node:fs'
import { Readable } from 'node:stream'
import { sql, type Kysely } from 'kysely'
import type { Database } from '../db/schema.js'
import type { Flavor } from '../db/migrations/flavor.js'
import type { BlobKey, BlobStore } from './blob-store.js'

/** The first of the two int4 keys of pg_advisory_*_lock(int4, int4): "blob" (a key space apart from the jobs' one-key locks). */
const BLOB_LOCK_CLASS = 0x626c6f62

/** The second key: 32 bits of the digest (a collision only makes one side wait for the other). */
const lockKey = (key: BlobKey): number => Number.parseInt(key.slice(0, 8), 16) | 0

/** Inside an upload's transaction, before it inserts or reuses the blob rows of `keys`. */
export async function claimForUse(trx: Kysely<Database>, flavor: Flavor, keys: readonly BlobKey[]): Promise<void> {
  if (flavor !== 'postgres') return
  // In one order, so two uploads never wait for each other crosswise (shared locks do not conflict
  // anyway; the order keeps it so if that ever changes).
  for (const k of [...new Set(keys.map(lockKey))].sort((a, b) => a - b)) {
    await sql`select pg_advisory_xact_lock_shared(${BLOB_LOCK_CLASS}, ${k})`.execute(trx)
  }
}

/** Inside the GC's transaction for one key, before it looks for a row and deletes the bytes. */
export async function claimForDelete(trx: Kysely<Database>, flavor: Flavor, key: BlobKey): Promise<void> {
  if (flavor !== 'postgres') return
  await sql`select pg_advisory_xact_lock(${BLOB_LOCK_CLASS}, ${lockKey(key)})`.execute(trx)
}

/**
 * After the rows committed, for a put that answered "existed": puts the bytes again when a GC
 * removed them in between (see above). `source` is the spool file (still there: a put that found the
 * blob leaves it) or the bytes themselves. True when it had to put them again.
 */
export async function putAgainIfGone(blobs: BlobStore, key: BlobKey, source: string | Buffer, size: number): Promise<boolean> {
  if (await blobs.stat(key)) return false
  if (Buffer.isBuffer(source)) await (blobs.putBytes ? blobs.putBytes(key, source) : blobs.put(key, Readable.from([source]), size))
  else if (blobs.putFile) await blobs.putFile(key, source, size)
  else await blobs.put(key, createReadStream(source), size)
  return true
}
