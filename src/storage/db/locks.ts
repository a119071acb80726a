// Row locks for deletes that first check a row is unused (no files, no versions, no packages): on
// PostgreSQL the check must run AFTER taking FOR UPDATE on the row, so it waits for transactions
// that are adding to it (they hold KEY SHARE through their foreign key checks) and, at READ
// COMMITTED, sees what they committed. Without it the check runs on a snapshot that misses their
// uncommitted rows and ON DELETE CASCADE then removes them after they committed. SQLite serialises
// writers, so there nothing is needed (and FOR UPDATE is not SQL it knows).
import type { Kysely } from 'kysely'
import type { Database } from './schema.js'
import type { Flavor } from './migrations/flavor.js'

type LockableTable = 'user' | 'team' | 'package' | 'package_version'

/** SELECT … FOR UPDATE on one row by id (PostgreSQL); nothing on SQLite. Call inside a transaction. */
export async function lockRowForUpdate(db: Kysely<Database>, flavor: Flavor, table: LockableTable, id: number): Promise<void> {
  if (flavor !== 'postgres') return
  await db.selectFrom(table).select('id').where('id', '=', id).forUpdate().execute()
}
