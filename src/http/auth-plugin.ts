// Reads credentials from every form docs/http.md lists and sets request.actor. Wrong credentials are
// always a 401 with a challenge, never a fall-back to anonymous.
import fp from 'fastify-plugin'
import type { FastifyRequest } from 'fastify'
import type { Actor } from '../auth/permissions.js'
import type { User } from '../storage/db/schema.js'
import type { Credentials } from '../accounts/authenticate.js'
import { WharfError } from '../errors.js'
import { METRICS_PATH } from './metrics.js'

declare module 'fastify' {
  interface FastifyRequest {
    actor: Actor | null
    user: User | null
    /** How the actor signed in: Basic password, a token, or a web session. */
    authMethod: 'none' | 'password' | 'token' | 'session'
  }
}

export function parseAuthorization(header: string | undefined): Credentials | undefined {
  if (!header) return undefined
  const sp = header.indexOf(' ')
  const scheme = (sp < 0 ? header : header.slice(0, sp)).toLowerCase()
  const value = sp < 0 ? '' : header.slice(sp + 1).trim()
  if (scheme === 'basic') {
    let decoded: string
    try {
      decoded = Buffer.from(value, 'base64').toString('utf8')
    } catch {
      throw new WharfError('unauthenticated', 'malformed Basic credentials')
    }
    const colon = decoded.indexOf(':')
    if (colon < 0) {
      // "TOKEN" alone is accepted as TOKEN: (some tools omit the colon)
      if (decoded) return { kind: 'basic', username: decoded, password: '' }
      throw new WharfError('unauthenticated', 'malformed Basic credentials')
    }
    return { kind: 'basic', username: decoded.slice(0, colon), password: decoded.slice(colon + 1) }
  }
  if (scheme === 'token' || scheme === 'bearer') {
    if (!value) throw new WharfError('unauthenticated', 'empty token')
    return { kind: 'token', token: value }
  }
  throw new WharfError('unauthenticated', `unsupported authorization scheme '${scheme}'`)
}

/** Hook for the web UI: resolves a session cookie to a user, when there is no Authorization header. */
export type SessionResolver = (req: FastifyRequest) => Promise<{ actor: Actor; user: User } | undefined>

export const authPlugin = fp<{ sessionResolver?: SessionResolver }>(async (app, opts) => {
  app.decorateRequest('actor', null)
  app.decorateRequest('user', null)
  app.decorateRequest('authMethod', 'none')
  const metricsOn = app.services.metrics !== undefined
  app.addHook('onRequest', async (req) => {
    // /metrics has its own Bearer token (WHARF_METRICS_TOKEN), not a Wharf credential.
    if (metricsOn && req.url === METRICS_PATH) return
    const creds = parseAuthorization(req.headers.authorization)
    if (creds) {
      const { actor, user } = await app.services.auth.authenticate(creds, req.ip)
      req.actor = actor
      req.user = user
      req.authMethod = actor.viaToken ? 'token' : 'password'
      return
    }
    if (opts.sessionResolver) {
      const s = await opts.sessionResolver(req)
      if (s) {
        req.actor = s.actor
        req.user = s.user
        req.authMethod = 'session'
      }
    }
  })
})
