// Site administration of per-owner quota overrides (issue 11 item 4): the owners with an override,
// their usage against the effective limits, and a form to set or clear an owner's override. The
// same store as /api/v1/admin/package-quotas.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { WharfError, invalid } from '../../errors.js'
import { limitValue } from '../../http/api-v1/lifecycle.js'
import { html } from '../html.js'
import { csrfField, flash, formatSize, layout, pageCtx, sendPage } from '../layout.js'
import { field, formOf } from '../forms.js'
import { requireAdmin } from '../guard.js'

interface Msg { kind: 'ok' | 'error'; text: string }

const limitText = (limit: number | undefined, size: boolean) => limit === undefined ? 'no limit' : size ? formatSize(limit) : String(limit)
const overrideText = (v: number | null, size: boolean) => v === null ? 'default' : v < 0 ? 'none' : size ? formatSize(v) : String(v)

/** A limit typed in the form: empty is the site default (null), -1 no limit, else a number (a size may carry a unit). */
function formLimit(raw: string, key: string, size: boolean): number | null {
  const s = raw.trim()
  if (s === '') return null
  if (/^-?\d{1,16}$/.test(s)) return limitValue(Number(s), key, size)
  if (!size) throw invalid(`${key}: expected a whole number ≥ 0, -1 (no limit) or nothing (the default)`)
  return limitValue(s, key, size)
}

async function quotasPage(req: FastifyRequest, reply: FastifyReply, opts: { status?: number; msg?: Msg } = {}) {
  const { quota } = req.server.services
  const ctx = pageCtx(req, reply)
  const overrides = await quota.listOverrides()
  const rows = await Promise.all(overrides.map(async (o) => {
    const [l, u] = await Promise.all([quota.limits(o.ownerId), quota.usage(o.ownerId)])
    return { name: o.name, override: l.override, limits: l, usage: u }
  }))
  const d = quota.defaults
  return sendPage(reply, opts.status ?? 200, layout(ctx, 'Quotas', html`<h1>Package quotas</h1>
${opts.msg ? flash(opts.msg.kind, opts.msg.text) : ''}
<p>Site defaults: size ${limitText(d.size, true)}, versions ${limitText(d.count, false)} (WHARF_LIMIT_TOTAL_OWNER_SIZE, WHARF_LIMIT_TOTAL_OWNER_COUNT).</p>
<h2>Owners with an override</h2>
${rows.length === 0 ? html`<p>No owner has an override.</p>` : html`<div class="table-wrap"><table>
<thead><tr><th>Owner</th><th>Size override</th><th>Count override</th><th>Size used</th><th>Versions used</th><th>Clear</th></tr></thead>
<tbody>${rows.map((r) => html`<tr><td><a href="/${r.name}">${r.name}</a></td>
<td>${overrideText(r.override.size, true)}</td><td>${overrideText(r.override.count, false)}</td>
<td>${formatSize(r.usage.size)} of ${limitText(r.limits.size, true)}</td><td>${r.usage.count} of ${limitText(r.limits.count, false)}</td>
<td><form method="post" action="/-/admin/quotas">${csrfField(ctx)}<input type="hidden" name="owner" value="${r.name}"><input type="hidden" name="action" value="clear">
<button type="submit" class="secondary small" aria-label="Clear the override of ${r.name}">Clear</button></form></td></tr>`)}</tbody></table></div>`}
<h2 id="set-heading">Set an override</h2>
<form class="card narrow" method="post" action="/-/admin/quotas" aria-labelledby="set-heading">${csrfField(ctx)}<input type="hidden" name="action" value="set">
<div class="field"><label for="q-owner">Owner</label><input type="text" id="q-owner" name="owner" required maxlength="100" autocomplete="off" autocapitalize="none"></div>
<div class="field"><label for="q-size">Total size (bytes or e.g. 5GiB; -1 no limit; empty the default)</label><input type="text" id="q-size" name="size" maxlength="40" autocomplete="off"></div>
<div class="field"><label for="q-count">Package versions (-1 no limit; empty the default)</label><input type="text" id="q-count" name="count" maxlength="20" autocomplete="off"></div>
<button type="submit">Save override</button></form>`))
}

export async function adminQuotaRoutes(app: FastifyInstance): Promise<void> {
  const { quota, users } = app.services

  app.get('/-/admin/quotas', async (req, reply) => {
    requireAdmin(req)
    return quotasPage(req, reply)
  })

  app.post('/-/admin/quotas', async (req, reply) => {
    requireAdmin(req)
    const form = formOf(req)
    const name = field(form, 'owner').slice(0, 100)
    try {
      const owner = name ? await users.findOwner(name) : undefined
      if (!owner) throw invalid(`there is no user or organization named '${name}'`)
      if (field(form, 'action') === 'clear') {
        await quota.setOverride(owner.id, { size: null, count: null })
        return await quotasPage(req, reply, { msg: { kind: 'ok', text: `Cleared the override of ${owner.name}.` } })
      }
      await quota.setOverride(owner.id, {
        size: formLimit(field(form, 'size'), 'size', true), count: formLimit(field(form, 'count'), 'count', false),
      })
      return await quotasPage(req, reply, { msg: { kind: 'ok', text: `Saved the override of ${owner.name}.` } })
    } catch (err) {
      if (err instanceof WharfError && err.kind === 'invalid') {
        return quotasPage(req, reply, { status: 400, msg: { kind: 'error', text: `Could not save: ${err.message}.` } })
      }
      throw err
    }
  })
}
