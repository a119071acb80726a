// Owner quotas (Gitea's LIMIT_TOTAL_OWNER_SIZE / _COUNT): bytes of all an owner's files and the
// number of its package versions. Site-wide limits come from WHARF_LIMIT_TOTAL_OWNER_*; a site admin
// may override them per owner (owner_quota: NULL = the site-wide limit, -1 = none).
// check() runs inside the upload's commit transaction, after its rows are written: on PostgreSQL it
// first locks the owner's row, so two uploads of one owner are counted one after the other and
// cannot together pass the limit; SQLite runs one write transaction at a time anyway.
import { sql, type Kysely } from 'kysely'
import type { Database } from '../storage/db/schema.js'
import type { Flavor } from '../storage/db/migrations/flavor.js'
import { invalid, quotaExceeded } from '../errors.js'
import { nowUnix } from './package-rows.js'

export interface QuotaDefaults {
  readonly size?: number
  readonly count?: number
}

export interface OwnerLimits {
  /** undefined = no limit. */
  readonly size?: number
  readonly count?: number
  /** The owner's override as stored (null = the site-wide default, -1 = none). */
  readonly override: { readonly size: number | null; readonly count: number | null }
}

export interface OwnerUsage {
  readonly size: number
  readonly count: number
}

type Db = Kysely<Database>

export class QuotaService {
  constructor(private readonly db: Db, private readonly flavor: Flavor, readonly defaults: QuotaDefaults) {}

  async limits(ownerId: number, db: Db = this.db): Promise<OwnerLimits> {
    const o = await db.selectFrom('owner_quota').select(['limit_total_size', 'limit_total_count'])
      .where('owner_id', '=', ownerId).executeTakeFirst()
    const pick = (override: number | null | undefined, def: number | undefined) =>
      override === null || override === undefined ? def : override < 0 ? undefined : override
    return {
      size: pick(o?.limit_total_size, this.defaults.size),
      count: pick(o?.limit_total_count, this.defaults.count),
      override: { size: o?.limit_total_size ?? null, count: o?.limit_total_count ?? null },
    }
  }

  async usage(ownerId: number, db: Db = this.db): Promise<OwnerUsage> {
    const size = await db.selectFrom('package_file as f')
      .innerJoin('package_blob as b', 'b.id', 'f.blob_id')
      .innerJoin('package_version as v', 'v.id', 'f.version_id')
      .innerJoin('package as p', 'p.id', 'v.package_id')
      .select((eb) => eb.fn.coalesce(eb.fn.sum<number>('b.size'), sql<number>`0`).as('n'))
      .where('p.owner_id', '=', ownerId).executeTakeFirstOrThrow()
    const count = await db.selectFrom('package_version as v')
      .innerJoin('package as p', 'p.id', 'v.package_id')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('p.owner_id', '=', ownerId).executeTakeFirstOrThrow()
    return { size: Number(size.n), count: Number(count.n) }
  }

  /** Whether uploads to this owner need counting at all (no limit: Gitea's default, no extra work). */
  async applies(ownerId: number): Promise<boolean> {
    const l = await this.limits(ownerId)
    return l.size !== undefined || l.count !== undefined
  }

  /**
   * Before the body is read: would `addBytes` more (and a new version, when `newVersion`) pass a
   * limit? `addBytes` undefined: the size is not known yet (only the count is checked).
   */
  async precheck(ownerId: number, ownerName: string, addBytes: number | undefined, newVersion: boolean): Promise<void> {
    const l = await this.limits(ownerId)
    if (l.size === undefined && l.count === undefined) return
    const u = await this.usage(ownerId)
    if (l.count !== undefined && newVersion && u.count + 1 > l.count) throw countExceeded(ownerName, l.count)
    if (l.size !== undefined && addBytes !== undefined && u.size + addBytes > l.size) throw sizeExceeded(ownerName, l.size)
  }

  /** Takes the owner's lock: first statement of a commit transaction that will call check(). */
  async lockOwner(trx: Db, ownerId: number): Promise<void> {
    if (this.flavor !== 'postgres') return
    // NO KEY UPDATE: serialises uploads of this owner, yet does not block inserts that only
    // reference the row (their foreign keys take KEY SHARE).
    await sql`select id from "user" where id = ${ownerId} for no key update`.execute(trx)
  }

  /** Inside the commit transaction, after the upload's rows are written: the totals with it. */
  async check(trx: Db, ownerId: number, ownerName: string, opts: { newVersion: boolean }): Promise<void> {
    const l = await this.limits(ownerId, trx)
    if (l.size === undefined && l.count === undefined) return
    const u = await this.usage(ownerId, trx)
    if (l.count !== undefined && opts.newVersion && u.count > l.count) throw countExceeded(ownerName, l.count)
    if (l.size !== undefined && u.size > l.size) throw sizeExceeded(ownerName, l.size)
  }

  /** A site admin's override; null = back to the site-wide default, -1 = no limit. */
  async setOverride(ownerId: number, o: { size: number | null; count: number | null }): Promise<void> {
    for (const [k, v] of Object.entries(o)) {
      if (v !== null && (!Number.isSafeInteger(v) || v < -1)) throw invalid(`${k}: expected a whole number ≥ 0, -1 (no limit) or null (the default)`)
    }
    if (o.size === null && o.count === null) {
      await this.db.deleteFrom('owner_quota').where('owner_id', '=', ownerId).execute()
      return
    }
    const row = { limit_total_size: o.size, limit_total_count: o.count, updated_unix: nowUnix() }
    await this.db.insertInto('owner_quota').values({ owner_id: ownerId, ...row })
      .onConflict((oc) => oc.column('owner_id').doUpdateSet(row)).execute()
  }

  /** Owners with an override, by name. */
  async listOverrides(): Promise<Array<{ ownerId: number; name: string; size: number | null; count: number | null }>> {
    const rows = await this.db.selectFrom('owner_quota as q').innerJoin('user as u', 'u.id', 'q.owner_id')
      .select(['q.owner_id', 'u.name', 'q.limit_total_size', 'q.limit_total_count']).orderBy('u.lower_name').execute()
    return rows.map((r) => ({ ownerId: r.owner_id, name: r.name, size: r.limit_total_size, count: r.limit_total_count }))
  }
}

const sizeExceeded = (owner: string, limit: number) =>
  quotaExceeded(`quota exceeded: the files of '${owner}' may take at most ${limit} bytes in all (WHARF_LIMIT_TOTAL_OWNER_SIZE)`)
const countExceeded = (owner: string, limit: number) =>
  quotaExceeded(`quota exceeded: '${owner}' may have at most ${limit} package versions (WHARF_LIMIT_TOTAL_OWNER_COUNT)`)
