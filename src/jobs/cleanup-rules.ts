// The daily run of every enabled cleanup rule. One instance at a time on any database: a lease row
// (job_lease) is claimed by one atomic UPDATE that only succeeds when no lease is held and the last
// run is at least `intervalMs` ago, so however many instances and workers tick, one of them runs it.
import { randomUUID } from 'node:crypto'
import type { Kysely } from 'kysely'
import type { Database } from '../storage/db/schema.js'
import type { CleanupLog, CleanupService } from '../packages/cleanup.js'

const JOB = 'cleanup-rules'
/** How long a claim holds before another instance may take over a run that died. */
const LEASE_SECONDS = 3600

export interface CleanupJobDeps {
  readonly db: Kysely<Database>
  readonly cleanup: CleanupService
  readonly intervalMs: number
  /** Who holds the lease (default: a random id per process). */
  readonly holder?: string
}

const processHolder = randomUUID()

export async function claimLease(db: Kysely<Database>, name: string, holder: string, minGapSeconds: number, leaseSeconds: number): Promise<boolean> {
  const now = Math.floor(Date.now() / 1000)
  await db.insertInto('job_lease').values({ name, holder: '', lease_until_unix: 0, last_run_unix: 0 })
    .onConflict((oc) => oc.column('name').doNothing()).execute()
  const r = await db.updateTable('job_lease').set({ holder, lease_until_unix: now + leaseSeconds })
    .where('name', '=', name).where('lease_until_unix', '<', now).where('last_run_unix', '<=', now - minGapSeconds)
    .executeTakeFirst()
  return Number(r.numUpdatedRows) === 1
}

export async function releaseLease(db: Kysely<Database>, name: string, holder: string): Promise<void> {
  await db.updateTable('job_lease').set({ lease_until_unix: 0, last_run_unix: Math.floor(Date.now() / 1000) })
    .where('name', '=', name).where('holder', '=', holder).execute()
}

/** Runs the enabled rules when this instance wins the lease; `ran` false when another has it or it is not due. */
export async function runCleanupRules(deps: CleanupJobDeps, log?: CleanupLog, signal?: AbortSignal): Promise<{ ran: boolean; rules: number; removed: number }> {
  const holder = deps.holder ?? processHolder
  // A little slack, so a timer that fires a moment early still finds the run due.
  const gap = Math.max(0, Math.floor(deps.intervalMs / 1000) - 60)
  if (!(await claimLease(deps.db, JOB, holder, gap, LEASE_SECONDS))) return { ran: false, rules: 0, removed: 0 }
  try {
    return { ran: true, ...(await deps.cleanup.runEnabled(log, signal)) }
  } finally {
    await releaseLease(deps.db, JOB, holder)
  }
}
