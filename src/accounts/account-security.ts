// Account security: password changes, two-factor authentication and sessions, together with the cache
// invalidation each of them needs (password verifications, token → user lookups) and signing out the
// account's other sessions. Handlers call one method; none of them forgets a cache by hand.
import { hash } from 'node:crypto'
import type { Kysely } from 'kysely'
import type { Database, User } from '../storage/db/schema.js'
import type { AuditBy } from '../ops/audit.js'
import { verifyPassword } from '../auth/passwords.js'
import { generateRecoveryCodes, hashRecoveryCode, verifyTotp } from '../auth/totp.js'
import { WharfError, invalid } from '../errors.js'
import type { Authenticator } from './authenticate.js'
import type { TokenService } from './tokens.js'
import type { UserChanges, UserService } from './users.js'

/** Sessions are stored as the SHA-256 of their id: a leaked database gives away no live session. */
export const sessionIdHash = (id: string) => hash('sha256', id, 'hex')

export class AccountSecurity {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly users: UserService,
    private readonly tokens: TokenService,
    private readonly auth: Authenticator,
  ) {}

  /** The user's own change: the current password must be right; other sessions are signed out. */
  async changePassword(user: User, current: string, next: string, opts: { keepSession?: string; by?: AuditBy } = {}): Promise<void> {
    if (!(await verifyPassword(current, user.password_hash))) throw invalid('The current password is wrong')
    await this.users.update(user.name, { password: next, mustChangePassword: false }, opts.by)
    this.auth.forgetUser(user.id)
    await this.signOutOthers(user.id, opts.keepSession)
  }

  /** Turns two-factor on once a code from the new secret checks out; returns the recovery codes (shown once). */
  async enableTotp(user: User, secret: string, code: string, opts: { keepSession?: string; by?: AuditBy } = {}): Promise<string[]> {
    if (!verifyTotp(secret, code)) throw invalid('That code is not valid')
    const codes = generateRecoveryCodes()
    await this.users.setTotp(user.id, secret, codes.map(hashRecoveryCode), opts.by)
    this.auth.forgetUser(user.id)
    await this.signOutOthers(user.id, opts.keepSession)
    return codes
  }

  /** New recovery codes for a current TOTP code; the old ones stop working. */
  async renewRecoveryCodes(user: User, code: string, by?: AuditBy): Promise<string[]> {
    if (!user.totp_secret || !verifyTotp(user.totp_secret, code)) throw invalid('That code is not valid')
    const codes = generateRecoveryCodes()
    await this.users.setRecoveryCodes(user.id, codes.map(hashRecoveryCode), by)
    return codes
  }

  /** Turns two-factor off; needs the password. Returns the updated user. */
  async disableTotp(user: User, password: string, by?: AuditBy): Promise<User> {
    if (!(await verifyPassword(password, user.password_hash))) throw invalid('The password is wrong')
    await this.users.setTotp(user.id, null, null, by)
    this.auth.forgetUser(user.id)
    return (await this.users.findById(user.id))!
  }

  /** A site admin's change to a user (API and admin page): cached tokens and passwords follow it. */
  async adminUpdate(name: string, changes: UserChanges, by?: AuditBy): Promise<User> {
    const u = await this.users.update(name, changes, by)
    this.tokens.invalidateUser(u.id)
    if (changes.password !== undefined) this.auth.forgetUser(u.id)
    return u
  }

  /** A site admin deletes a user; its cached tokens and verifications go with it. */
  async deleteUser(name: string, opts: { purge?: boolean; by?: AuditBy }): Promise<void> {
    const target = await this.users.getIndividual(name)
    await this.users.delete(name, { purge: opts.purge }, opts.by)
    this.tokens.invalidateUser(target.id)
    this.auth.forgetUser(target.id)
  }

  /** Signs out every session of the user but `keepSession` (the raw id of the one making the change). */
  async signOutOthers(userId: number, keepSession?: string): Promise<void> {
    let q = this.db.deleteFrom('session').where('user_id', '=', userId)
    if (keepSession) q = q.where('id_hash', '!=', sessionIdHash(keepSession))
    await q.execute()
  }
}

export const isSecurityRefusal = (err: unknown): err is WharfError => err instanceof WharfError && err.kind === 'invalid'
