// Users and organizations share one table (Gitea's `user`); type 1 marks an organization.
import { sql, type Kysely } from 'kysely'
import type { Database, User, Visibility } from '../storage/db/schema.js'
import { isUniqueViolation } from '../storage/db/errors.js'
import type { Flavor } from '../storage/db/migrations/flavor.js'
import { lockRowForUpdate } from '../storage/db/locks.js'
import { DEFAULT_PASSWORD_COST, hashPassword, MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from '../auth/passwords.js'
import { invalid, notFound, unprocessable } from '../errors.js'
import { checkEmail, checkOwnerName } from './names.js'
import { recordAudit, type AuditBy } from '../ops/audit.js'
import type { AccountCache, TtlCache } from './account-cache.js'

export const USER_TYPE_INDIVIDUAL = 0
export const USER_TYPE_ORGANIZATION = 1
export const VISIBILITIES: readonly Visibility[] = ['public', 'limited', 'private']

export const now = () => Math.floor(Date.now() / 1000)

export function checkVisibility(v: unknown): Visibility {
  if (typeof v !== 'string' || !VISIBILITIES.includes(v as Visibility)) throw invalid(`visibility must be one of ${VISIBILITIES.join(', ')}`)
  return v as Visibility
}

export function checkPassword(p: unknown): string {
  if (typeof p !== 'string' || p.length < MIN_PASSWORD_LENGTH) throw invalid(`password must be at least ${MIN_PASSWORD_LENGTH} characters`)
  if (p.length > MAX_PASSWORD_LENGTH) throw invalid(`password must be at most ${MAX_PASSWORD_LENGTH} characters`)
  return p
}

export interface CreateUserInput {
  username: string
  email?: string
  password: string
  isAdmin?: boolean
  visibility?: Visibility
  mustChangePassword?: boolean
  fullName?: string
}

export interface UserChanges {
  email?: string
  password?: string
  isAdmin?: boolean
  visibility?: Visibility
  mustChangePassword?: boolean
  fullName?: string
}

export class UserService {
  readonly #owners: TtlCache<string, User>

  constructor(
    private readonly db: Kysely<Database>,
    private readonly flavor: Flavor,
    private readonly accounts: AccountCache,
    /** log2 of scrypt's N for new hashes (WHARF_PASSWORD_HASH_COST). */
    readonly passwordCost = DEFAULT_PASSWORD_COST,
  ) {
    this.#owners = accounts.create()
  }

  async create(input: CreateUserInput, by?: AuditBy): Promise<User> {
    const name = checkOwnerName(input.username)
    const email = checkEmail(input.email)
    const password = checkPassword(input.password)
    const visibility = checkVisibility(input.visibility ?? 'public')
    const passwordHash = await hashPassword(password, this.passwordCost)
    const t = now()
    try {
      return await this.db.transaction().execute(async (trx) => {
        const u = await trx.insertInto('user').values({
          name, lower_name: name.toLowerCase(), full_name: input.fullName ?? '', email, type: USER_TYPE_INDIVIDUAL,
          password_hash: passwordHash, must_change_password: input.mustChangePassword ? 1 : 0,
          is_admin: input.isAdmin ? 1 : 0, visibility, created_unix: t, updated_unix: t,
        }).returningAll().executeTakeFirstOrThrow()
        await recordAudit(trx, by, {
          action: 'user.create', ownerId: u.id, targetType: 'user', target: u.name,
          detail: { admin: !!input.isAdmin, visibility, must_change_password: !!input.mustChangePassword },
        })
        return u
      })
    } catch (err) {
      if (isUniqueViolation(err)) throw unprocessable(`user or organization '${name}' already exists`)
      throw err
    }
  }

  /** An individual or an organization, by name (case-insensitive); cached for a few seconds (account-cache.ts). */
  async findOwner(name: string): Promise<User | undefined> {
    const lower = name.toLowerCase()
    return this.accounts.through(this.#owners, lower, () =>
      this.db.selectFrom('user').selectAll().where('lower_name', '=', lower).executeTakeFirst())
  }

  async findById(id: number): Promise<User | undefined> {
    return this.db.selectFrom('user').selectAll().where('id', '=', id).executeTakeFirst()
  }

  async getIndividual(name: string): Promise<User> {
    const u = await this.findOwner(name)
    if (!u || u.type !== USER_TYPE_INDIVIDUAL) throw notFound(`user '${name}'`)
    return u
  }

  async list(opts: { type?: number; limit?: number; offset?: number } = {}): Promise<User[]> {
    let q = this.db.selectFrom('user').selectAll().orderBy('id')
    if (opts.type !== undefined) q = q.where('type', '=', opts.type)
    return q.limit(opts.limit ?? 1000).offset(opts.offset ?? 0).execute()
  }

  async update(name: string, changes: UserChanges, by?: AuditBy): Promise<User> {
    const user = await this.getIndividual(name)
    const set: Partial<Record<string, unknown>> = { updated_unix: now() }
    // What changed, for the audit log: names and new values, never the password.
    const changed: Record<string, unknown> = {}
    if (changes.email !== undefined) changed.email = set.email = checkEmail(changes.email)
    if (changes.fullName !== undefined) changed.full_name = set.full_name = String(changes.fullName).slice(0, 255)
    if (changes.isAdmin !== undefined) changed.admin = !!(set.is_admin = changes.isAdmin ? 1 : 0)
    if (changes.visibility !== undefined) changed.visibility = set.visibility = checkVisibility(changes.visibility)
    if (changes.mustChangePassword !== undefined) changed.must_change_password = !!(set.must_change_password = changes.mustChangePassword ? 1 : 0)
    if (changes.password !== undefined) {
      set.password_hash = await hashPassword(checkPassword(changes.password), this.passwordCost)
      changed.password = true
    }
    return this.db.transaction().execute(async (trx) => {
      await trx.updateTable('user').set(set).where('id', '=', user.id).execute()
      const onlyPassword = changes.password !== undefined && Object.keys(changed).every((k) => k === 'password' || k === 'must_change_password')
      await recordAudit(trx, by, {
        action: onlyPassword ? 'user.password.change' : 'user.change', ownerId: user.id, targetType: 'user', target: user.name, detail: changed,
      })
      return trx.selectFrom('user').selectAll().where('id', '=', user.id).executeTakeFirstOrThrow()
    })
  }

  /**
   * Stores a hash of the same password at the current cost, unless the hash changed meanwhile (a
   * password change wins). Returns the new hash when it was stored.
   */
  async rehashPassword(user: Pick<User, 'id' | 'password_hash'>, password: string): Promise<string | undefined> {
    if (user.password_hash === null) return undefined
    const hash = await hashPassword(password, this.passwordCost)
    const r = await this.db.updateTable('user').set({ password_hash: hash })
      .where('id', '=', user.id).where('password_hash', '=', user.password_hash).executeTakeFirst()
    return Number(r.numUpdatedRows) > 0 ? hash : undefined
  }

  async countPackages(ownerId: number): Promise<number> {
    const r = await this.db.selectFrom('package').select(sql<number>`count(*)`.as('n')).where('owner_id', '=', ownerId).executeTakeFirst()
    return Number(r?.n ?? 0)
  }

  /** Deletes a user; refuses (422) while it owns packages unless purge is set. */
  async delete(name: string, opts: { purge?: boolean } = {}, by?: AuditBy): Promise<{ purgedPackages: number }> {
    const user = await this.getIndividual(name)
    // Rows cascade (tokens, memberships, packages → versions → files); blobs become orphans for the GC job.
    // Locked first, so a package being uploaded for this user is counted, not silently cascaded away.
    return this.db.transaction().setIsolationLevel('read committed').execute(async (trx) => {
      await lockRowForUpdate(trx, this.flavor, 'user', user.id)
      const r = await trx.selectFrom('package').select(sql<number>`count(*)`.as('n')).where('owner_id', '=', user.id).executeTakeFirst()
      const n = Number(r?.n ?? 0)
      if (n > 0 && !opts.purge) throw unprocessable(`user '${user.name}' still owns ${n} package(s); delete them first or use purge`)
      await trx.deleteFrom('user').where('id', '=', user.id).execute()
      await recordAudit(trx, by, { action: 'user.delete', ownerId: user.id, targetType: 'user', target: user.name, detail: n > 0 ? { purged_packages: n } : undefined })
      return { purgedPackages: n }
    })
  }

  async setTotp(userId: number, secret: string | null, recoveryCodes: string[] | null, by?: AuditBy): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      const u = await trx.updateTable('user').set({
        totp_secret: secret, recovery_codes: recoveryCodes ? JSON.stringify(recoveryCodes) : null, updated_unix: now(),
      }).where('id', '=', userId).returning('name').executeTakeFirst()
      if (!u) throw notFound(`user ${userId}`)
      await recordAudit(trx, by, { action: secret ? 'user.2fa.enable' : 'user.2fa.disable', ownerId: userId, targetType: 'user', target: u.name })
    })
  }

  async setRecoveryCodes(userId: number, codes: string[], by?: AuditBy): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      const u = await trx.updateTable('user').set({ recovery_codes: JSON.stringify(codes) }).where('id', '=', userId).returning('name').executeTakeFirst()
      if (!u) throw notFound(`user ${userId}`)
      await recordAudit(trx, by, { action: 'user.2fa.recovery_codes', ownerId: userId, targetType: 'user', target: u.name })
    })
  }
}

