// /api/v1 for OIDC trusted publishing (docs/http.md "OIDC trusted publishing"): an owner's trust
// policies, managed by its writers, and the anonymous exchange of a CI ID token for a Wharf token.
import type { FastifyPluginAsync, FastifyRequest } from 'fastify'
import type { User } from '../../storage/db/schema.js'
import { invalid, notFound } from '../../errors.js'
import type { PolicyView } from '../../ops/oidc.js'
import { auditBy } from '../audit-by.js'
import { signedIn } from './guards.js'

const iso = (unix: number) => new Date(unix * 1000).toISOString()

const policyJson = (p: PolicyView) => ({
  id: p.id, name: p.name, issuer: p.issuer, audience: p.audience, claims: p.claims, scopes: p.scopes,
  token_lifetime_seconds: p.tokenTtlSeconds, creator: p.creator, created_at: iso(p.createdUnix),
})

export const oidcRoutes: FastifyPluginAsync = async (app) => {
  const { access, oidc } = app.services

  const writable = async (req: FastifyRequest, name: string): Promise<User> => access.require(signedIn(req).actor, name, 'write')
  const policyId = (raw: string): number => {
    if (!/^\d{1,15}$/.test(raw)) throw notFound(`trust policy ${raw}`)
    return Number(raw)
  }

  app.get<{ Params: { owner: string } }>('/packages/:owner/-/oidc-policies', async (req) => {
    const owner = await writable(req, req.params.owner)
    return (await oidc.list(owner.id)).map(policyJson)
  })

  app.get<{ Params: { owner: string; id: string } }>('/packages/:owner/-/oidc-policies/:id', async (req) => {
    const owner = await writable(req, req.params.owner)
    return policyJson(await oidc.get(owner.id, policyId(req.params.id)))
  })

  app.post<{ Params: { owner: string } }>('/packages/:owner/-/oidc-policies', async (req, reply) => {
    const owner = await writable(req, req.params.owner)
    const body = req.body
    if (body === null || typeof body !== 'object' || Array.isArray(body)) throw invalid('expected a JSON object')
    // An OIDC token may not mint trust policies for itself.
    if (req.actor?.onlyOwnerId !== undefined) throw invalid('trust policies cannot be created with an exchanged (OIDC) token')
    const p = await oidc.create(owner, signedIn(req).user, body as Record<string, unknown>, auditBy(req))
    return reply.code(201).send(policyJson(p))
  })

  app.delete<{ Params: { owner: string; id: string } }>('/packages/:owner/-/oidc-policies/:id', async (req, reply) => {
    const owner = await writable(req, req.params.owner)
    await oidc.delete(owner, policyId(req.params.id), auditBy(req))
    return reply.code(204).send()
  })

  app.post('/oidc/token', { bodyLimit: 64 * 1024 }, async (req, reply) => {
    const body = req.body as { token?: unknown } | null
    const r = await oidc.exchange(body && typeof body === 'object' ? body.token : undefined, req.ip)
    return reply.code(201).send({ token: r.token, expires_at: iso(r.expiresUnix), owner: r.owner, scopes: r.scopes })
  })
}
