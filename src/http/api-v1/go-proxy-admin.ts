// Site admins' view of the Go proxy cache (issue 12 item 7): the upstream modules Wharf keeps, and
// purging a module or one version of it (the blob GC then collects the bytes).
import type { FastifyPluginAsync } from 'fastify'
import { notFound } from '../../errors.js'
import type { CachedModule } from '../../registries/go/proxy/cache.js'
import { parseQuery, q } from '../query.js'
import { requireSiteAdmin } from './guards.js'
import { setPaging } from './packages.js'

export const GO_CACHE_LIST_QUERY = { q: q.text(255), page: q.int(1, 1_000_000), limit: q.int(1, 200) }
const PURGE_QUERY = { version: q.text(255) }

const iso = (unix: number) => new Date(unix * 1000).toISOString()
const moduleJson = (m: CachedModule) => ({
  module: m.module, versions: m.versions, size: m.size, last_used_at: iso(m.lastUsedUnix), created_at: iso(m.createdUnix),
})

export const goProxyAdminRoutes: FastifyPluginAsync = async (app) => {
  const { goProxy } = app.services

  app.get('/admin/go-proxy/modules', async (req, reply) => {
    requireSiteAdmin(req, 'read:admin')
    const query = parseQuery(req.query, GO_CACHE_LIST_QUERY)
    const page = query.page ?? 1
    const limit = query.limit ?? 50
    const { rows, total } = await goProxy.modules({ q: query.q, page, limit })
    setPaging(req, reply, app.services.publicUrl(), { page, limit, total })
    return rows.map(moduleJson)
  })

  app.delete<{ Params: { module: string } }>('/admin/go-proxy/modules/:module', async (req, reply) => {
    requireSiteAdmin(req, 'write:admin')
    const { version } = parseQuery(req.query, PURGE_QUERY)
    const removed = await goProxy.purge(req.params.module, version)
    if (removed === 0) throw notFound(`cached module '${req.params.module}'${version ? ` version '${version}'` : ''}`)
    return reply.code(204).send()
  })
}
