// Organizations, their teams and members. Every organization has an "Owners" team (full rights).
import type { Kysely } from 'kysely'
import type { Database, PackagesAccess, Team, User, Visibility } from '../storage/db/schema.js'
import { isUniqueViolation } from '../storage/db/errors.js'
import type { Flavor } from '../storage/db/migrations/flavor.js'
import { lockRowForUpdate } from '../storage/db/locks.js'
import { invalid, notFound, unprocessable } from '../errors.js'
import { checkOwnerName } from './names.js'
import { checkVisibility, now, USER_TYPE_ORGANIZATION } from './users.js'
import { recordAudit, type AuditBy } from '../ops/audit.js'
import type { AccountCache, TtlCache } from './account-cache.js'

export interface Membership { isMember: boolean; isOwner: boolean; access: PackagesAccess }

export const PACKAGES_ACCESS: readonly PackagesAccess[] = ['none', 'read', 'write', 'admin']
const RANK: Record<PackagesAccess, number> = { none: 0, read: 1, write: 2, admin: 3 }

export function checkPackagesAccess(v: unknown): PackagesAccess {
  if (typeof v !== 'string' || !PACKAGES_ACCESS.includes(v as PackagesAccess)) {
    throw invalid(`packages access must be one of ${PACKAGES_ACCESS.join(', ')}`)
  }
  return v as PackagesAccess
}

export const maxAccess = (a: PackagesAccess, b: PackagesAccess) => (RANK[a] >= RANK[b] ? a : b)

export class OrgService {
  readonly #memberships: TtlCache<string, Membership>

  constructor(private readonly db: Kysely<Database>, private readonly flavor: Flavor, private readonly accounts: AccountCache) {
    this.#memberships = accounts.create()
  }

  async create(input: { name: string; visibility?: Visibility; fullName?: string; description?: string }, creator: User, by?: AuditBy): Promise<User> {
    const name = checkOwnerName(input.name, 'organization name')
    const visibility = checkVisibility(input.visibility ?? 'public')
    const t = now()
    try {
      return await this.db.transaction().execute(async (trx) => {
        const org = await trx.insertInto('user').values({
          name, lower_name: name.toLowerCase(), full_name: input.fullName ?? '', email: '', type: USER_TYPE_ORGANIZATION,
          password_hash: null, must_change_password: 0, is_admin: 0, visibility, created_unix: t, updated_unix: t,
        }).returningAll().executeTakeFirstOrThrow()
        const team = await trx.insertInto('team').values({
          org_id: org.id, name: 'Owners', lower_name: 'owners', description: '', packages_access: 'admin', is_owner_team: 1, created_unix: t,
        }).returning('id').executeTakeFirstOrThrow()
        await trx.insertInto('team_user').values({ team_id: team.id, user_id: creator.id }).execute()
        await recordAudit(trx, by, { action: 'org.create', ownerId: org.id, targetType: 'org', target: org.name, detail: { visibility, owner: creator.name } })
        return org
      })
    } catch (err) {
      if (isUniqueViolation(err)) throw unprocessable(`user or organization '${name}' already exists`)
      throw err
    }
  }

  async getOrg(name: string): Promise<User> {
    const org = await this.db.selectFrom('user').selectAll()
      .where('lower_name', '=', name.toLowerCase()).where('type', '=', USER_TYPE_ORGANIZATION).executeTakeFirst()
    if (!org) throw notFound(`organization '${name}'`)
    return org
  }

  async update(org: User, changes: { visibility?: Visibility; fullName?: string }, by?: AuditBy): Promise<User> {
    const set: Record<string, unknown> = { updated_unix: now() }
    if (changes.visibility !== undefined) set.visibility = checkVisibility(changes.visibility)
    if (changes.fullName !== undefined) set.full_name = String(changes.fullName).slice(0, 255)
    return this.db.transaction().execute(async (trx) => {
      await trx.updateTable('user').set(set).where('id', '=', org.id).execute()
      const { updated_unix: _, ...detail } = set
      await recordAudit(trx, by, { action: 'org.change', ownerId: org.id, targetType: 'org', target: org.name, detail })
      return trx.selectFrom('user').selectAll().where('id', '=', org.id).executeTakeFirstOrThrow()
    })
  }

  async delete(org: User, by?: AuditBy): Promise<void> {
    // Locked first, so a package being uploaded into the organization is seen, not cascaded away.
    await this.db.transaction().setIsolationLevel('read committed').execute(async (trx) => {
      await lockRowForUpdate(trx, this.flavor, 'user', org.id)
      const r = await trx.selectFrom('package').select('id').where('owner_id', '=', org.id).executeTakeFirst()
      if (r) throw unprocessable(`organization '${org.name}' still owns packages; delete them first`)
      await trx.deleteFrom('user').where('id', '=', org.id).execute()
      await recordAudit(trx, by, { action: 'org.delete', ownerId: org.id, targetType: 'org', target: org.name })
    })
  }

