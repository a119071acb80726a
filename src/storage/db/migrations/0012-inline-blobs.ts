// Frozen once released: imports only kysely and ./flavor.js.
// Small blobs kept in the database itself (storage/blobs/inline-blob-store.ts): their bytes are
// durable when the statement that writes them commits, with no file, folder or flush of their own.
import type { Kysely } from 'kysely'
import { bigint, type Flavor } from './flavor.js'

export async function up(db: Kysely<any>, flavor: Flavor): Promise<void> {
  await db.schema.createTable('blob_inline')
    // The blob key: the SHA-256 of `data`, lower-case hex.
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('data', flavor === 'sqlite' ? 'blob' : 'bytea', (c) => c.notNull())
    .addColumn('size', bigint(flavor), (c) => c.notNull())
    // Last write or touch, milliseconds: the blob GC's grace period counts from it.
    .addColumn('modified_ms', bigint(flavor), (c) => c.notNull())
    .execute()
}
