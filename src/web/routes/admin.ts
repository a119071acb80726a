// Site administration: list users, create one, make or unmake admins, change visibility.
import { auditBy } from '../../http/audit-by.js'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { WharfError } from '../../errors.js'
import { USER_TYPE_ORGANIZATION, VISIBILITIES } from '../../accounts/users.js'
import type { User, Visibility } from '../../storage/db/schema.js'
import { html } from '../html.js'
import { csrfField, flash, formatTime, layout, pageCtx, sendPage } from '../layout.js'
import { field, formOf } from '../forms.js'
import { requireAdmin } from '../guard.js'

interface Draft { username?: string; email?: string; visibility?: string; admin?: boolean }

async function usersPage(req: FastifyRequest, reply: FastifyReply, me: User, opts: { status?: number; msg?: { kind: 'ok' | 'error'; text: string }; draft?: Draft } = {}) {
  const s = req.server.services
  const ctx = pageCtx(req, reply)
  const users = await s.users.list({ limit: 500 })
  const d = opts.draft ?? {}
  const visSelect = (id: string, current: string) => html`<select id="${id}" name="visibility">${VISIBILITIES.map((v) =>
    html`<option value="${v}" ${v === current ? 'selected' : ''}>${v}</option>`)}</select>`
  return sendPage(reply, opts.status ?? 200, layout(ctx, 'Users', html`<h1>Users and organizations</h1>
<p><a href="/-/admin/quotas">Package quotas</a> · <a href="/-/admin/go-proxy">Go proxy cache</a></p>
${opts.msg ? flash(opts.msg.kind, opts.msg.text) : ''}
<div class="table-wrap"><table>
<thead><tr><th>Name</th><th>Kind</th><th class="hide-narrow">Email</th><th class="hide-narrow">Created</th><th>Visibility and role</th></tr></thead>
<tbody>${users.map((u) => {
    const org = u.type === USER_TYPE_ORGANIZATION
    return html`<tr><td><a href="/${u.name}">${u.name}</a></td><td>${org ? 'organization' : u.is_admin ? 'admin' : 'user'}</td>
<td class="hide-narrow">${u.email}</td><td class="hide-narrow">${formatTime(u.created_unix)}</td>
<td><form class="actions" method="post" action="/-/admin/users/${u.name}">${csrfField(ctx)}
<label class="sr-only" for="vis-${u.id}">Visibility of ${u.name}</label>${visSelect(`vis-${u.id}`, u.visibility)}
${org ? '' : html`<label class="check"><input type="checkbox" name="admin" value="1" ${u.is_admin ? 'checked' : ''} ${u.id === me.id ? 'disabled' : ''}> admin</label>`}
<button type="submit" class="secondary small" aria-label="Save ${u.name}">Save</button></form></td></tr>`
  })}</tbody></table></div>
<h2 id="create-heading">Create a user</h2>
<form class="card narrow" method="post" action="/-/admin/users" aria-labelledby="create-heading">${csrfField(ctx)}
<div class="field"><label for="new-username">Username</label><input type="text" id="new-username" name="username" value="${d.username ?? ''}" required maxlength="40" autocomplete="off" autocapitalize="none"></div>
<div class="field"><label for="new-email">Email</label><input type="email" id="new-email" name="email" value="${d.email ?? ''}" maxlength="254" autocomplete="off"></div>
<div class="field"><label for="new-password">Password</label><input type="password" id="new-password" name="password" required minlength="8" maxlength="1024" autocomplete="new-password"></div>
<div class="field"><label for="new-visibility">Visibility</label>${visSelect('new-visibility', d.visibility ?? 'public')}</div>
<div class="field"><label class="check"><input type="checkbox" name="admin" value="1" ${d.admin ? 'checked' : ''}> Site administrator</label></div>
<button type="submit">Create user</button></form>`))
}

export async function adminRoutes(app: FastifyInstance): Promise<void> {
  const s = app.services

  app.get('/-/admin/users', async (req, reply) => usersPage(req, reply, requireAdmin(req)))

  app.post('/-/admin/users', async (req, reply) => {
    const me = requireAdmin(req)
    const form = formOf(req)
    const draft: Draft = { username: field(form, 'username'), email: field(form, 'email'), visibility: field(form, 'visibility'), admin: field(form, 'admin') === '1' }
    try {
      await s.users.create({
        username: draft.username!, email: draft.email, password: field(form, 'password', true),
        isAdmin: draft.admin, visibility: (draft.visibility || 'public') as Visibility,
      }, auditBy(req))
    } catch (err) {
      if (err instanceof WharfError && (err.kind === 'invalid' || err.kind === 'unprocessable')) {
        return usersPage(req, reply, me, { status: 400, msg: { kind: 'error', text: `Could not create the user: ${err.message}.` }, draft })
      }
      throw err
    }
    return usersPage(req, reply, me, { msg: { kind: 'ok', text: `User ${draft.username} created.` } })
  })

  app.post<{ Params: { name: string } }>('/-/admin/users/:name', async (req, reply) => {
    const me = requireAdmin(req)
    const target = await s.users.findOwner(req.params.name.slice(0, 100))
    if (!target) throw new WharfError('not_found', `There is no user or organization named ${req.params.name}.`)
    const form = formOf(req)
    const visibility = field(form, 'visibility')
    try {
      if (target.type === USER_TYPE_ORGANIZATION) {
        await s.orgs.update(target, { visibility: visibility as Visibility }, auditBy(req))
      } else {
        // An admin cannot demote themselves here (the checkbox is disabled): it would lock them out.
        const isAdmin = target.id === me.id ? true : field(form, 'admin') === '1'
        await s.security.adminUpdate(target.name, { visibility: visibility as Visibility, isAdmin }, auditBy(req))
      }
    } catch (err) {
      if (err instanceof WharfError && err.kind === 'invalid') {
        return usersPage(req, reply, me, { status: 400, msg: { kind: 'error', text: `${err.message}.` } })
      }
      throw err
    }
    return usersPage(req, reply, me, { msg: { kind: 'ok', text: `Saved ${target.name}.` } })
  })
}
