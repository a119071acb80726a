import type { FastifyPluginAsync } from 'fastify'
import { z } from 'zod'
import { parseBody, requireScope, requireSiteAdmin } from './guards.js'
import { parseQuery, q } from '../query.js'
import { userJson } from './shapes.js'
import { auditBy } from '../audit-by.js'
import { notFound, unprocessable } from '../../errors.js'
import { USER_TYPE_INDIVIDUAL, VISIBILITIES } from '../../accounts/users.js'

const visibility = z.enum(VISIBILITIES as ['public', 'limited', 'private'])

const CreateUser = z.object({
  username: z.string(),
  email: z.string().optional(),
  password: z.string(),
  must_change_password: z.boolean().optional(),
  visibility: visibility.optional(),
  full_name: z.string().max(255).optional(),
  admin: z.boolean().optional(),
}).passthrough()

const EditUser = z.object({
  email: z.string().optional(),
  password: z.string().optional(),
  admin: z.boolean().optional(),
  visibility: visibility.optional(),
  full_name: z.string().max(255).optional(),
  must_change_password: z.boolean().optional(),
}).passthrough()

export const userRoutes: FastifyPluginAsync = async (app) => {
  const { users, security } = app.services
  const base = () => app.services.publicUrl()

  app.get('/user', async (req) => {
    const { user } = requireScope(req, 'read:user')
    return userJson(user, base())
  })

  app.get<{ Params: { username: string } }>('/users/:username', async (req) => {
    const { actor } = requireScope(req, 'read:user')
    const u = await users.findOwner(req.params.username)
    if (!u || u.type !== USER_TYPE_INDIVIDUAL) throw notFound(`user '${req.params.username}'`)
    if (u.visibility === 'private' && !actor.isAdmin && actor.userId !== u.id) throw notFound(`user '${req.params.username}'`)
    return userJson(u, base(), { showEmail: actor.isAdmin || actor.userId === u.id })
  })

  app.get('/admin/users', async (req) => {
    requireSiteAdmin(req, 'read:admin')
    return (await users.list({ type: USER_TYPE_INDIVIDUAL })).map((u) => userJson(u, base()))
  })

  app.post('/admin/users', async (req, reply) => {
    requireSiteAdmin(req, 'write:admin')
    const b = parseBody(CreateUser, req.body)
    const u = await users.create({
      username: b.username, email: b.email, password: b.password, visibility: b.visibility,
      mustChangePassword: b.must_change_password, fullName: b.full_name, isAdmin: b.admin,
    }, auditBy(req))
    return reply.code(201).send(userJson(u, base()))
  })

  app.patch<{ Params: { username: string } }>('/admin/users/:username', async (req) => {
    requireSiteAdmin(req, 'write:admin')
    const b = parseBody(EditUser, req.body)
    const u = await security.adminUpdate(req.params.username, {
      email: b.email, password: b.password, isAdmin: b.admin, visibility: b.visibility,
      fullName: b.full_name, mustChangePassword: b.must_change_password,
    }, auditBy(req))
    return userJson(u, base())
  })

  app.delete<{ Params: { username: string } }>('/admin/users/:username', async (req, reply) => {
    const { actor } = requireSiteAdmin(req, 'write:admin')
    const target = await users.getIndividual(req.params.username)
    if (target.id === actor.userId) throw unprocessable('you cannot delete yourself')
    await security.deleteUser(req.params.username, { purge: parseQuery(req.query, { purge: q.bool() }).purge ?? false, by: auditBy(req) })
    return reply.code(204).send()
  })
}
