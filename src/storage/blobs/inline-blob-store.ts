// Small blobs in the database: a BlobStore in front of the real one (file: or s3://) that keeps
// blobs up to WHARF_STORAGE_INLINE_MAX bytes in the `blob_inline` table and hands every other blob
// to the store behind it.
//
// Why: a 4 KiB upload written as a file costs a dozen file-system operations (a temp file, its
// flush, a rename, new folders and their flushes) and the flushes' waits; on the benchmark's
// two-core machine that was more than half of the server's time per small upload (bench/README,
// e), and on S3 a PUT round trip. One INSERT makes the same bytes durable with the database's own
// guarantee, in the same log as the rows that refer to them: SQLite (WAL) and PostgreSQL both keep
// commits in order, so no row can survive a crash or a power loss without the bytes it names. The
// rows stay what they are (package_blob with its digests); only where the bytes live differs, and
// every instance sharing the database sees them.
//
// Keys are SHA-256 digests the caller verified (BlobStore's contract), so a key held both here and
// behind (a blob stored before this existed, or put again in another way) holds the same bytes:
// reads look here first, deletes remove both.
import { readFile } from 'node:fs/promises'
import { createReadStream } from 'node:fs'
import { Readable } from 'node:stream'
import type { Kysely } from 'kysely'
import type { Database } from '../db/schema.js'
import { preparedOn } from '../db/prepared.js'
import { INLINE_MAX_LIMIT } from '../../config/config.js'
import type { BlobKey, BlobStat, BlobStore, ByteRange, PresignOptions } from './blob-store.js'

/** Keys listed per query by keys()/entries(). */
const PAGE = 1000

export class InlineBlobStore implements BlobStore {
  // Built once (prepared.ts): they run on every small upload and every read of a small blob.
  private readonly insertQ
  private readonly dataQ
  private readonly statQ

  constructor(
    private readonly db: Kysely<Database>,
    /** The store for every blob larger than `max` (and for those stored before). */
    readonly inner: BlobStore,
    /** Largest blob kept here, bytes; 0 = none. */
    readonly max: number,
  ) {
    this.insertQ = preparedOn(db, 4, (db, key: string, data: Buffer, size: number, ms: number) => db.insertInto('blob_inline')
      .values({ key, data, size, modified_ms: ms }).onConflict((oc) => oc.column('key').doNothing()).returning('key'))
    this.dataQ = preparedOn(db, 1, (db, key: string) => db.selectFrom('blob_inline').select('data').where('key', '=', key))
    this.statQ = preparedOn(db, 1, (db, key: string) => db.selectFrom('blob_inline').select(['size', 'modified_ms']).where('key', '=', key))
  }

  get remote(): boolean | undefined {
    return this.inner.remote
  }

  /**
   * The same store with its database statements inside `trx` (the blob GC's transaction): a view
   * that shares everything else with this one.
   */
  within(trx: Kysely<Database>): InlineBlobStore {
    return Object.create(this, { db: { value: trx } }) as InlineBlobStore
  }

  inlines(size: number): boolean {
    return size <= this.max
  }

  async put(key: BlobKey, body: Readable, size?: number): Promise<boolean> {
    if (size === undefined || size > this.max) return this.inner.put(key, body, size)
    return this.putBytes(key, await readExactly(body, key, size))
  }

  async putFile(key: BlobKey, file: string, size: number): Promise<boolean> {
    if (size <= this.max) {
      const bytes = await readFile(file)
      if (bytes.length !== size) throw new Error(`blob ${key}: expected ${size} bytes, got ${bytes.length}`)
      // The file stays where it is (the caller removes it), as putFile allows.
      return this.putBytes(key, bytes)
    }
    if (this.inner.putFile) return this.inner.putFile(key, file, size)
    return this.inner.put(key, createReadStream(file), size)
  }

  async putBytes(key: BlobKey, bytes: Buffer): Promise<boolean> {
    if (bytes.length > this.max) {
      return this.inner.putBytes ? this.inner.putBytes(key, bytes) : this.inner.put(key, Readable.from([bytes]), bytes.length)
    }
    const now = Date.now()
    if ((await this.insertQ(this.db, key, bytes, bytes.length, now)).length > 0) return false
    // There already: a fresh write time keeps the GC away from it for another grace period (as a
    // file store's touch does). Gone again meanwhile (the GC): written after all.
    const touched = await this.db.updateTable('blob_inline').set({ modified_ms: now }).where('key', '=', key).executeTakeFirst()
    if (Number(touched.numUpdatedRows) > 0) return true
    return (await this.insertQ(this.db, key, bytes, bytes.length, now)).length === 0
  }

