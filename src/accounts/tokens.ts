// Access tokens: created once, stored as a SHA-256 digest; a deleted token stops working at once here
// and within TOKEN_CACHE_MS on other instances (account-cache.ts clears the lookups on every write).
import type { Kysely } from 'kysely'
import type { AccessToken, Database, User } from '../storage/db/schema.js'
import { isUniqueViolation } from '../storage/db/errors.js'
import { generateToken, hashToken, lastEight } from '../auth/tokens.js'
import { parseScopes, type Scope } from '../auth/scopes.js'
import { invalid, notFound, unprocessable } from '../errors.js'
import { now } from './users.js'
import { recordAudit, type AuditBy } from '../ops/audit.js'
import { ACCOUNT_CACHE_MS, type AccountCache, type TtlCache } from './account-cache.js'

export const TOKEN_CACHE_MS = ACCOUNT_CACHE_MS

export interface TokenHit { token: AccessToken; user: User }

export class TokenService {
  private readonly cache: TtlCache<string, TokenHit>

  constructor(private readonly db: Kysely<Database>, private readonly accounts: AccountCache) {
    this.cache = accounts.create(TOKEN_CACHE_MS)
  }

  async create(user: User, input: { name: string; scopes: readonly string[] | string }, by?: AuditBy): Promise<{ token: string; row: AccessToken }> {
    if (typeof input.name !== 'string' || input.name.trim() === '' || input.name.length > 255) {
      throw invalid('token name is required (at most 255 characters)')
    }
    const scopes = parseScopes(input.scopes)
    const token = generateToken()
    try {
      const row = await this.db.transaction().execute(async (trx) => {
        const r = await trx.insertInto('access_token').values({
          user_id: user.id, name: input.name, lower_name: input.name.toLowerCase(), token_hash: hashToken(token),
          token_last_eight: lastEight(token), scopes: scopes.join(','), created_unix: now(), last_used_unix: null,
        }).returningAll().executeTakeFirstOrThrow()
        await recordAudit(trx, by, { action: 'token.create', ownerId: user.id, targetType: 'token', target: `${user.name}/${r.name}`, detail: { token_id: r.id, scopes } })
        return r
      })
      return { token, row }
    } catch (err) {
      if (isUniqueViolation(err)) throw unprocessable(`access token name '${input.name}' is already used`)
      throw err
    }
  }

  /**
   * A short-lived token for OIDC trusted publishing: it acts as `user`, works only on `ownerId`'s
   * packages and stops working at `expiresUnix`. Expired exchanged tokens of the user are removed.
   */
  async createExchanged(user: User, input: { policyId: number; policyName: string; ownerId: number; ownerName: string; scopes: Scope[]; expiresUnix: number; claims: Record<string, unknown> }, by: AuditBy): Promise<{ token: string; row: AccessToken }> {
    const token = generateToken()
    const name = `oidc-${input.policyName}-${lastEight(token)}`.slice(0, 255)
    const row = await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('access_token').where('user_id', '=', user.id).where('oidc_policy_id', 'is not', null).where('expires_unix', '<', now()).execute()
      const r = await trx.insertInto('access_token').values({
        user_id: user.id, name, lower_name: name.toLowerCase(), token_hash: hashToken(token), token_last_eight: lastEight(token),
        scopes: input.scopes.join(','), created_unix: now(), last_used_unix: null,
        expires_unix: input.expiresUnix, only_owner_id: input.ownerId, oidc_policy_id: input.policyId,
      }).returningAll().executeTakeFirstOrThrow()
      await recordAudit(trx, by, {
        action: 'token.exchange', ownerId: input.ownerId, targetType: 'token', target: `${user.name}/${r.name}`,
        detail: { token_id: r.id, policy_id: input.policyId, owner: input.ownerName, scopes: input.scopes, expires_unix: input.expiresUnix, claims: input.claims },
      })
      return r
    })
    return { token, row }
  }

  async list(user: User): Promise<AccessToken[]> {
    return this.db.selectFrom('access_token').selectAll().where('user_id', '=', user.id).orderBy('id').execute()
  }

  /** Deletes by numeric id or by name. */
  async delete(user: User, idOrName: string, by?: AuditBy): Promise<void> {
    // The account cache's plugin empties the token lookups as this statement runs.
    await this.db.transaction().execute(async (trx) => {
      let q = trx.deleteFrom('access_token').where('user_id', '=', user.id)
      q = /^\d+$/.test(idOrName) ? q.where('id', '=', Number(idOrName)) : q.where('lower_name', '=', idOrName.toLowerCase())
      const deleted = await q.returning(['id', 'name', 'token_hash']).execute()
      if (deleted.length === 0) throw notFound(`access token '${idOrName}'`)
      for (const r of deleted) {
        await recordAudit(trx, by, { action: 'token.delete', ownerId: user.id, targetType: 'token', target: `${user.name}/${r.name}`, detail: { token_id: r.id } })
      }
    })
  }

  /** The token's row and user, or undefined for an unknown or revoked token. */
  async lookup(token: string): Promise<TokenHit | undefined> {
    const key = hashToken(token)
    const hit = await this.accounts.through(this.cache, key, async () => {
      const row = await this.db.selectFrom('access_token').selectAll().where('token_hash', '=', key).executeTakeFirst()
      if (!row) return undefined
      const user = await this.db.selectFrom('user').selectAll().where('id', '=', row.user_id).executeTakeFirst()
      if (!user) return undefined
      const last = row.last_used_unix ?? 0
      if (now() - last > 60) {
        // At most one write a minute per token, off the request's path.
        this.db.updateTable('access_token').set({ last_used_unix: now() }).where('id', '=', row.id).execute().catch(() => {})
      }
      return { token: row, user }
    })
    // Exchanged (OIDC) tokens stop working at their expiry, cached or not.
    return hit && isExpired(hit.token, Date.now()) ? undefined : hit
  }

  /** Forget cached lookups (e.g. after a user changed; writes through Kysely do this by themselves). */
  invalidateUser(_userId: number): void {
    this.cache.clear()
  }
}

/** Exchanged (OIDC) tokens stop working at their expiry, cached or not. */
const isExpired = (row: AccessToken, nowMs: number): boolean => row.expires_unix !== null && row.expires_unix * 1000 <= nowMs

export const tokenScopes = (row: AccessToken): Scope[] => row.scopes.split(',').filter(Boolean) as Scope[]
