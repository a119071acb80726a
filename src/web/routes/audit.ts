// The audit log in the UI: /-/admin/audit for site admins (everything), /{owner}/-/audit for an
// organization's owners and for a user themself (that owner's entries). Same filters as the API.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { WharfError } from '../../errors.js'
import { auditFilter, type AuditQuery } from '../../http/api-v1/audit.js'
import type { AuditLog } from '../../storage/db/schema.js'
import type { Actor } from '../../auth/permissions.js'
import { EVERY_SCOPE } from '../../auth/scopes.js'
import { html } from '../html.js'
import { formatTime, layout, pageCtx, pager, sendPage } from '../layout.js'
import { requireAdmin, requireUser } from '../guard.js'

const PAGE_SIZE = 50

function actorCell(e: AuditLog) {
  const how = e.actor_kind === 'token' && e.token_name ? `token “${e.token_name}”` : e.actor_kind
  return html`${e.actor_name} <span class="muted">(${how})</span>`
}

async function auditPage(req: FastifyRequest<{ Querystring: AuditQuery }>, reply: FastifyReply, title: string, basePath: string, actor: Actor, ownerName?: string) {
  const s = req.server.services
  const q = { ...req.query, owner: ownerName, limit: String(PAGE_SIZE) }
  const filter = await auditFilter(s, actor, q, PAGE_SIZE)
  const [rows, total] = await Promise.all([s.audit.list(filter), s.audit.count(filter)])
  const ctx = pageCtx(req, reply)
  const v = (k: 'actor' | 'action' | 'target') => (typeof req.query[k] === 'string' ? req.query[k] : '')
  return sendPage(reply, 200, layout(ctx, title, html`<h1>${title}</h1>
<form class="card actions" method="get" action="${basePath}" role="search" aria-label="Filter the audit log">
<div class="field"><label for="f-actor">Actor</label><input type="text" id="f-actor" name="actor" value="${v('actor')}" maxlength="200"></div>
<div class="field"><label for="f-action">Action</label><input type="text" id="f-action" name="action" value="${v('action')}" maxlength="200" placeholder="package, user.create …"></div>
<div class="field"><label for="f-target">Target</label><input type="text" id="f-target" name="target" value="${v('target')}" maxlength="200"></div>
<button type="submit" class="secondary">Filter</button></form>
<p class="muted">${total} ${total === 1 ? 'entry' : 'entries'}</p>
<div class="table-wrap"><table>
<caption class="sr-only">Audit log entries, newest first</caption>
<thead><tr><th>Time</th><th>Actor</th><th>Action</th><th>Target</th><th class="hide-narrow">Address</th><th class="hide-narrow">Detail</th></tr></thead>
<tbody>${rows.length === 0 ? html`<tr><td colspan="6" class="muted">No entries.</td></tr>` : rows.map((e) => html`<tr>
<td>${formatTime(e.created_unix)}</td><td>${actorCell(e)}</td><td><code>${e.action}</code></td><td>${e.target}</td>
<td class="hide-narrow mono">${e.client_ip ?? ''}</td><td class="hide-narrow mono">${e.detail_json ?? ''}</td></tr>`)}</tbody></table></div>
${pager(basePath, { actor: v('actor'), action: v('action'), target: v('target') }, filter.page ?? 1, Math.max(1, Math.ceil(total / PAGE_SIZE)))}`))
}

/** A page user as an Actor with a session's full scopes. */
const sessionActor = (u: ReturnType<typeof requireUser>): Actor => ({ userId: u.id, name: u.name, isAdmin: !!u.is_admin, scopes: EVERY_SCOPE, viaToken: false })

export async function auditRoutes(app: FastifyInstance): Promise<void> {
  app.get<{ Querystring: AuditQuery }>('/-/admin/audit', async (req, reply) =>
    auditPage(req, reply, 'Audit log', '/-/admin/audit', sessionActor(requireAdmin(req))))

  app.get<{ Params: { owner: string }; Querystring: AuditQuery }>('/:owner/-/audit', async (req, reply) => {
    const me = requireUser(req)
    const owner = await req.server.services.users.findOwner(req.params.owner.slice(0, 100))
    if (!owner) throw new WharfError('not_found', `There is no user or organization named ${req.params.owner}.`)
    return auditPage(req, reply, `Audit log of ${owner.name}`, `/${encodeURIComponent(owner.name)}/-/audit`, sessionActor(me), owner.name)
  })
}
