// Site administration of the Go proxy cache (issue 12 item 7): the cached upstream modules with
// size and last use, and a purge button per module (the same as DELETE /api/v1/admin/go-proxy/modules/{module}).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { parseQuery } from '../../http/query.js'
import { GO_CACHE_LIST_QUERY } from '../../http/api-v1/go-proxy-admin.js'
import { html } from '../html.js'
import { csrfField, flash, formatSize, formatTime, layout, pageCtx, pager, sendPage } from '../layout.js'
import { field, formOf } from '../forms.js'
import { requireAdmin } from '../guard.js'

const PAGE_SIZE = 50

async function cachePage(req: FastifyRequest, reply: FastifyReply, msg?: { kind: 'ok' | 'error'; text: string }) {
  const { goProxy } = req.server.services
  const ctx = pageCtx(req, reply)
  const query = req.method === 'GET' ? parseQuery(req.query, GO_CACHE_LIST_QUERY) : { q: undefined, page: undefined }
  const page = query.page ?? 1
  const { rows, total } = await goProxy.modules({ q: query.q, page, limit: PAGE_SIZE })
  return sendPage(reply, 200, layout(ctx, 'Go proxy cache', html`<h1>Go proxy cache</h1>
${msg ? flash(msg.kind, msg.text) : ''}
<p>Modules fetched from WHARF_GO_UPSTREAM and kept for every owner (${total} in all).</p>
<form class="actions" method="get" action="/-/admin/go-proxy" role="search"><label class="sr-only" for="cache-q">Module path contains</label>
<input type="search" id="cache-q" name="q" value="${query.q ?? ''}" maxlength="255" placeholder="Module path"><button type="submit" class="secondary small">Search</button></form>
${rows.length === 0 ? html`<p>No cached modules.</p>` : html`<div class="table-wrap"><table>
<thead><tr><th>Module</th><th>Versions</th><th>Size</th><th>Last used</th><th>Purge</th></tr></thead>
<tbody>${rows.map((m) => html`<tr><td><code>${m.module}</code></td><td>${m.versions}</td><td>${formatSize(m.size)}</td><td>${formatTime(m.lastUsedUnix)}</td>
<td><form method="post" action="/-/admin/go-proxy/purge">${csrfField(ctx)}<input type="hidden" name="module" value="${m.module}">
<button type="submit" class="secondary small" aria-label="Purge ${m.module}">Purge</button></form></td></tr>`)}</tbody></table></div>`}
${pager('/-/admin/go-proxy', { q: query.q }, page, Math.ceil(total / PAGE_SIZE))}`))
}

export async function adminGoProxyRoutes(app: FastifyInstance): Promise<void> {
  app.get('/-/admin/go-proxy', async (req, reply) => {
    requireAdmin(req)
    return cachePage(req, reply)
  })

  app.post('/-/admin/go-proxy/purge', async (req, reply) => {
    requireAdmin(req)
    const form = formOf(req)
    const module = field(form, 'module').slice(0, 500)
    const version = field(form, 'version').slice(0, 255) || undefined
    const n = module ? await app.services.goProxy.purge(module, version) : 0
    return cachePage(req, reply, n > 0
      ? { kind: 'ok', text: `Purged ${module}${version ? ` ${version}` : ''} (${n} cached version${n === 1 ? '' : 's'}).` }
      : { kind: 'error', text: `${module || 'That module'} is not in the cache.` })
  })
}
