// Applies ./migrations in order. Kysely's Migrator takes a lock (a row lock on PostgreSQL, a
// transaction on SQLite), so two instances starting at once apply each migration exactly once.
import { Migrator, type Kysely, type MigrationProvider } from 'kysely'
import { migrations } from './migrations/index.js'
import type { Flavor } from './migrations/flavor.js'

export async function migrateToLatest(db: Kysely<any>, flavor: Flavor): Promise<string[]> {
  const provider: MigrationProvider = {
    getMigrations: async () => Object.fromEntries(
      Object.entries(migrations).map(([name, m]) => [name, { up: (d: Kysely<any>) => m.up(d, flavor) }])),
  }
  const { error, results } = await new Migrator({ db, provider }).migrateToLatest()
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? '(none started)'
    throw new Error(`database migration ${failed} failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error })
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName)
}
