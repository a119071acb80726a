// openDatabase(url): sqlite:PATH (better-sqlite3, WAL, busy timeout) or postgres://… (pg pool).
// A postgres URL may carry ?schema=NAME: every connection then works in that schema (tests use it
// to give each run its own namespace).
import { mkdirSync } from 'node:fs'
import path from 'node:path'
import SQLite from 'better-sqlite3'
import { createRequire } from 'node:module'
import type pgTypes from 'pg'
import { CompiledQuery, Kysely, PostgresDialect, SqliteDialect, SqliteDriver, sql, type DatabaseConnection, type LogEvent, type SqliteDialectConfig } from 'kysely'
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
  return { db: new Kysely<Database>({ dialect: new PostgresDialect({ pool }), ...log }), flavor: 'postgres' }
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
