// Frozen once released: imports only kysely and ./flavor.js.
// Release workflow and storage lifecycle (issue 11): per-package overwrite/protection settings,
// per-owner quota overrides, cleanup rules with a log of their runs, and job leases.
import type { Kysely } from 'kysely'
import { bigint, idColumn, type Flavor } from './flavor.js'

export async function up(db: Kysely<any>, flavor: Flavor): Promise<void> {
  const int8 = bigint(flavor)
  // Keyed by the package's name, not its row: a package whose last version goes keeps its settings.
  await db.schema.createTable('package_setting')
    .addColumn('owner_id', 'integer', (c) => c.notNull().references('user.id').onDelete('cascade'))
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('lower_name', 'text', (c) => c.notNull())
    .addColumn('overwrite', 'text', (c) => c.notNull().defaultTo('immutable'))
    .addColumn('overwrite_versions', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('protected_versions', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('updated_unix', int8, (c) => c.notNull())
    .addPrimaryKeyConstraint('package_setting_pk', ['owner_id', 'type', 'lower_name'])
    .execute()

  // NULL: the site-wide WHARF_LIMIT_TOTAL_OWNER_*; -1: no limit for this owner.
  await db.schema.createTable('owner_quota')
    .addColumn('owner_id', 'integer', (c) => c.primaryKey().references('user.id').onDelete('cascade'))
    .addColumn('limit_total_size', int8)
    .addColumn('limit_total_count', int8)
    .addColumn('updated_unix', int8, (c) => c.notNull())
    .execute()

  // Gitea's PackageCleanupRule.
  await db.schema.createTable('package_cleanup_rule')
    .addColumn('id', 'integer', idColumn(flavor))
    .addColumn('owner_id', 'integer', (c) => c.notNull().references('user.id').onDelete('cascade'))
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('enabled', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('keep_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('keep_pattern', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('remove_days', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('remove_pattern', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('match_full_name', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_unix', int8, (c) => c.notNull())
    .addColumn('updated_unix', int8, (c) => c.notNull())
    .addUniqueConstraint('package_cleanup_rule_owner_type_uq', ['owner_id', 'type'])
    .execute()

  await db.schema.createTable('package_cleanup_run')
    .addColumn('id', 'integer', idColumn(flavor))
    .addColumn('owner_id', 'integer', (c) => c.notNull().references('user.id').onDelete('cascade'))
    .addColumn('type', 'text', (c) => c.notNull())
    /** 'schedule' or 'manual'. */
    .addColumn('trigger', 'text', (c) => c.notNull())
    .addColumn('removed_count', 'integer', (c) => c.notNull())
    /** JSON array of {name, version}. */
    .addColumn('removed_json', 'text', (c) => c.notNull())
    .addColumn('created_unix', int8, (c) => c.notNull())
    .execute()
  await db.schema.createIndex('package_cleanup_run_owner_idx').on('package_cleanup_run').columns(['owner_id', 'created_unix']).execute()

  // One row per periodic job: whoever moves lease_until forward runs it (every instance, any database).
  await db.schema.createTable('job_lease')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('holder', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('lease_until_unix', int8, (c) => c.notNull().defaultTo(0))
    .addColumn('last_run_unix', int8, (c) => c.notNull().defaultTo(0))
    .execute()
}
