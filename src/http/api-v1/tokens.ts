import type { FastifyPluginAsync, FastifyRequest } from 'fastify'
import { z } from 'zod'
import { parseBody, requirePasswordAuth } from './guards.js'
import { tokenJson } from './shapes.js'
import { auditBy } from '../audit-by.js'
import { forbidden } from '../../errors.js'

const CreateToken = z.object({
  name: z.string().min(1).max(255),
  scopes: z.array(z.string()).min(1, 'at least one scope is required'),
})

export const tokenRoutes: FastifyPluginAsync = async (app) => {
  const { users, tokens } = app.services

  /** The user whose tokens are managed: yourself, or anyone for a site admin. */
  async function target(req: FastifyRequest<{ Params: { username: string } }>) {
    const { actor, user } = requirePasswordAuth(req)
    if (user.lower_name === req.params.username.toLowerCase()) return user
    if (!actor.isAdmin) throw forbidden('you may only manage your own access tokens')
    return users.getIndividual(req.params.username)
  }

  app.get<{ Params: { username: string } }>('/users/:username/tokens', async (req) => {
    const u = await target(req)
    return (await tokens.list(u)).map((t) => tokenJson(t))
  })

  app.post<{ Params: { username: string } }>('/users/:username/tokens', async (req, reply) => {
    const u = await target(req)
    const b = parseBody(CreateToken, req.body)
    const { token, row } = await tokens.create(u, { name: b.name, scopes: b.scopes }, auditBy(req))
    return reply.code(201).send(tokenJson(row, token))
  })

  app.delete<{ Params: { username: string; token: string } }>('/users/:username/tokens/:token', async (req, reply) => {
    const u = await target(req)
    await tokens.delete(u, req.params.token, auditBy(req))
    return reply.code(204).send()
  })
}
