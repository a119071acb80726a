// Applies ./migrations in order (unordered allowed: engineers number theirs up front, so a database
// may have 0005 before 0003 lands). On PostgreSQL Kysely's Migrator takes a row lock, so two instances
// starting at once apply each migration exactly once. Its SQLite adapter takes no lock (it assumes one
// connection), so there a lock file next to the database serialises processes that start together.
import { open, rm, stat } from 'node:fs/promises'
import { setTimeout as sleep } from 'node:timers/promises'
import { Migrator, sql, type Kysely, type MigrationProvider } from 'kysely'
import { migrations } from './migrations/index.js'
import type { Flavor } from './migrations/flavor.js'

const LOCK_STALE_MS = 120_000

async function withLockFile<T>(file: string, fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 2 * LOCK_STALE_MS
  for (;;) {
    try {
      const h = await open(file, 'wx')
      await h.close()
      break
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      const st = await stat(file).catch(() => undefined)
      // A lock left by a process that died mid-migration.
      if (st && Date.now() - st.mtimeMs > LOCK_STALE_MS) await rm(file, { force: true })
      if (Date.now() > deadline) throw new Error(`timed out waiting for the migration lock ${file}`, { cause: err })
      await sleep(50)
    }
  }
  try {
    return await fn()
  } finally {
    await rm(file, { force: true })
  }
}

export async function migrateToLatest(db: Kysely<any>, flavor: Flavor, opts: { sqliteFile?: string } = {}): Promise<string[]> {
  if (flavor === 'sqlite' && opts.sqliteFile && opts.sqliteFile !== ':memory:') {
    return withLockFile(`${opts.sqliteFile}.migrate-lock`, () => migrateToLatest(db, flavor))
  }
  const provider: MigrationProvider = {
    getMigrations: async () => Object.fromEntries(
      Object.entries(migrations).map(([name, m]) => [name, { up: (d: Kysely<any>) => m.up(d, flavor) }])),
  }
  // Kysely looks for its own tables in every schema unless told which one: name ours, so databases
  // shared with other schemas (other apps, parallel test runs) don't confuse it.
  const migrationTableSchema = flavor === 'postgres'
    ? (await sql<{ s: string }>`select current_schema() as s`.execute(db)).rows[0]?.s
    : undefined
  // Migrations are numbered per engineer and land in any order (0005 before 0004); each creates its
  // own tables, so a database that has a later one may still take an earlier one.
  const { error, results } = await new Migrator({ db, provider, migrationTableSchema, allowUnorderedMigrations: true }).migrateToLatest()
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? '(none started)'
    throw new Error(`database migration ${failed} failed: ${error instanceof Error ? error.message : JSON.stringify(error)}`, { cause: error })
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName)
}