  async open(key: BlobKey, range?: ByteRange): Promise<Readable> {
    const row = (await this.dataQ(this.db, key))[0]
    if (!row) return this.inner.open(key, range)
    const bytes = range ? row.data.subarray(range.start, range.end + 1) : row.data
    return Readable.from([bytes], { objectMode: false })
  }

  async stat(key: BlobKey): Promise<BlobStat | undefined> {
    const row = (await this.statQ(this.db, key))[0]
    if (row) return { size: Number(row.size), modifiedAt: new Date(Number(row.modified_ms)) }
    return this.inner.stat(key)
  }

  /**
   * True when the blob's bytes are here, where neither a presigned URL nor nginx can reach them: its
   * downloads go through Wharf (send-blob.ts). Blobs larger than any WHARF_STORAGE_INLINE_MAX
   * allows are never here, so they cost no query (a smaller `max` now does not say where older
   * blobs went).
   */
  async isInline(key: BlobKey, size: number): Promise<boolean> {
    if (size > INLINE_MAX_LIMIT) return false
    return (await this.statQ(this.db, key)).length > 0
  }

  async delete(key: BlobKey): Promise<void> {
    await this.db.deleteFrom('blob_inline').where('key', '=', key).execute()
    await this.inner.delete(key)
  }

  async *keys(): AsyncIterable<BlobKey> {
    for await (const e of this.#inlineEntries()) yield e.key
    yield* this.inner.keys()
  }

  /** With ages and sizes in one listing when the store behind can give them too (S3). */
  get entries(): (() => AsyncIterable<{ key: BlobKey; size: number; modifiedAt: Date }>) | undefined {
    const behind = this.inner.entries?.bind(this.inner)
    if (!behind) return undefined
    const here = () => this.#inlineEntries()
    return async function* () {
      yield* here()
      yield* behind()
    }
  }

  async *#inlineEntries(): AsyncIterable<{ key: BlobKey; size: number; modifiedAt: Date }> {
    for (let after = ''; ;) {
      const rows = await this.db.selectFrom('blob_inline').select(['key', 'size', 'modified_ms'])
        .where('key', '>', after).orderBy('key').limit(PAGE).execute()
      for (const r of rows) yield { key: r.key as BlobKey, size: Number(r.size), modifiedAt: new Date(Number(r.modified_ms)) }
      if (rows.length < PAGE) return
      after = rows[rows.length - 1]!.key
    }
  }

  async sweepLeftovers(cutoffMs: number, signal?: AbortSignal): Promise<number> {
    return this.inner.sweepLeftovers ? this.inner.sweepLeftovers(cutoffMs, signal) : 0
  }

  /** Of a blob behind (callers ask isInline first: send-blob.ts). */
  get presign(): ((key: BlobKey, opts: PresignOptions) => Promise<string>) | undefined {
    return this.inner.presign?.bind(this.inner)
  }

  /** Of a blob behind (callers ask isInline first: send-blob.ts). */
  get relativePath(): ((key: BlobKey) => string) | undefined {
    return this.inner.relativePath?.bind(this.inner)
  }

  async ping(): Promise<void> {
    await this.inner.ping()
  }

  async close(): Promise<void> {
    await this.inner.close()
  }
}

/** The store behind any InlineBlobStore (through the metrics Proxy too), for backend-specific checks. */
export function storeBehind(blobs: BlobStore): BlobStore {
  return blobs instanceof InlineBlobStore ? blobs.inner : blobs
}

/** Reads a body of a known small size into one Buffer; a body of another length is an error. */
async function readExactly(body: Readable, key: BlobKey, size: number): Promise<Buffer> {
  const chunks: Buffer[] = []
  let n = 0
  for await (const c of body) {
    const chunk = Buffer.isBuffer(c) ? c : Buffer.from(c as Uint8Array)
    n += chunk.length
    if (n > size) {
      body.destroy()
      throw new Error(`blob ${key}: expected ${size} bytes, got more`)
    }
    chunks.push(chunk)
  }
  if (n !== size) throw new Error(`blob ${key}: expected ${size} bytes, got ${n}`)
  return Buffer.concat(chunks, n)
}
