import type { FastifyPluginAsync } from 'fastify'
import { z } from 'zod'
import type { Actor } from '../../auth/permissions.js'
import type { User } from '../../storage/db/schema.js'
import { parseBody, requireScope } from './guards.js'
import { orgJson, teamJson, userJson } from './shapes.js'
import { auditBy } from '../audit-by.js'
import { forbidden, invalid, notFound } from '../../errors.js'
import { VISIBILITIES } from '../../accounts/users.js'
import { PACKAGES_ACCESS } from '../../accounts/orgs.js'

const CreateOrg = z.object({
  username: z.string(),
  full_name: z.string().max(255).optional(),
  visibility: z.enum(VISIBILITIES as ['public', 'limited', 'private']).optional(),
}).passthrough()

const access = z.enum(PACKAGES_ACCESS as ['none', 'read', 'write', 'admin'])
const CreateTeam = z.object({
  name: z.string(),
  description: z.string().max(255).optional(),
  permission: z.enum(['none', 'read', 'write', 'admin', 'owner']).optional(),
  units: z.array(z.string()).optional(),
  units_map: z.record(z.string(), z.string()).optional(),
}).passthrough()

export const orgRoutes: FastifyPluginAsync = async (app) => {
  const { users, orgs } = app.services
  const base = () => app.services.publicUrl()

  /** The organization, if the actor may see it; 404 otherwise (never confirm a private one exists). */
  async function visibleOrg(actor: Actor, name: string): Promise<User> {
    const org = await orgs.getOrg(name)
    if (org.visibility === 'private' && !actor.isAdmin && !(await orgs.membership(org.id, actor.userId)).isMember) {
      throw notFound(`organization '${name}'`)
    }
    return org
  }

  async function requireOrgOwner(actor: Actor, org: User): Promise<void> {
    if (actor.isAdmin) return
    if (!(await orgs.membership(org.id, actor.userId)).isOwner) throw forbidden(`only owners of '${org.name}' may do this`)
  }

  app.post('/orgs', async (req, reply) => {
    const { user } = requireScope(req, 'write:organization')
    const b = parseBody(CreateOrg, req.body)
    const org = await orgs.create({ name: b.username, visibility: b.visibility, fullName: b.full_name }, user, auditBy(req))
    return reply.code(201).send(orgJson(org, base()))
  })

  app.get<{ Params: { org: string } }>('/orgs/:org', async (req) => {
    const { actor } = requireScope(req, 'read:organization')
    return orgJson(await visibleOrg(actor, req.params.org), base())
  })

  app.delete<{ Params: { org: string } }>('/orgs/:org', async (req, reply) => {
    const { actor } = requireScope(req, 'write:organization')
    const org = await visibleOrg(actor, req.params.org)
    await requireOrgOwner(actor, org)
    await orgs.delete(org, auditBy(req))
    return reply.code(204).send()
  })

  app.get<{ Params: { org: string } }>('/orgs/:org/teams', async (req) => {
    const { actor } = requireScope(req, 'read:organization')
    const org = await visibleOrg(actor, req.params.org)
    if (!actor.isAdmin && !(await orgs.membership(org.id, actor.userId)).isMember) throw forbidden('only members may list teams')
    return (await orgs.listTeams(org)).map((t) => teamJson(t, org, base()))
  })

  app.post<{ Params: { org: string } }>('/orgs/:org/teams', async (req, reply) => {
    const { actor } = requireScope(req, 'write:organization')
    const org = await visibleOrg(actor, req.params.org)
    await requireOrgOwner(actor, org)
    const b = parseBody(CreateTeam, req.body)
    // Gitea: units_map decides per unit; `permission` is the fallback for every unit.
    const fromMap = b.units_map?.['repo.packages']
    const fromPermission = b.permission === 'owner' ? 'admin' : b.permission
    const packagesAccess = access.safeParse(fromMap ?? (b.units && !b.units.includes('repo.packages') ? 'none' : fromPermission ?? 'none'))
    if (!packagesAccess.success) throw invalid('units_map["repo.packages"] must be none, read, write or admin')
    const team = await orgs.createTeam(org, { name: b.name, description: b.description, packagesAccess: packagesAccess.data }, auditBy(req))
    return reply.code(201).send(teamJson(team, org, base()))
  })

  async function teamAndOrg(actor: Actor, id: string) {
    const team = await orgs.getTeam(Number(id))
    const org = (await users.findById(team.org_id))!
    if (org.visibility === 'private' && !actor.isAdmin && !(await orgs.membership(org.id, actor.userId)).isMember) throw notFound(`team ${id}`)
    return { team, org }
  }

  app.get<{ Params: { id: string } }>('/teams/:id', async (req) => {
    const { actor } = requireScope(req, 'read:organization')
    const { team, org } = await teamAndOrg(actor, req.params.id)
    return teamJson(team, org, base())
  })

  app.get<{ Params: { id: string } }>('/teams/:id/members', async (req) => {
    const { actor } = requireScope(req, 'read:organization')
    const { team } = await teamAndOrg(actor, req.params.id)
    return (await orgs.listTeamMembers(team.id)).map((u) => userJson(u, base(), { showEmail: false }))
  })

  app.put<{ Params: { id: string; username: string } }>('/teams/:id/members/:username', async (req, reply) => {
    const { actor } = requireScope(req, 'write:organization')
    const { team, org } = await teamAndOrg(actor, req.params.id)
    await requireOrgOwner(actor, org)
    await orgs.addMember(team, await users.getIndividual(req.params.username), auditBy(req))
    return reply.code(204).send()
  })

  app.delete<{ Params: { id: string; username: string } }>('/teams/:id/members/:username', async (req, reply) => {
    const { actor } = requireScope(req, 'write:organization')
    const { team, org } = await teamAndOrg(actor, req.params.id)
    await requireOrgOwner(actor, org)
    await orgs.removeMember(team, await users.getIndividual(req.params.username), auditBy(req))
    return reply.code(204).send()
  })
}