  async createTeam(org: User, input: { name: string; description?: string; packagesAccess: PackagesAccess }, by?: AuditBy): Promise<Team> {
    if (typeof input.name !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9 _.-]{0,29}$/.test(input.name)) {
      throw invalid('team name must be 1-30 letters, digits, spaces, - _ . starting with a letter or digit')
    }
    if (input.name.toLowerCase() === 'owners') throw unprocessable('team name \'Owners\' is reserved')
    const access = checkPackagesAccess(input.packagesAccess)
    try {
      return await this.db.transaction().execute(async (trx) => {
        const team = await trx.insertInto('team').values({
          org_id: org.id, name: input.name, lower_name: input.name.toLowerCase(), description: input.description ?? '',
          packages_access: access, is_owner_team: 0, created_unix: now(),
        }).returningAll().executeTakeFirstOrThrow()
        await recordAudit(trx, by, { action: 'team.create', ownerId: org.id, targetType: 'team', target: `${org.name}/${team.name}`, detail: { team_id: team.id, packages_access: access } })
        return team
      })
    } catch (err) {
      if (isUniqueViolation(err)) throw unprocessable(`team '${input.name}' already exists`)
      throw err
    }
  }

  async getTeam(id: number): Promise<Team> {
    const team = Number.isSafeInteger(id)
      ? await this.db.selectFrom('team').selectAll().where('id', '=', id).executeTakeFirst()
      : undefined
    if (!team) throw notFound(`team ${id}`)
    return team
  }

  async listTeams(org: User): Promise<Team[]> {
    return this.db.selectFrom('team').selectAll().where('org_id', '=', org.id).orderBy('id').execute()
  }

  async listTeamMembers(teamId: number): Promise<User[]> {
    return this.db.selectFrom('team_user').innerJoin('user', 'user.id', 'team_user.user_id')
      .selectAll('user').where('team_user.team_id', '=', teamId).orderBy('user.lower_name').execute()
  }

  async addMember(team: Team, user: User, by?: AuditBy): Promise<void> {
    if (user.type === USER_TYPE_ORGANIZATION) throw invalid('an organization cannot be a team member')
    await this.db.transaction().execute(async (trx) => {
      // Already a member: nothing changes, nothing is recorded.
      const added = await trx.insertInto('team_user').values({ team_id: team.id, user_id: user.id })
        .onConflict((oc) => oc.columns(['team_id', 'user_id']).doNothing()).executeTakeFirst()
      if (Number(added.numInsertedOrUpdatedRows ?? 0) === 0) return
      await recordAudit(trx, by, { action: 'team.member.add', ownerId: team.org_id, targetType: 'team', target: await this.#teamTarget(trx, team), detail: { team_id: team.id, member: user.name } })
    })
  }

  async removeMember(team: Team, user: User, by?: AuditBy): Promise<void> {
    // The team row locked first: two owners removing each other at once cannot both see "2 owners".
    await this.db.transaction().setIsolationLevel('read committed').execute(async (trx) => {
      await lockRowForUpdate(trx, this.flavor, 'team', team.id)
      if (team.is_owner_team) {
        const owners = await trx.selectFrom('team_user').select('user_id').where('team_id', '=', team.id).execute()
        if (owners.length === 1 && owners[0]!.user_id === user.id) throw unprocessable('cannot remove the last owner of an organization')
      }
      const r = await trx.deleteFrom('team_user').where('team_id', '=', team.id).where('user_id', '=', user.id).executeTakeFirst()
      if (Number(r.numDeletedRows) === 0) return
      await recordAudit(trx, by, { action: 'team.member.remove', ownerId: team.org_id, targetType: 'team', target: await this.#teamTarget(trx, team), detail: { team_id: team.id, member: user.name } })
    })
  }

  async #teamTarget(trx: Kysely<Database>, team: Team): Promise<string> {
    const org = await trx.selectFrom('user').select('name').where('id', '=', team.org_id).executeTakeFirst()
    return `${org?.name ?? team.org_id}/${team.name}`
  }

  /** The user's membership facts in an organization: member of any team, and the best packages access. */
  async membership(orgId: number, userId: number): Promise<Membership> {
    return (await this.accounts.through(this.#memberships, `${orgId}:${userId}`, () => this.#loadMembership(orgId, userId)))!
  }

  async #loadMembership(orgId: number, userId: number): Promise<Membership> {
    const rows = await this.db.selectFrom('team_user').innerJoin('team', 'team.id', 'team_user.team_id')
      .select(['team.packages_access', 'team.is_owner_team'])
      .where('team.org_id', '=', orgId).where('team_user.user_id', '=', userId).execute()
    let access: PackagesAccess = 'none'
    let isOwner = false
    for (const r of rows) {
      if (r.is_owner_team) isOwner = true
      access = maxAccess(access, r.is_owner_team ? 'admin' : r.packages_access)
    }
    return { isMember: rows.length > 0, isOwner, access }
  }

  async listOrgsOf(userId: number): Promise<User[]> {
    return this.db.selectFrom('team_user').innerJoin('team', 'team.id', 'team_user.team_id')
      .innerJoin('user', 'user.id', 'team.org_id').selectAll('user').distinct()
      .where('team_user.user_id', '=', userId).orderBy('user.lower_name').execute()
  }
}
