// Read-only listings the pages need and PackageService does not offer: packages (not versions) across
// every owner the visitor may read, newest first. Everything that changes data goes through
// services.packages.
import { sql, type Expression, type Kysely, type SqlBool } from 'kysely'
import type { Database, User } from '../storage/db/schema.js'
import type { Actor } from '../auth/permissions.js'
import type { Services } from '../services.js'

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

/**
 * Which owners a visitor may read, as SQL. Mirrors decide() in auth/permissions.ts for a web visitor
 * (a session has every scope): public owners, limited ones for anyone signed in, the user itself and
 * the organizations it belongs to; site admins read everything. Rows are re-checked with
 * access.canRead before they are shown.
 */
export async function readableOwners(s: Services, actor: Actor | null): Promise<{ all: true } | { none: true } | { ids: number[]; limited: boolean }> {
  if (actor?.isAdmin) return { all: true }
  if (!actor && s.config.requireSignInView) return { none: true }
  if (!actor) return { ids: [], limited: false }
  const orgs = await s.orgs.listOrgsOf(actor.userId)
  return { ids: [actor.userId, ...orgs.map((o) => o.id)], limited: true }
}

function escapeLike(q: string): string {
  return `%${q.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`
}

export async function listPackages(db: Kysely<Database>, scope: Awaited<ReturnType<typeof readableOwners>> | { owner: number }, query: ListQuery): Promise<{ rows: PackageRow[]; total: number }> {
  if ('none' in scope) return { rows: [], total: 0 }
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

/** Names of users by id, for "created by" columns. */
export async function userNames(db: Kysely<Database>, ids: Array<number | null>): Promise<Map<number, string>> {
  const wanted = [...new Set(ids.filter((i): i is number => i !== null))]
  if (wanted.length === 0) return new Map()
  const rows = await db.selectFrom('user').select(['id', 'name']).where('id', 'in', wanted).execute()
  return new Map(rows.map((r) => [r.id, r.name]))
}

/** Distinct owners of a page of rows, each re-checked with access.canRead (defence in depth). */
export async function filterReadable(s: Services, actor: Actor | null, rows: PackageRow[]): Promise<PackageRow[]> {
  const owners = new Map<string, boolean>()
  for (const r of rows) {
    if (owners.has(r.owner)) continue
    const o: User | undefined = await s.users.findOwner(r.owner)
    owners.set(r.owner, !!o && await s.access.canRead(actor, o))
  }
  return rows.filter((r) => owners.get(r.owner))
}
