// /{owner}/-/hooks: an owner's package webhooks (the user themself, an organization's owners, site
// admins): add one, see each one's recent deliveries, send a test delivery, delete.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { WharfError } from '../../errors.js'
import { USER_TYPE_ORGANIZATION } from '../../accounts/users.js'
import type { User } from '../../storage/db/schema.js'
import { auditBy } from '../../http/audit-by.js'
import { html } from '../html.js'
import { csrfField, flash, formatTime, layout, pageCtx, sendPage } from '../layout.js'
import { field, formOf } from '../forms.js'
import { requireUser } from '../guard.js'

type Req = FastifyRequest<{ Params: { owner: string; id?: string } }>

async function managedOwner(req: Req): Promise<User> {
  const me = requireUser(req)
  const s = req.server.services
  const owner = await s.users.findOwner(req.params.owner.slice(0, 100))
  if (!owner) throw new WharfError('not_found', `There is no user or organization named ${req.params.owner}.`)
  if (me.is_admin || owner.id === me.id) return owner
  if (owner.type === USER_TYPE_ORGANIZATION) {
    const m = await s.orgs.membership(owner.id, me.id)
    if (m.isOwner) return owner
    if (m.isMember || owner.visibility !== 'private') throw new WharfError('forbidden', `Only owners of ${owner.name} may manage its webhooks.`)
  }
  throw new WharfError('not_found', `There is no user or organization named ${req.params.owner}.`)
}

async function hooksPage(req: Req, reply: FastifyReply, owner: User, status = 200, msg?: { kind: 'ok' | 'error'; text: string }) {
  const s = req.server.services
  const ctx = pageCtx(req, reply)
  const base = `/${encodeURIComponent(owner.name)}/-/hooks`
  const hooks = await s.webhooks.list(owner)
  const sections = []
  for (const h of hooks) {
    const ds = await s.webhooks.deliveries(h, 20)
    sections.push(html`<section class="card"><h2>${h.url}</h2>
<p>${h.active ? 'active' : 'inactive'} · ${h.content_type} · package events</p>
<div class="actions"><form class="inline" method="post" action="${base}/${h.id}/test">${csrfField(ctx)}<button type="submit" class="secondary small">Test delivery</button></form>
<form class="inline" method="post" action="${base}/${h.id}/delete">${csrfField(ctx)}<button type="submit" class="danger small" aria-label="Delete webhook ${h.url}">Delete</button></form></div>
<div class="table-wrap"><table><caption>Recent deliveries</caption>
<thead><tr><th>Created</th><th>Event</th><th>Status</th><th>Attempts</th><th>Response</th><th class="hide-narrow">Last attempt</th></tr></thead>
<tbody>${ds.length === 0 ? html`<tr><td colspan="6" class="muted">No deliveries yet.</td></tr>` : ds.map((d) => html`<tr>
<td>${formatTime(d.created_unix)}</td><td>package ${d.action}${d.is_test ? ' (test)' : ''}</td><td>${d.status}</td><td>${d.attempts}</td>
<td>${d.response_status ?? ''} ${d.error ? html`<span class="muted">${d.error}</span>` : ''}</td>
<td class="hide-narrow">${d.last_attempt_unix ? formatTime(d.last_attempt_unix) : ''}</td></tr>`)}</tbody></table></div></section>`)
  }
  return sendPage(reply, status, layout(ctx, `Webhooks of ${owner.name}`, html`<h1>Webhooks of ${owner.name}</h1>
${msg ? flash(msg.kind, msg.text) : ''}
${hooks.length === 0 ? html`<p class="empty">No webhooks yet.</p>` : sections}
<h2 id="new-hook">Add a webhook</h2>
<form class="card narrow" method="post" action="${base}" aria-labelledby="new-hook">${csrfField(ctx)}
<div class="field"><label for="hook-url">Target URL</label><input type="url" id="hook-url" name="url" required maxlength="2048"></div>
<div class="field"><label for="hook-secret">Secret</label><input type="password" id="hook-secret" name="secret" maxlength="255" autocomplete="off" aria-describedby="hook-secret-hint"><p class="hint" id="hook-secret-hint">Signs each delivery (X-Gitea-Signature, HMAC-SHA256).</p></div>
<div class="field"><label for="hook-type">Content type</label><select id="hook-type" name="content_type"><option value="json">application/json</option><option value="form">application/x-www-form-urlencoded</option></select></div>
<button type="submit">Add webhook</button></form>`))
}

export async function hookRoutes(app: FastifyInstance): Promise<void> {
  const s = app.services
  app.get<{ Params: { owner: string } }>('/:owner/-/hooks', async (req, reply) => hooksPage(req, reply, await managedOwner(req)))

  app.post<{ Params: { owner: string } }>('/:owner/-/hooks', async (req, reply) => {
    const owner = await managedOwner(req)
    const form = formOf(req)
    try {
      await s.webhooks.create(owner, { url: field(form, 'url'), secret: field(form, 'secret', true), contentType: field(form, 'content_type') === 'form' ? 'form' : 'json' }, auditBy(req))
    } catch (err) {
      if (err instanceof WharfError && err.kind === 'invalid') return hooksPage(req, reply, owner, 400, { kind: 'error', text: `Could not add the webhook: ${err.message}.` })
      throw err
    }
    return hooksPage(req, reply, owner, 200, { kind: 'ok', text: 'Webhook added.' })
  })

  app.post<{ Params: { owner: string; id: string } }>('/:owner/-/hooks/:id/test', async (req, reply) => {
    const owner = await managedOwner(req)
    const hook = await s.webhooks.get(owner, Number(req.params.id))
    const d = await s.webhooks.testDelivery(owner, hook, auditBy(req))
    return hooksPage(req, reply, owner, 200, d.status === 'delivered'
      ? { kind: 'ok', text: `Test delivered: the receiver answered ${d.response_status}.` }
      : { kind: 'error', text: `Test not delivered: ${d.error ?? 'no answer'}. It will be retried.` })
  })

  app.post<{ Params: { owner: string; id: string } }>('/:owner/-/hooks/:id/delete', async (req, reply) => {
    const owner = await managedOwner(req)
    await s.webhooks.delete(owner, Number(req.params.id), auditBy(req))
    return reply.redirect(`/${encodeURIComponent(owner.name)}/-/hooks`, 303)
  })
}
