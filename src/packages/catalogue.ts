// The package catalogue: packages (not versions) across every owner a visitor may read, or of one
// owner, newest first, with a name search. Which owners are readable comes from OwnerAccess (the
// permission rules live there, not here); every row is re-checked with access.canRead before it is
// returned. Everything that changes data goes through PackageService.
import { sql, type Expression, type Kysely, type SqlBool } from 'kysely'
import type { Database, User } from '../storage/db/schema.js'
import type { Actor } from '../auth/permissions.js'
import type { OwnerAccess, ReadScope } from '../accounts/owner-access.js'
import type { UserService } from '../accounts/users.js'

export interface PackageRow {
  id: number
  type: string
  name: string
  owner: string
  ownerVisibility: string
  updated: number
  versions: number
  latest: string
}

export interface ListQuery {
  type?: string
  q?: string
  page: number
  limit: number
}

export class PackageCatalogue {
  constructor(private readonly db: Kysely<Database>, private readonly users: UserService, private readonly access: OwnerAccess) {}

  /** The packages the actor may read; `signInRequired` when nothing is readable without signing in. */
  async search(actor: Actor | null, query: ListQuery): Promise<{ rows: PackageRow[]; total: number; signInRequired?: true }> {
    const scope = await this.access.readScope(actor)
    if ('none' in scope) return { rows: [], total: 0, signInRequired: true }
    const { rows, total } = await listPackages(this.db, scope, query)
    return { rows: await this.filterReadable(actor, rows), total }
  }

  /** One owner's packages; the caller has checked the actor may read that owner (access.require). */
  async ofOwner(owner: User, query: ListQuery): Promise<{ rows: PackageRow[]; total: number }> {
    return listPackages(this.db, { owner: owner.id }, query)
  }

  /** Names of users by id, for "published by" columns. */
  async userNames(ids: Array<number | null>): Promise<Map<number, string>> {
    const wanted = [...new Set(ids.filter((i): i is number => i !== null))]
    if (wanted.length === 0) return new Map()
    const rows = await this.db.selectFrom('user').select(['id', 'name']).where('id', 'in', wanted).execute()
    return new Map(rows.map((r) => [r.id, r.name]))
  }

  /** Distinct owners of a page of rows, each re-checked with access.canRead (defence in depth). */
  private async filterReadable(actor: Actor | null, rows: PackageRow[]): Promise<PackageRow[]> {
    const owners = new Map<string, boolean>()
    for (const r of rows) {
      if (owners.has(r.owner)) continue
      const o = await this.users.findOwner(r.owner)
      owners.set(r.owner, !!o && await this.access.canRead(actor, o))
    }
    return rows.filter((r) => owners.get(r.owner))
  }
}

function escapeLike(q: string): string {
  return `%${q.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`
}

async function listPackages(db: Kysely<Database>, scope: Exclude<ReadScope, { none: true }> | { owner: number }, query: ListQuery): Promise<{ rows: PackageRow[]; total: number }> {
  let base = db.selectFrom('package as p').innerJoin('user as u', 'u.id', 'p.owner_id')
    .where(({ exists, selectFrom }) => exists(selectFrom('package_version as v0').select(sql.lit(1).as('one')).whereRef('v0.package_id', '=', 'p.id')))
  if ('owner' in scope) base = base.where('p.owner_id', '=', scope.owner)
  else if ('ids' in scope) {
    const { ids, limited } = scope
    base = base.where((eb) => {
      const ors: Expression<SqlBool>[] = [eb('u.visibility', '=', 'public')]
      if (limited) ors.push(eb('u.visibility', '=', 'limited'))
      if (ids.length > 0) ors.push(eb('u.id', 'in', ids))
      return eb.or(ors)
    })
  }
  if (query.type) base = base.where('p.type', '=', query.type)
  if (query.q) base = base.where(sql<boolean>`p.lower_name like ${escapeLike(query.q)} escape '\\'`)

  const count = await base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()
  const rows = await base
    .select(['p.id as id', 'p.type as type', 'p.name as name', 'u.name as owner', 'u.visibility as ownerVisibility'])
    .select((eb) => [
      eb.selectFrom('package_version as v').select((e) => e.fn.max('v.created_unix').as('m')).whereRef('v.package_id', '=', 'p.id').as('updated'),
      eb.selectFrom('package_version as v').select((e) => e.fn.countAll<number>().as('c')).whereRef('v.package_id', '=', 'p.id').as('versions'),
    ])
    .orderBy('updated', 'desc').orderBy('p.id', 'desc')
    .limit(query.limit).offset((query.page - 1) * query.limit)
    .execute()
  const latest = new Map<number, string>()
  if (rows.length > 0) {
    const vs = await db.selectFrom('package_version').select(['package_id', 'version', 'created_unix', 'id'])
      .where('package_id', 'in', rows.map((r) => r.id))
      .orderBy('created_unix', 'desc').orderBy('id', 'desc').execute()
    for (const v of vs) if (!latest.has(v.package_id)) latest.set(v.package_id, v.version)
  }
  return {
    total: Number(count.n),
    rows: rows.map((r) => ({
      id: r.id, type: r.type, name: r.name, owner: r.owner, ownerVisibility: r.ownerVisibility,
      updated: Number(r.updated ?? 0), versions: Number(r.versions ?? 0), latest: latest.get(r.id) ?? '',
    })),
  }
}
