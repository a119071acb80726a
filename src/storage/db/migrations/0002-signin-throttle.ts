// Frozen once released: imports only kysely and ./flavor.js.
// Failed sign-in counts, shared by every worker and instance on the database (src/auth/throttle.ts):
// one row per throttled key (a hash of account and address, account, address, pending sign-in).
import type { Kysely } from 'kysely'
import { bigint, type Flavor } from './flavor.js'

export async function up(db: Kysely<any>, flavor: Flavor): Promise<void> {
  const int8 = bigint(flavor)
  await db.schema.createTable('signin_failure')
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('count', 'integer', (c) => c.notNull())
    .addColumn('last_ms', int8, (c) => c.notNull())
    .addColumn('blocked_until_ms', int8, (c) => c.notNull())
    .addColumn('expires_ms', int8, (c) => c.notNull())
    // Eviction order when the table is over its bound: 0 first, then 1; 2 is never evicted.
    .addColumn('weight', 'integer', (c) => c.notNull())
    .execute()
  await db.schema.createIndex('signin_failure_expires').on('signin_failure').column('expires_ms').execute()
  await db.schema.createIndex('signin_failure_evict').on('signin_failure').columns(['weight', 'last_ms']).execute()
}
