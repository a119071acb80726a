// openDatabase(url): sqlite:PATH (better-sqlite3, WAL, busy timeout) or postgres://… (pg pool).
// A postgres URL may carry ?schema=NAME: every connection then works in that schema (tests use it
// to give each run its own namespace).
import { mkdirSync } from 'node:fs'
import path from 'node:path'
import SQLite from 'better-sqlite3'
import { createRequire } from 'node:module'
import type pgTypes from 'pg'
import { CompiledQuery, Kysely, PostgresDialect, SqliteDialect, SqliteDriver, sql, type DatabaseConnection, type DatabaseIntrospector, type LogEvent, type SchemaMetadata, type SqliteDialectConfig, type TableMetadata } from 'kysely'
import type { Database } from './schema.js'
import type { Flavor } from './migrations/flavor.js'

// pg is loaded at the first postgres URL, not at start-up: a server on SQLite never needs it (idle
// memory). It is CommonJS, so a synchronous require keeps openDatabase synchronous.
let pgModule: typeof pgTypes | undefined
function loadPg(): typeof pgTypes {
  if (!pgModule) {
    pgModule = createRequire(import.meta.url)('pg') as typeof pgTypes
    // int8 (sizes, counts, times) as JS numbers: all our values stay below 2^53.
    pgModule.types.setTypeParser(20, (v: string) => Number(v))
  }
  return pgModule
}

/**
 * Transactions take SQLite's write lock when they begin (BEGIN IMMEDIATE), waiting up to the busy
 * timeout for it. With a plain BEGIN, a transaction that reads and then writes fails at once with
 * SQLITE_BUSY when another process (WHARF_WORKERS > 1) wrote in between; waiting is always safe.
 */
class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'))
  }
}

class ImmediateSqliteDialect extends SqliteDialect {
  constructor(private readonly cfg: SqliteDialectConfig) {
    super(cfg)
  }

  override createDriver() {
    return new ImmediateSqliteDriver(this.cfg)
  }
}

/**
 * Kysely's PostgresIntrospector reads every table of every schema and resolves each one by name
 * (`pg_get_serial_sequence('schema.table', …)`): a schema another process drops meanwhile (other
 * apps sharing the database, parallel test runs) makes that query fail with "relation … does not
 * exist", and with it the Migrator, which introspects to find its own tables. This one looks only
 * at the connection's current schema, where ours are, and resolves nothing by name.
 */
class CurrentSchemaIntrospector implements DatabaseIntrospector {
  constructor(private readonly db: Kysely<any>) {}

  async getSchemas(): Promise<SchemaMetadata[]> {
    const rows = await sql<{ name: string }>`select nspname as name from pg_catalog.pg_namespace`.execute(this.db)
    return rows.rows.map((r) => ({ name: r.name }))
  }

  async getTables(): Promise<TableMetadata[]> {
    const rows = await sql<{ table: string; kind: string; schema: string; column: string; type: string; type_schema: string; not_null: boolean; has_default: boolean; identity: string }>`
      select c.relname as table, c.relkind as kind, ns.nspname as schema, a.attname as column,
             typ.typname as type, dtns.nspname as type_schema, a.attnotnull as not_null,
             a.atthasdef as has_default, a.attidentity as identity
        from pg_catalog.pg_class c
        join pg_catalog.pg_namespace ns on ns.oid = c.relnamespace
        join pg_catalog.pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
        join pg_catalog.pg_type typ on typ.oid = a.atttypid
        join pg_catalog.pg_namespace dtns on dtns.oid = typ.typnamespace
       where ns.nspname = current_schema() and c.relkind in ('r', 'v', 'p')
       order by c.relname, a.attnum`.execute(this.db)
    const tables = new Map<string, TableMetadata>()
    for (const r of rows.rows) {
      let t = tables.get(r.table)
      if (!t) tables.set(r.table, t = { name: r.table, schema: r.schema, isView: r.kind === 'v', columns: [] })
      t.columns.push({
        name: r.column, dataType: r.type, dataTypeSchema: r.type_schema, isNullable: !r.not_null,
        hasDefaultValue: r.has_default, isAutoIncrementing: r.identity !== '',
      })
    }
    return [...tables.values()]
  }

  async getMetadata() {
    return { tables: await this.getTables() }
  }
}

class CurrentSchemaPostgresDialect extends PostgresDialect {
  override createIntrospector(db: Kysely<any>): DatabaseIntrospector {
    return new CurrentSchemaIntrospector(db)
  }
}

