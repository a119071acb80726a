// The TOTP replay guard, in the database so it holds across workers and instances: a code (a time
// step) is accepted once per user, and never one older than the last accepted. One conditional
// upsert decides, so two instances given the same code at the same moment cannot both accept it.
import type { Kysely } from 'kysely'
import type { Database } from '../storage/db/schema.js'

/** True when `step` is newer than any step this user signed in with; it is then recorded as used. */
export async function claimTotpStep(db: Kysely<Database>, userId: number, step: number): Promise<boolean> {
  const r = await db.insertInto('totp_used_step').values({ user_id: userId, step })
    .onConflict((oc) => oc.column('user_id').doUpdateSet({ step }).where('totp_used_step.step', '<', step))
    .executeTakeFirst()
  return Number(r.numInsertedOrUpdatedRows ?? 0) > 0
}
