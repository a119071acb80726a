// Frozen once released: imports only kysely and ./flavor.js.
// The Go proxy cache (issue 12): upstream module versions shared by all owners, cached lists,
// checksum database answers, and the lease rows that make one instance fetch what all want.
import type { Kysely } from 'kysely'
import { bigint, idColumn, type Flavor } from './flavor.js'

export async function up(db: Kysely<any>, flavor: Flavor): Promise<void> {
  const int8 = bigint(flavor)
  const bytes = flavor === 'sqlite' ? 'blob' : 'bytea'

  // One fetched, verified upstream module version: .info verbatim, .mod and .zip in the blob store.
  await db.schema.createTable('go_proxy_version')
    .addColumn('id', 'integer', idColumn(flavor))
    .addColumn('module_path', 'text', (c) => c.notNull())
    .addColumn('version', 'text', (c) => c.notNull())
    .addColumn('info_json', 'text', (c) => c.notNull())
    .addColumn('time_unix', int8)
    .addColumn('mod_blob_id', 'integer', (c) => c.notNull().references('package_blob.id'))
    .addColumn('zip_blob_id', 'integer', (c) => c.notNull().references('package_blob.id'))
    .addColumn('mod_h1', 'text', (c) => c.notNull())
    .addColumn('zip_h1', 'text', (c) => c.notNull())
    .addColumn('size', int8, (c) => c.notNull())
    .addColumn('created_unix', int8, (c) => c.notNull())
    .addColumn('last_used_unix', int8, (c) => c.notNull())
    .addUniqueConstraint('go_proxy_version_uq', ['module_path', 'version'])
    .execute()
  await db.schema.createIndex('go_proxy_version_used_idx').on('go_proxy_version').column('last_used_unix').execute()
  await db.schema.createIndex('go_proxy_version_mod_blob_idx').on('go_proxy_version').column('mod_blob_id').execute()
  await db.schema.createIndex('go_proxy_version_zip_blob_idx').on('go_proxy_version').column('zip_blob_id').execute()

  // Small answers kept by key: `@v/list`, `@latest`, `.info` of versions (for the cooldown),
  // checksum database tiles, lookups and `latest`. fetched_unix says how fresh.
  await db.schema.createTable('go_proxy_answer')
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('body', bytes, (c) => c.notNull())
    .addColumn('fetched_unix', int8, (c) => c.notNull())
    .execute()

  // Who fetches a missing artifact right now, across instances; expired rows may be taken over.
  await db.schema.createTable('go_proxy_lease')
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('holder', 'text', (c) => c.notNull())
    .addColumn('expires_unix', int8, (c) => c.notNull())
    .execute()
}
