// Small checks shared by the /api/v1 routes.
import type { FastifyRequest } from 'fastify'
import type { Actor } from '../../auth/permissions.js'
import type { Scope } from '../../auth/scopes.js'
import type { User } from '../../storage/db/schema.js'
import { WharfError, forbidden, invalid } from '../../errors.js'
import type { ZodType } from 'zod'

export function signedIn(req: FastifyRequest): { actor: Actor; user: User } {
  if (!req.actor || !req.user) throw new WharfError('unauthenticated', 'authentication required')
  return { actor: req.actor, user: req.user }
}

export function requireScope(req: FastifyRequest, scope: Scope): { actor: Actor; user: User } {
  const s = signedIn(req)
  if (!s.actor.scopes.has(scope)) throw forbidden(`the access token does not have the ${scope} scope`)
  return s
}

export function requireSiteAdmin(req: FastifyRequest, scope: Scope): { actor: Actor; user: User } {
  const s = requireScope(req, scope)
  if (!s.actor.isAdmin) throw forbidden('only site administrators may do this')
  return s
}

/** Token management needs Basic auth with the password (as in Gitea). */
export function requirePasswordAuth(req: FastifyRequest): { actor: Actor; user: User } {
  const s = signedIn(req)
  if (req.authMethod !== 'password') {
    throw new WharfError('unauthenticated', 'managing access tokens needs Basic authentication with the password')
  }
  return s
}

export function parseBody<T>(schema: ZodType<T>, body: unknown): T {
  const r = schema.safeParse(body ?? {})
  if (!r.success) {
    const first = r.error.issues[0]
    const where = first?.path.length ? `${first.path.join('.')}: ` : ''
    throw invalid(`${where}${first?.message ?? 'invalid request body'}`)
  }
  return r.data
}
