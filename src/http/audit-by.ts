// The audit log's view of who sent a request: user, how they signed in, token name, address.
import type { FastifyRequest } from 'fastify'
import type { AuditBy } from '../ops/audit.js'

export function auditBy(req: FastifyRequest): AuditBy {
  const a = req.actor
  if (!a) return { userId: null, name: 'anonymous', kind: 'anonymous', ip: req.ip }
  const kind = req.authMethod === 'none' ? 'anonymous' : a.oidcPolicyId !== undefined ? 'oidc' : req.authMethod
  return { userId: a.userId, name: a.name, kind, tokenName: a.tokenName ?? null, ip: req.ip }
}
