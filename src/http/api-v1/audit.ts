// GET /api/v1/admin/audit: the audit log, newest first. Site admins see everything (and may filter
// by ?owner=); anyone else must name an owner they own (an organization's owners, or themselves).
import type { FastifyPluginAsync } from 'fastify'
import { requireScope } from './guards.js'
import { setPaging } from './packages.js'
import { QueryError, parseQuery, q as qs } from '../query.js'
import { forbidden, notFound } from '../../errors.js'
import { auditJson, type AuditFilter } from '../../ops/audit.js'
import type { Actor } from '../../auth/permissions.js'
import type { Services } from '../../services.js'
import { USER_TYPE_ORGANIZATION } from '../../accounts/users.js'

const MAX_LIMIT = 50

export type AuditQuery = Partial<Record<'owner' | 'actor' | 'action' | 'target' | 'since' | 'until' | 'page' | 'limit', string>>

const AUDIT_QUERY = {
  owner: qs.text(100), actor: qs.text(200), action: qs.text(200), target: qs.text(200),
  since: qs.text(40), until: qs.text(40), page: qs.int(1, 1_000_000), limit: qs.int(1, Number.MAX_SAFE_INTEGER),
}

/** A time filter: RFC 3339 or Unix seconds. */
export function parseTime(name: string, raw: string | undefined): number | undefined {
  if (raw === undefined || raw.trim() === '') return undefined
  const v = raw.trim()
  if (/^\d{1,12}$/.test(v)) return Number(v)
  const t = Date.parse(v)
  if (Number.isNaN(t)) throw new QueryError(`${name}: expected an RFC 3339 time or Unix seconds`)
  return Math.floor(t / 1000)
}

/** The filter a request may use: admins anything, owners only their owner's entries. */
export async function auditFilter(s: Services, actor: Actor, raw: unknown, defaultLimit = 30): Promise<AuditFilter> {
  const q = parseQuery(raw, AUDIT_QUERY)
  let ownerId: number | undefined
  const ownerName = q.owner
  if (ownerName) {
    const owner = await s.users.findOwner(ownerName)
    if (!owner) throw notFound(`owner '${ownerName}'`)
    if (!actor.isAdmin && owner.id !== actor.userId) {
      const m = owner.type === USER_TYPE_ORGANIZATION ? await s.orgs.membership(owner.id, actor.userId) : undefined
      if (!m?.isMember) throw notFound(`owner '${ownerName}'`)
      if (!m.isOwner) throw forbidden(`only owners of '${owner.name}' may read its audit log`)
    }
    ownerId = owner.id
  } else if (!actor.isAdmin) {
    throw forbidden('only site administrators may read the whole audit log; name an ?owner= you own')
  }
  return {
    ownerId, actor: q.actor || undefined, action: q.action || undefined, target: q.target || undefined,
    sinceUnix: parseTime('since', q.since), untilUnix: parseTime('until', q.until),
    page: q.page ?? 1, limit: Math.min(q.limit ?? defaultLimit, MAX_LIMIT),
  }
}

export const auditRoutes: FastifyPluginAsync = async (app) => {
  app.get<{ Querystring: AuditQuery }>('/admin/audit', async (req, reply) => {
    const { actor } = requireScope(req, typeof req.query.owner === 'string' && req.query.owner !== '' ? 'read:organization' : 'read:admin')
    const f = await auditFilter(app.services, actor, req.query)
    const [rows, total] = await Promise.all([app.services.audit.list(f), app.services.audit.count(f)])
    setPaging(req, reply, app.services.publicUrl(), { page: f.page!, limit: f.limit!, total })
    return rows.map(auditJson)
  })
}
