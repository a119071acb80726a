// Access tokens: created once, stored as a SHA-256 digest; a deleted token stops working at once here
// and within TOKEN_CACHE_MS on other instances.
import type { Kysely } from 'kysely'
import type { AccessToken, Database, User } from '../storage/db/schema.js'
import { isUniqueViolation } from '../storage/db/errors.js'
import { generateToken, hashToken, lastEight } from '../auth/tokens.js'
import { parseScopes, type Scope } from '../auth/scopes.js'
import { invalid, notFound, unprocessable } from '../errors.js'
import { now } from './users.js'
import { recordAudit, type AuditBy } from '../ops/audit.js'

export const TOKEN_CACHE_MS = 5_000
const CACHE_MAX = 10_000

export interface TokenHit { token: AccessToken; user: User }

export class TokenService {
  private readonly cache = new Map<string, { hit: TokenHit; expires: number }>()

  constructor(private readonly db: Kysely<Database>) {}

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

  async list(user: User): Promise<AccessToken[]> {
    return this.db.selectFrom('access_token').selectAll().where('user_id', '=', user.id).orderBy('id').execute()
  }

  /** Deletes by numeric id or by name. */
  async delete(user: User, idOrName: string, by?: AuditBy): Promise<void> {
    const rows = await this.db.transaction().execute(async (trx) => {
      let q = trx.deleteFrom('access_token').where('user_id', '=', user.id)
      q = /^\d+$/.test(idOrName) ? q.where('id', '=', Number(idOrName)) : q.where('lower_name', '=', idOrName.toLowerCase())
      const deleted = await q.returning(['id', 'name', 'token_hash']).execute()
      if (deleted.length === 0) throw notFound(`access token '${idOrName}'`)
      for (const r of deleted) {
        await recordAudit(trx, by, { action: 'token.delete', ownerId: user.id, targetType: 'token', target: `${user.name}/${r.name}`, detail: { token_id: r.id } })
      }
      return deleted
    })
    for (const r of rows) this.cache.delete(r.token_hash)
  }

  /** The token's row and user, or undefined for an unknown or revoked token. */
  async lookup(token: string): Promise<TokenHit | undefined> {
    const key = hashToken(token)
    const t = Date.now()
    const cached = this.cache.get(key)
    if (cached && cached.expires > t) return cached.hit
    const row = await this.db.selectFrom('access_token').selectAll().where('token_hash', '=', key).executeTakeFirst()
    if (!row) {
      this.cache.delete(key)
      return undefined
    }
    const user = await this.db.selectFrom('user').selectAll().where('id', '=', row.user_id).executeTakeFirst()
    if (!user) return undefined
    if (this.cache.size >= CACHE_MAX) this.cache.clear()
    this.cache.set(key, { hit: { token: row, user }, expires: t + TOKEN_CACHE_MS })
    const last = row.last_used_unix ?? 0
    if (now() - last > 60) {
      // At most one write a minute per token, off the request's path.
      this.db.updateTable('access_token').set({ last_used_unix: now() }).where('id', '=', row.id).execute().catch(() => {})
    }
    return { token: row, user }
  }

  /** Forget cached lookups (e.g. after a user changed). */
  invalidateUser(userId: number): void {
    for (const [k, v] of this.cache) if (v.hit.user.id === userId) this.cache.delete(k)
  }
}

export const tokenScopes = (row: AccessToken): Scope[] => row.scopes.split(',').filter(Boolean) as Scope[]
