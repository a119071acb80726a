// Account settings: password, access tokens, organizations. Two-factor lives in ./security.ts.
import { auditBy } from '../../http/audit-by.js'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { WharfError } from '../../errors.js'
import { ALL_SCOPES } from '../../auth/scopes.js'
import { tokenScopes } from '../../accounts/tokens.js'
import type { User } from '../../storage/db/schema.js'
import { html, type Interpolation } from '../html.js'
import { copyButton, csrfField, flash, formatTime, layout, pageCtx, sendPage, visibilityBadge, type PageCtx } from '../layout.js'
import { field, fields, formOf } from '../forms.js'
import { requireUser } from '../guard.js'
import { SESSION_COOKIE, readCookie } from '../sessions.js'

export function settingsPage(ctx: PageCtx, title: string, tab: string, body: Interpolation) {
  const tabs: Array<[string, string]> = [
    ['/-/settings', 'Account'], ['/-/settings/tokens', 'Access tokens'], ['/-/settings/security', 'Two-factor'], ['/-/settings/orgs', 'Organizations'],
  ]
  return layout(ctx, title, html`<h1>Settings</h1>
<nav class="actions tabs" aria-label="Settings">${tabs.map(([href, label]) =>
    href === tab ? html`<a class="button" href="${href}" aria-current="page">${label}</a>` : html`<a class="button secondary" href="${href}">${label}</a>`)}</nav>
${body}`)
}

function accountPage(req: FastifyRequest, reply: FastifyReply, user: User, status = 200, msg?: { kind: 'ok' | 'error'; text: string }) {
  const ctx = pageCtx(req, reply)
  return sendPage(reply, status, settingsPage(ctx, 'Account', '/-/settings', html`
${msg ? flash(msg.kind, msg.text) : ''}
<div class="card"><dl class="facts">
<dt>Username</dt><dd><a href="/${user.name}">${user.name}</a></dd>
<dt>Email</dt><dd>${user.email || html`<span class="muted">none</span>`}</dd>
<dt>Visibility</dt><dd>${user.visibility} ${visibilityBadge(user.visibility)}</dd>
<dt>Two-factor</dt><dd>${user.totp_secret ? 'enabled' : html`off — <a href="/-/settings/security">enable</a>`}</dd>
${user.is_admin ? html`<dt>Role</dt><dd>site administrator</dd>` : ''}
</dl></div>
<h2 id="password-heading">Change password</h2>
<form class="card narrow" method="post" action="/-/settings/password" aria-labelledby="password-heading">
${csrfField(ctx)}
<div class="field"><label for="current">Current password</label><input type="password" id="current" name="current" autocomplete="current-password" required maxlength="1024"></div>
<div class="field"><label for="new">New password</label><input type="password" id="new" name="new" autocomplete="new-password" required minlength="8" maxlength="1024" aria-describedby="new-hint"><p class="hint" id="new-hint">At least 8 characters.</p></div>
<div class="field"><label for="confirm">Repeat the new password</label><input type="password" id="confirm" name="confirm" autocomplete="new-password" required maxlength="1024"></div>
<button type="submit">Change password</button>
</form>`))
}

