// Page guards: signed-in users and site admins. Anonymous visitors are sent to sign in and back.
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { User } from '../storage/db/schema.js'
import { WharfError } from '../errors.js'
import { requestSession } from './sessions.js'

export class RedirectToLogin extends Error {
  constructor(readonly next: string) {
    super('sign in required')
  }
}

/** The signed-in user of a page request; pages accept only web sessions (tokens are for the API). */
export function requireUser(req: FastifyRequest): User {
  const s = requestSession(req)
  if (!s) throw new RedirectToLogin(req.method === 'GET' ? req.url : '/')
  return s.user
}

export function requireAdmin(req: FastifyRequest): User {
  const u = requireUser(req)
  if (!u.is_admin) throw new WharfError('forbidden', 'This page is for site administrators.')
  return u
}

export function loginRedirect(reply: FastifyReply, next: string): FastifyReply {
  return reply.redirect(`/-/login?next=${encodeURIComponent(next)}`, 303)
}
