// `wharf migrate-db --to postgres://…`: moves the SQLite database into an empty PostgreSQL one —
// every table the migrations made, rows and identity sequences (so rows added after the move get
// fresh ids), in one transaction on the target, checked by counts before it commits. Blobs stay
// where they are (`wharf migrate-storage` moves those); stop the server while it runs.
import type { Command } from 'commander'
import { sql, type Kysely } from 'kysely'
import { loadConfig } from '../config/config.js'
import { ensurePostgresSchema, openDatabase } from '../storage/db/open.js'
import { migrateToLatest } from '../storage/db/migrate.js'
import { WharfError } from '../errors.js'
import { reportError } from './index.js'

export interface MigrateDbResult { tables: Array<{ table: string; rows: number }> }

const redact = (url: string) => url.replace(/\/\/[^@/]*@/, '//***@')
const refuse = (msg: string) => new WharfError('invalid', msg)

export function registerMigrateDb(program: Command): void {
  program.command('migrate-db').description('move the SQLite database (WHARF_DATABASE_URL) into an empty PostgreSQL database')
    .requiredOption('--to <url>', 'the target: postgres://user:pass@host:port/db')
    .action(async (o: { to: string }) => {
      try {
        const config = loadConfig(process.env)
        const r = await migrateDatabase(config.databaseUrl, o.to, (line) => process.stdout.write(`${line}\n`))
        const rows = r.tables.reduce((n, t) => n + t.rows, 0)
        process.stdout.write(`moved ${rows} rows in ${r.tables.length} tables to ${redact(o.to)}; counts match. ` +
          `Now start Wharf with WHARF_DATABASE_URL set to it (and the same WHARF_STORAGE_URL).\n`)
      } catch (err) {
        reportError(err)
      }
    })
}

/** Tables the migrations made, parents before children (foreign keys), Kysely's own left out. */
async function sqliteTables(db: Kysely<any>): Promise<string[]> {
  const names = (await sql<{ name: string }>`select name from sqlite_master where type = 'table' and name not like 'sqlite_%' and name not like 'kysely_%' order by name`.execute(db)).rows.map((r) => r.name)
  const deps = new Map<string, string[]>()
  for (const n of names) {
    const fks = await sql<{ table: string }>`select "table" from pragma_foreign_key_list(${n})`.execute(db)
    deps.set(n, fks.rows.map((r) => r.table).filter((p) => p !== n))
  }
  const ordered: string[] = []
  const seen = new Set<string>()
  const visit = (n: string, path: string[]) => {
    if (seen.has(n)) return
    if (path.includes(n)) throw new Error(`foreign keys form a cycle: ${[...path, n].join(' → ')}`)
    for (const p of deps.get(n) ?? []) visit(p, [...path, n])
    seen.add(n)
    ordered.push(n)
  }
  for (const n of names) visit(n, [])
  return ordered
}

const count = async (db: Kysely<any>, table: string) =>
  Number((await db.selectFrom(table).select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n)

export async function migrateDatabase(sourceUrl: string, targetUrl: string, progress: (line: string) => void = () => {}): Promise<MigrateDbResult> {
  if (!sourceUrl.startsWith('sqlite:')) throw refuse(`the source (WHARF_DATABASE_URL) must be an SQLite database, not ${redact(sourceUrl)}`)
  if (!/^postgres(ql)?:\/\//.test(targetUrl)) throw refuse(`--to must be a postgres:// URL, got ${redact(targetUrl)}`)
  const source = openDatabase(sourceUrl)
  let target: ReturnType<typeof openDatabase> | undefined
  try {
    // Both at the latest schema, so they have the same tables and columns.
    await migrateToLatest(source.db, 'sqlite', { sqliteFile: sourceUrl.slice('sqlite:'.length) })
    await ensurePostgresSchema(targetUrl)
    target = openDatabase(targetUrl)
    const tdb = target.db as Kysely<any>
    await migrateToLatest(tdb, 'postgres')
    const sdb = source.db as Kysely<any>
    const tables = await sqliteTables(sdb)
    const columns = new Map<string, Map<string, string>>()
    for (const r of (await sql<{ table_name: string; column_name: string; data_type: string }>`
      select table_name, column_name, data_type from information_schema.columns where table_schema = current_schema()`.execute(tdb)).rows) {
      if (!columns.has(r.table_name)) columns.set(r.table_name, new Map())
      columns.get(r.table_name)!.set(r.column_name, r.data_type)
    }
    for (const table of tables) {
      if (!columns.has(table)) throw refuse(`the target has no table '${table}': is it a different Wharf version?`)
      const n = await count(tdb, table)
      if (n > 0) throw refuse(`the target database is not empty (table '${table}' has ${n} rows); migrate-db only fills an empty database`)
    }

    // The source inside a transaction (SQLite takes its write lock: nobody changes it meanwhile);
    // the target inside one, so a failure leaves it as empty as it was.
    return await sdb.transaction().execute(async (src) => tdb.transaction().execute(async (dst) => {
      const result: MigrateDbResult = { tables: [] }
      for (const table of tables) {
        const types = columns.get(table)!
        const sourceCols = (await sql<{ name: string }>`select name from pragma_table_info(${table})`.execute(src)).rows.map((r) => r.name)
        const missing = sourceCols.filter((c) => !types.has(c))
        if (missing.length > 0) throw refuse(`the target's table '${table}' lacks columns ${missing.join(', ')}`)
        const batch = Math.max(1, Math.floor(20_000 / Math.max(1, sourceCols.length)))
        let copied = 0
        let after = Number.MIN_SAFE_INTEGER
        for (;;) {
          const rows = (await sql<Record<string, unknown>>`select rowid as "__rowid", * from ${sql.table(table)} where rowid > ${after} order by rowid limit ${batch}`.execute(src)).rows
          if (rows.length === 0) break
          after = Number(rows[rows.length - 1]!.__rowid)
          const values = rows.map((row) => Object.fromEntries(sourceCols.map((c) => [c, convert(row[c], types.get(c)!)])))
          await dst.insertInto(table).values(values).execute()
          copied += rows.length
        }
        // Identity columns: the next generated id follows the largest copied one.
        for (const col of types.keys()) {
          const seq = (await sql<{ s: string | null }>`select pg_get_serial_sequence(${sql.lit(`"${table}"`)}, ${col}) as s`.execute(dst)).rows[0]?.s
          if (!seq) continue
          await sql`select setval(${seq}, coalesce((select max(${sql.ref(col)}) from ${sql.table(table)}), 0) + 1, false)`.execute(dst)
        }
        const [from, to] = [await count(src, table), await count(dst, table)]
        if (from !== copied || to !== copied) throw new Error(`counts differ for '${table}': source ${from}, copied ${copied}, target ${to}`)
        progress(`${table}: ${copied} rows`)
        result.tables.push({ table, rows: copied })
      }
      return result
    }))
  } finally {
    await source.db.destroy()
    await target?.db.destroy()
  }
}

/** SQLite has no booleans or JSON types: give PostgreSQL columns of those types what they expect. */
function convert(v: unknown, pgType: string): unknown {
  if (v === null || v === undefined) return null
  if (pgType === 'boolean') return v === 1 || v === '1' || v === true || v === 'true'
  if ((pgType === 'json' || pgType === 'jsonb') && typeof v !== 'string') return JSON.stringify(v)
  return v
}
