// CSRF protection for the web UI with @fastify/csrf-protection (registered once in app.ts, so every
// reply — also the root 404 page — can mint a token; only webPages' preHandler checks them).
//
// The secret lives in the HttpOnly cookie wharf_csrf (@fastify/cookie; Wharf has no cookie-signing
// secret, so the cookie is not signed: a cross-site page can make the browser send it but cannot read
// it). Every form carries a token made from that secret as _csrf. When signed in the token is bound
// to the session (userInfo = the session's id hash, which only the server and the holder of the
// session cookie can know), so a token from one session — or from before sign-in — is refused in
// another, even where the secret cookie is the same.
//
// hmacKey: @fastify/csrf requires one for userInfo. The safety of the tokens rests on the unreadable
// secret cookie and the unknowable session id, not on this key; it is a fixed constant so that every
// worker of a cluster (WHARF_WORKERS) and every restart accepts the others' tokens.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import csrfProtection from '@fastify/csrf-protection'
import { WharfError } from '../errors.js'
import { field, formOf } from './forms.js'
import { CSRF_COOKIE, SESSION_SECONDS, requestSession, secureCookies } from './sessions.js'

const HMAC_KEY = 'wharf-web-csrf-v1'
const ANONYMOUS = 'anonymous'

/** What a token is bound to: the signed-in session, or "anonymous" (sign-in, second factor). */
export function csrfUserInfo(req: FastifyRequest): string {
  const s = requestSession(req)
  return s ? `session:${s.row.id_hash}` : ANONYMOUS
}

export async function registerCsrf(app: FastifyInstance): Promise<void> {
  await app.register(csrfProtection, {
    sessionPlugin: '@fastify/cookie',
    cookieKey: CSRF_COOKIE,
    cookieOpts: { path: '/', httpOnly: true, sameSite: 'lax', secure: secureCookies(app.services), maxAge: SESSION_SECONDS },
    csrfOpts: { userInfo: true, hmacKey: HMAC_KEY },
    getToken: (req) => field(formOf(req), '_csrf') || undefined,
    getUserInfo: csrfUserInfo,
  })
}

/** The token a page's forms post back as _csrf; sets the secret cookie when the browser has none. */
export function csrfToken(req: FastifyRequest, reply: FastifyReply): string {
  return reply.generateCsrf({ userInfo: csrfUserInfo(req) })
}

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS'])

/** webPages' preHandler: every state-changing request needs a valid token, else 403 (csrfRefusal). */
export function checkCsrf(req: FastifyRequest, reply: FastifyReply, done: () => void): void {
  if (SAFE.has(req.method)) return done()
  req.server.csrfProtection(req, reply, done)
}

/** The plugin's refusals (FST_CSRF_MISSING_SECRET, FST_CSRF_INVALID_TOKEN) become the one clear 403. */
export function csrfRefusal(err: { code?: string }): WharfError | undefined {
  return err.code === 'FST_CSRF_INVALID_TOKEN' || err.code === 'FST_CSRF_MISSING_SECRET'
    ? new WharfError('forbidden', 'This form has expired or did not come from this site. Reload the page and try again.')
    : undefined
}