function tokensPage(req: FastifyRequest, reply: FastifyReply, rows: Awaited<ReturnType<FastifyInstance['services']['tokens']['list']>>,
  opts: { status?: number; error?: string; created?: { name: string; token: string }; name?: string; scopes?: string[] } = {}) {
  const ctx = pageCtx(req, reply)
  const chosen = new Set(opts.scopes ?? ['write:package'])
  return sendPage(reply, opts.status ?? 200, settingsPage(ctx, 'Access tokens', '/-/settings/tokens', html`
${opts.created ? html`<div class="flash ok" role="status"><p><strong>Token “${opts.created.name}” created.</strong> Copy it now: it is shown only once.</p>
<div class="hash"><code class="secret" id="new-token">${opts.created.token}</code>${copyButton(opts.created.token, 'Copy', 'new-token')}</div></div>` : ''}
<p class="lead">Tokens let scripts, curl and the go command use the API. Use one in place of your password, or as <code>Authorization: token …</code>.</p>
<div class="table-wrap"><table>
<caption class="sr-only">Your access tokens</caption>
<thead><tr><th>Name</th><th>Scopes</th><th class="hide-narrow">Ends with</th><th class="hide-narrow">Created</th><th class="hide-narrow">Last used</th><th><span class="sr-only">Actions</span></th></tr></thead>
<tbody>${rows.length === 0 ? html`<tr><td colspan="6" class="muted">No tokens yet.</td></tr>` : rows.map((t) => html`<tr>
<td>${t.name}</td><td>${tokenScopes(t).map((s) => html`<code>${s}</code> `)}</td>
<td class="hide-narrow mono">…${t.token_last_eight}</td><td class="hide-narrow">${formatTime(t.created_unix)}</td>
<td class="hide-narrow">${t.last_used_unix ? formatTime(t.last_used_unix) : html`<span class="muted">never</span>`}</td>
<td><form class="inline" method="post" action="/-/settings/tokens/${t.id}/delete">${csrfField(ctx)}<button type="submit" class="danger small" aria-label="Delete token ${t.name}">Delete</button></form></td>
</tr>`)}</tbody></table></div>
<h2 id="new-token-heading">New token</h2>
${opts.error ? flash('error', opts.error) : ''}
<form class="card" method="post" action="/-/settings/tokens" aria-labelledby="new-token-heading">
${csrfField(ctx)}
<div class="field narrow"><label for="token-name">Name</label><input type="text" id="token-name" name="name" value="${opts.name ?? ''}" required maxlength="255" aria-describedby="token-name-hint"><p class="hint" id="token-name-hint">Something to recognise it by, e.g. “CI upload”.</p></div>
<fieldset><legend>Scopes</legend><div class="checks">
${ALL_SCOPES.map((s) => html`<label><input type="checkbox" name="scopes" value="${s}" ${chosen.has(s) ? 'checked' : ''}> ${s}</label>`)}
</div></fieldset>
<button type="submit">Create token</button>
</form>`))
}

export async function settingsRoutes(app: FastifyInstance): Promise<void> {
  const s = app.services

  app.get('/-/settings', async (req, reply) => accountPage(req, reply, requireUser(req)))

  app.post('/-/settings/password', async (req, reply) => {
    const user = requireUser(req)
    const form = formOf(req)
    const current = field(form, 'current', true)
    const next = field(form, 'new', true)
    if (next !== field(form, 'confirm', true)) {
      return accountPage(req, reply, user, 400, { kind: 'error', text: 'The two new passwords differ.' })
    }
    try {
      await s.security.changePassword(user, current, next, { keepSession: readCookie(req, SESSION_COOKIE), by: auditBy(req) })
    } catch (err) {
      if (err instanceof WharfError && err.kind === 'invalid') return accountPage(req, reply, user, 400, { kind: 'error', text: `${err.message}.` })
      throw err
    }
    return accountPage(req, reply, user, 200, { kind: 'ok', text: 'Password changed. Other sessions were signed out.' })
  })

  app.get('/-/settings/tokens', async (req, reply) => {
    const user = requireUser(req)
    return tokensPage(req, reply, await s.tokens.list(user))
  })

  app.post('/-/settings/tokens', async (req, reply) => {
    const user = requireUser(req)
    const form = formOf(req)
    const name = field(form, 'name')
    const scopes = fields(form, 'scopes')
    const fail = async (error: string) => tokensPage(req, reply, await s.tokens.list(user), { status: 400, error, name, scopes })
    if (!name) return fail('Give the token a name.')
    if (scopes.length === 0) return fail('Choose at least one scope.')
    try {
      const created = await s.tokens.create(user, { name, scopes }, auditBy(req))
      return tokensPage(req, reply, await s.tokens.list(user), { created: { name, token: created.token } })
    } catch (err) {
      if (err instanceof WharfError && (err.kind === 'invalid' || err.kind === 'unprocessable')) return fail(`${err.message}.`)
      throw err
    }
  })

  app.post<{ Params: { id: string } }>('/-/settings/tokens/:id/delete', async (req, reply) => {
    const user = requireUser(req)
    if (!/^\d{1,15}$/.test(req.params.id)) throw new WharfError('not_found', 'no such token')
    await s.tokens.delete(user, req.params.id, auditBy(req))
    return reply.redirect('/-/settings/tokens', 303)
  })

  app.get('/-/settings/orgs', async (req, reply) => {
    const user = requireUser(req)
    const orgs = await s.orgs.listOrgsOf(user.id)
    const ctx = pageCtx(req, reply)
    return sendPage(reply, 200, settingsPage(ctx, 'Organizations', '/-/settings/orgs', html`
${orgs.length === 0 ? html`<p class="empty">You are not a member of any organization.</p>` : html`<ul class="packages">${orgs.map((o) => html`<li>
<a class="name" href="/${o.name}">${o.name}</a> ${visibilityBadge(o.visibility)}
<div class="meta"><a href="/${o.name}/-/teams">Teams and members</a></div></li>`)}</ul>`}`))
  })
}
