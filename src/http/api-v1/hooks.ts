// Gitea's webhook API for package events: /api/v1/user/hooks and /api/v1/orgs/{org}/hooks (list,
// create, get, edit, delete), plus Wharf's delivery history (…/{id}/deliveries) and Gitea's test
// delivery (POST …/{id}/tests). An organization's hooks are its owners'; a user's are their own.
import type { FastifyPluginAsync, FastifyRequest } from 'fastify'
import { z } from 'zod'
import { parseBody, requireScope } from './guards.js'
import { forbidden, notFound } from '../../errors.js'
import type { Scope } from '../../auth/scopes.js'
import type { User } from '../../storage/db/schema.js'
import { deliveryJson, hookJson } from '../../ops/webhooks.js'
import { auditBy } from '../audit-by.js'

const HookConfig = z.object({
  url: z.string().max(2048),
  content_type: z.enum(['json', 'form']).optional(),
  secret: z.string().max(255).optional(),
  http_method: z.string().optional(),
}).passthrough()

const CreateHook = z.object({
  type: z.enum(['gitea', 'forgejo']),
  config: HookConfig,
  events: z.array(z.string()).optional(),
  active: z.boolean().optional(),
  authorization_header: z.string().max(1024).optional(),
}).passthrough()

const EditHook = z.object({
  config: HookConfig.partial().optional(),
  events: z.array(z.string()).optional(),
  active: z.boolean().optional(),
  authorization_header: z.string().max(1024).optional(),
}).passthrough()

export const hookRoutes: FastifyPluginAsync = async (app) => {
  const { orgs, webhooks } = app.services

  /** The owner whose hooks a request manages, after scope and ownership checks. */
  async function ownerOf(req: FastifyRequest, write: boolean): Promise<User> {
    const org = (req.params as { org?: string }).org
    const scope: Scope = org === undefined ? (write ? 'write:user' : 'read:user') : (write ? 'write:organization' : 'read:organization')
    const { actor, user } = requireScope(req, scope)
    if (org === undefined) return user
    const o = await orgs.getOrg(org)
    if (actor.isAdmin) return o
    const m = await orgs.membership(o.id, actor.userId)
    if (!m.isMember && o.visibility === 'private') throw notFound(`organization '${org}'`)
    if (!m.isOwner) throw forbidden(`only owners of '${o.name}' may manage its webhooks`)
    return o
  }

  for (const base of ['/user/hooks', '/orgs/:org/hooks']) {
    app.get(base, async (req) => (await webhooks.list(await ownerOf(req, false))).map(hookJson))

    app.post(base, async (req, reply) => {
      const owner = await ownerOf(req, true)
      const b = parseBody(CreateHook, req.body)
      const hook = await webhooks.create(owner, {
        url: b.config.url, contentType: b.config.content_type, secret: b.config.secret, events: b.events, active: b.active,
        authorizationHeader: b.authorization_header,
      }, auditBy(req))
      return reply.code(201).send(hookJson(hook))
    })

    app.get<{ Params: { id: string } }>(`${base}/:id`, async (req) => hookJson(await webhooks.get(await ownerOf(req, false), Number(req.params.id))))

    app.patch<{ Params: { id: string } }>(`${base}/:id`, async (req) => {
      const owner = await ownerOf(req, true)
      const b = parseBody(EditHook, req.body)
      return hookJson(await webhooks.update(owner, Number(req.params.id), {
        url: b.config?.url, contentType: b.config?.content_type, secret: b.config?.secret, events: b.events, active: b.active,
        authorizationHeader: b.authorization_header,
      }, auditBy(req)))
    })

    app.delete<{ Params: { id: string } }>(`${base}/:id`, async (req, reply) => {
      await webhooks.delete(await ownerOf(req, true), Number(req.params.id), auditBy(req))
      return reply.code(204).send()
    })

    app.get<{ Params: { id: string } }>(`${base}/:id/deliveries`, async (req) => {
      const hook = await webhooks.get(await ownerOf(req, false), Number(req.params.id))
      return (await webhooks.deliveries(hook)).map(deliveryJson)
    })

    app.post<{ Params: { id: string } }>(`${base}/:id/tests`, async (req, reply) => {
      const owner = await ownerOf(req, true)
      const hook = await webhooks.get(owner, Number(req.params.id))
      const d = await webhooks.testDelivery(owner, hook, auditBy(req))
      return reply.code(200).send(deliveryJson(d))
    })
  }
}
