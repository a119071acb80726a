// One runner at a time for a background job, across every worker and instance sharing a database.
// PostgreSQL: a session-level advisory lock (released by the server if the holder dies). SQLite: a
// lease row with an expiry, renewed while the job runs, so a worker that dies mid-run only blocks the
// job until the lease runs out.
import { createHash, randomUUID } from 'node:crypto'
import { sql, type Kysely } from 'kysely'
import type { Database } from '../storage/db/schema.js'
import type { Flavor } from '../storage/db/migrations/flavor.js'

/** Identifies this process as a lease holder. */
const HOLDER = randomUUID()
export const LEASE_MS = 60_000

export interface ExclusiveOptions {
  /** The advisory lock number on PostgreSQL; default: derived from the name. */
  readonly pgLockId?: number
  /** How long a lease lasts without renewal (SQLite); renewed every third of it. */
  readonly leaseMs?: number
  /** Holder id (tests stand in for other processes); default: this process. */
  readonly holder?: string
}

export type Exclusive<T> = { ran: true; value: T } | { ran: false }

/** A stable 48-bit number for a job name (the same on every instance). */
export function lockIdOf(name: string): number {
  return createHash('sha256').update(`wharf-job:${name}`).digest().readUIntBE(0, 6)
}

/** Runs `fn` unless another process runs the job `name` now; then returns `{ ran: false }` at once. */
export async function runExclusive<T>(db: Kysely<Database>, flavor: Flavor, name: string, fn: () => Promise<T>, opts: ExclusiveOptions = {}): Promise<Exclusive<T>> {
  if (flavor === 'postgres') {
    const id = opts.pgLockId ?? lockIdOf(name)
    // Taken and released on one connection, as session-level advisory locks must be.
    return db.connection().execute(async (conn) => {
      const got = await sql<{ locked: boolean }>`select pg_try_advisory_lock(${id}) as locked`.execute(conn)
      if (!got.rows[0]?.locked) return { ran: false }
      try {
        return { ran: true, value: await fn() }
      } finally {
        await sql`select pg_advisory_unlock(${id})`.execute(conn)
      }
    })
  }
  const holder = opts.holder ?? HOLDER
  const leaseMs = opts.leaseMs ?? LEASE_MS
  if (!(await takeLease(db, name, holder, leaseMs))) return { ran: false }
  const renew = setInterval(() => {
    db.updateTable('job_lock').set({ expires_ms: Date.now() + leaseMs })
      .where('name', '=', name).where('holder', '=', holder).execute().catch(() => {})
  }, Math.max(10, Math.floor(leaseMs / 3)))
  renew.unref()
  try {
    return { ran: true, value: await fn() }
  } finally {
    clearInterval(renew)
    await db.deleteFrom('job_lock').where('name', '=', name).where('holder', '=', holder).execute()
  }
}

/** Inserts the lease, or takes over an expired one; true when `holder` has it now. */
export async function takeLease(db: Kysely<Database>, name: string, holder: string, leaseMs: number): Promise<boolean> {
  const t = Date.now()
  const r = await db.insertInto('job_lock').values({ name, holder, expires_ms: t + leaseMs })
    .onConflict((oc) => oc.column('name').doUpdateSet({ holder, expires_ms: t + leaseMs }).where('job_lock.expires_ms', '<', t))
    .executeTakeFirst()
  return Number(r.numInsertedOrUpdatedRows ?? 0) > 0
}