export interface OpenDatabase {
  db: Kysely<Database>
  flavor: Flavor
}

export interface OpenOptions {
  /** Called after every query (metrics); Kysely passes its duration or its error. */
  log?: (event: LogEvent) => void
  /** PostgreSQL pool size (WHARF_DATABASE_POOL); default 10. */
  pool?: number
}

export function openDatabase(url: string, opts: OpenOptions = {}): OpenDatabase {
  const log = opts.log ? { log: opts.log } : {}
  if (url.startsWith('sqlite:')) {
    const file = url.slice('sqlite:'.length)
    if (file !== ':memory:') mkdirSync(path.dirname(path.resolve(file)), { recursive: true })
    const database = new SQLite(file)
    database.pragma('journal_mode = WAL')
    database.pragma('busy_timeout = 10000')
    database.pragma('foreign_keys = ON')
    database.pragma('synchronous = NORMAL')
    // A checkpoint runs inside a commit, on the main thread, and ends with two fsyncs: with
    // SQLite's default of every 1,000 WAL pages that was every ~50 small uploads (each writes ~20
    // pages), stalling every request meanwhile. Every 10,000 pages (a WAL of up to ~40 MB) also
    // copies a page written by many commits once instead of many times. And a 16 MiB page cache
    // (2 MiB by default) keeps the indexes uploads insert into (blob digests, inline blob keys)
    // in memory. Small uploads went ~14 % faster (bench/README, e); the cache fills only with use.
    database.pragma('wal_autocheckpoint = 10000')
    database.pragma('cache_size = -16384')
    // Kysely prepares every query afresh; re-using prepared statements saves ~30% CPU on small
    // downloads. Safe because Kysely runs one query at a time on this connection and never streams.
    const statements = new Map<string, SQLite.Statement>()
    const prepare = (text: string) => {
      let stmt = statements.get(text)
      if (!stmt) {
        if (statements.size >= 1000) statements.clear()
        stmt = database.prepare(text)
        statements.set(text, stmt)
      }
      return stmt
    }
    const dialect = new ImmediateSqliteDialect({ database: { prepare, close: () => database.close() } })
    return { db: new Kysely<Database>({ dialect, ...log }), flavor: 'sqlite' }
  }
  const parsed = new URL(url)
  const schema = parsed.searchParams.get('schema')
  parsed.searchParams.delete('schema')
  if (schema !== null && !/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new Error(`invalid schema name '${schema}'`)
  const pool = new (loadPg()).Pool({
    connectionString: parsed.toString(),
    max: opts.pool ?? 10,
    ...(schema !== null ? { options: `-c search_path=${schema}` } : {}),
  })
  return { db: new Kysely<Database>({ dialect: new CurrentSchemaPostgresDialect({ pool }), ...log }), flavor: 'postgres' }
}

/** Runs `fn` with the schema named in a postgres URL's ?schema= on a short-lived connection outside it. */
async function withSchemaName(url: string, fn: (db: Kysely<any>, schema: string) => Promise<void>): Promise<void> {
  const parsed = new URL(url)
  const schema = parsed.searchParams.get('schema')
  if (schema === null) return
  parsed.searchParams.delete('schema')
  const db = new Kysely<any>({ dialect: new PostgresDialect({ pool: new (loadPg()).Pool({ connectionString: parsed.toString(), max: 1 }) }) })
  try {
    await fn(db, schema)
  } finally {
    await db.destroy()
  }
}

/** Creates the schema named in a postgres URL's ?schema= (tests give each run its own). */
export async function ensurePostgresSchema(url: string): Promise<void> {
  await withSchemaName(url, async (db, schema) => {
    try {
      await sql`CREATE SCHEMA IF NOT EXISTS ${sql.id(schema)}`.execute(db)
    } catch (err) {
      // Two instances creating it at the same moment: the loser sees a unique violation; the schema exists.
      const code = (err as { code?: string }).code
      if (code !== '23505' && code !== '42P06') throw err
    }
  })
}

export async function dropPostgresSchema(url: string): Promise<void> {
  await withSchemaName(url, async (db, schema) => {
    await sql`DROP SCHEMA IF EXISTS ${sql.id(schema)} CASCADE`.execute(db)
  })
}

/** A cheap round trip, for /api/healthz. */
export async function pingDatabase(db: Kysely<Database>): Promise<void> {
  await sql`select 1`.execute(db)
}
