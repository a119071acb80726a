// Frozen once released: imports only kysely and ./flavor.js.
// State several workers or instances must agree on: who runs each background job (a lease row),
// and the last TOTP step each user signed in with (a code works once, on every instance).
import type { Kysely } from 'kysely'
import { bigint, type Flavor } from './flavor.js'

export async function up(db: Kysely<any>, flavor: Flavor): Promise<void> {
  const int8 = bigint(flavor)
  await db.schema.createTable('job_lock')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('holder', 'text', (c) => c.notNull())
    .addColumn('expires_ms', int8, (c) => c.notNull())
    .execute()

  await db.schema.createTable('totp_used_step')
    .addColumn('user_id', 'integer', (c) => c.primaryKey().references('user.id').onDelete('cascade'))
    .addColumn('step', int8, (c) => c.notNull())
    .execute()
}
