// Web sessions: a random id in an HttpOnly cookie, stored as its SHA-256 digest (a leaked database
// does not give away live sessions). A sign-in with two-factor enabled first gets a short "pending"
// session that proves only the password; it never resolves to a user.
import { randomBytes } from 'node:crypto'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Services } from '../services.js'
import type { Session, User } from '../storage/db/schema.js'
import type { SessionResolver } from '../http/auth-plugin.js'
import { EVERY_SCOPE } from '../auth/scopes.js'
import { now } from '../accounts/users.js'
import { sessionIdHash } from '../accounts/account-security.js'

export const SESSION_COOKIE = 'wharf_session'
/** The cookie holding the CSRF secret of @fastify/csrf-protection (web/csrf.ts). */
export const CSRF_COOKIE = 'wharf_csrf'
export const SESSION_SECONDS = 14 * 24 * 3600
export const PENDING_SECONDS = 10 * 60

const hashId = sessionIdHash
export const randomToken = (bytes = 32) => randomBytes(bytes).toString('base64url')

export interface WebSession { row: Session; user: User }

/** One cookie as @fastify/cookie parsed it (registered for every route in app.ts); only the shape our ids have. */
export function readCookie(req: FastifyRequest, name: string): string | undefined {
  const v = req.cookies[name]
  return v !== undefined && /^[A-Za-z0-9_-]{1,128}$/.test(v) ? v : undefined
}

export const secureCookies = (s: Services) => !!s.config.tls || s.publicUrl().protocol === 'https:'

export function cookieOptions(s: Services, maxAge: number) {
  return { path: '/', httpOnly: true, sameSite: 'lax' as const, secure: secureCookies(s), maxAge }
}

export class SessionStore {
  constructor(private readonly services: Services) {}

  /** A fresh id every time, so a session id planted before sign-in is worth nothing after it. */
  async create(userId: number, pending2fa: boolean): Promise<{ id: string; row: Session }> {
    const id = randomToken()
    const t = now()
    const row: Session = {
      // csrf_token is no longer used (CSRF tokens come from @fastify/csrf-protection, bound to
      // id_hash: web/csrf.ts); the NOT NULL column stays, without a migration, and gets ''.
      id_hash: hashId(id), user_id: userId, csrf_token: '', pending_2fa: pending2fa ? 1 : 0,
      created_unix: t, expires_unix: t + (pending2fa ? PENDING_SECONDS : SESSION_SECONDS),
    }
    const { db } = this.services
    await db.deleteFrom('session').where('expires_unix', '<', t).execute()
    await db.insertInto('session').values(row).execute()
    return { id, row }
  }

  async find(id: string | undefined): Promise<WebSession | undefined> {
    if (!id) return undefined
    const { db } = this.services
    const row = await db.selectFrom('session').selectAll().where('id_hash', '=', hashId(id)).executeTakeFirst()
    if (!row || Number(row.expires_unix) < now()) return undefined
    const user = await this.services.users.findById(row.user_id)
    if (!user) return undefined
    return { row: { ...row, pending_2fa: Number(row.pending_2fa), created_unix: Number(row.created_unix), expires_unix: Number(row.expires_unix) }, user }
  }

  async delete(id: string | undefined): Promise<void> {
    if (id) await this.services.db.deleteFrom('session').where('id_hash', '=', hashId(id)).execute()
  }

}

const bySession = new WeakMap<FastifyRequest, WebSession>()
const stores = new WeakMap<Services, SessionStore>()

export function sessionStore(s: Services): SessionStore {
  let store = stores.get(s)
  if (!store) stores.set(s, (store = new SessionStore(s)))
  return store
}

/** The session of a request the resolver accepted (signed in, second factor done). */
export const requestSession = (req: FastifyRequest): WebSession | undefined => bySession.get(req)

/**
 * Resolves the session cookie for pages, and for reads on the API. A state-changing API request
 * carrying only a cookie stays anonymous: a browser sends cookies along with cross-site form posts,
 * and the API has no CSRF token to check.
 */
export const sessionResolver: SessionResolver = async (req) => {
  const q = req.url.indexOf('?')
  const path = (q < 0 ? req.url : req.url.slice(0, q)).toLowerCase()
  const isApi = path === '/api' || path.startsWith('/api/')
  if (isApi && req.method !== 'GET' && req.method !== 'HEAD') return undefined
  const id = readCookie(req, SESSION_COOKIE)
  if (!id) return undefined
  const s = await sessionStore(req.server.services).find(id)
  if (!s || s.row.pending_2fa) return undefined
  bySession.set(req, s)
  return {
    user: s.user,
    actor: { userId: s.user.id, name: s.user.name, isAdmin: !!s.user.is_admin, scopes: EVERY_SCOPE, viaToken: false },
  }
}

export function setSessionCookie(reply: FastifyReply, s: Services, id: string, seconds: number): void {
  reply.setCookie(SESSION_COOKIE, id, cookieOptions(s, seconds))
}

export function clearSessionCookie(reply: FastifyReply, s: Services): void {
  reply.clearCookie(SESSION_COOKIE, { path: '/', httpOnly: true, sameSite: 'lax', secure: secureCookies(s) })
}
