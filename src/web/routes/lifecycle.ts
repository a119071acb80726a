// Web pages of issue 11: a package's settings (overwrite policy, protected versions), an owner's
// cleanup rules with their preview and runs, and the usage line owner pages show.
import { auditBy } from '../../http/audit-by.js'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { WharfError } from '../../errors.js'
import type { User } from '../../storage/db/schema.js'
import { packageTypes } from '../../registries/index.js'
import { html, type Html } from '../html.js'
import { csrfField, flash, formatSize, formatTime, layout, pageCtx, sendPage } from '../layout.js'
import { field, formOf } from '../forms.js'
import { packagePath, typeName } from './packages.js'
import type { Services } from '../../services.js'

interface PkgParams { owner: string; type: string; name: string }
interface TypeParams { owner: string; type: string }
type Msg = { kind: 'ok' | 'error'; text: string }

/** "1.2 MiB of 10 MiB · 3 of 100 versions", with meters; for owner pages. */
export async function usageHtml(s: Services, owner: User): Promise<Html> {
  const [l, u] = await Promise.all([s.quota.limits(owner.id), s.quota.usage(owner.id)])
  const part = (used: number, limit: number | undefined, fmt: (n: number) => string, label: string) => limit === undefined
    ? html`<span>${fmt(used)} ${label}</span>`
    : html`<span>${fmt(used)} of ${fmt(limit)} ${label} <meter min="0" max="${limit}" value="${Math.min(used, limit)}" high="${Math.floor(limit * 0.9)}" aria-label="${label} used">${Math.round((used / Math.max(limit, 1)) * 100)}%</meter></span>`
  const versions = (n: number) => String(n)
  return html`<p class="usage muted" id="usage">Storage: ${part(u.size, l.size, formatSize, 'used')} · ${part(u.count, l.count, versions, 'package versions')}</p>`
}

async function writablePackage(req: FastifyRequest<{ Params: PkgParams }>) {
  const s = req.server.services
  const owner = await s.access.require(req.actor, req.params.owner.slice(0, 100), 'write')
  const ref = { ownerId: owner.id, type: req.params.type, name: req.params.name }
  const versions = await s.packages.listVersionsOfPackage(ref)
  if (versions.length === 0) throw new WharfError('not_found', `There is no ${ref.type} package named ${ref.name} here.`)
  return { owner, ref: { ...ref, name: versions[0]!.name } }
}

async function settingsPage(req: FastifyRequest<{ Params: PkgParams }>, reply: FastifyReply, status = 200, msg?: Msg) {
  const s = req.server.services
  const { owner, ref } = await writablePackage(req)
  const cur = await s.packageSettings.get(ref)
  const canUnprotect = await s.access.canAdminister(req.actor, owner)
  const ctx = pageCtx(req, reply)
  const base = packagePath(owner.name, ref.type, ref.name)
  return sendPage(reply, status, layout(ctx, `Settings · ${ref.name}`, html`
<p class="crumbs"><a href="/${encodeURIComponent(owner.name)}">${owner.name}</a> / <span class="badge">${typeName(ref.type)}</span> <a href="${base}">${ref.name}</a></p>
<h1>Package settings</h1>
${msg ? flash(msg.kind, msg.text) : ''}
<form class="card narrow" method="post" action="${base}/-/settings">${csrfField(ctx)}
<fieldset><legend>Overwriting files</legend>
<div class="field"><label class="check"><input type="radio" name="overwrite" value="immutable" ${cur.overwrite === 'immutable' ? 'checked' : ''}> Immutable: uploading a file that exists is refused (409)</label></div>
<div class="field"><label class="check"><input type="radio" name="overwrite" value="overwrite" ${cur.overwrite === 'overwrite' ? 'checked' : ''} ${ref.type === 'go' ? 'disabled' : ''}> Overwrite files of these versions:</label>
<label for="overwrite_versions" class="sr-only">Versions that may be overwritten</label>
<input type="text" id="overwrite_versions" name="overwrite_versions" value="${cur.overwriteVersions}" maxlength="256" placeholder="*-SNAPSHOT"></div>
</fieldset>
<div class="field"><label for="protected_versions">Protected versions (never overwritten or deleted, not even by cleanup rules)</label>
<input type="text" id="protected_versions" name="protected_versions" value="${cur.protectedVersions}" maxlength="256" placeholder="v1.*">
${cur.protectedVersions !== '' && !canUnprotect ? html`<p class="muted">Only an owner or a site admin may change an existing protection.</p>` : ''}</div>
<p class="muted">Globs: <code>*</code> any characters, <code>?</code> one character, case-insensitive; <code>*</code> alone means every version.</p>
<button type="submit">Save settings</button> <a href="${base}">Back to the package</a></form>`))
}

async function adminOwner(req: FastifyRequest<{ Params: { owner: string } }>): Promise<User> {
  const s = req.server.services
  const owner = await s.access.require(req.actor, req.params.owner.slice(0, 100), 'write')
  if (!(await s.access.canAdminister(req.actor, owner))) throw new WharfError(req.actor ? 'forbidden' : 'unauthenticated', 'Only owners and site admins may manage cleanup rules.')
  return owner
}

const knownType = (type: string) => {
  if (!packageTypes.some((t) => t.name === type)) throw new WharfError('not_found', 'There is no such package type.')
  return type
}

async function cleanupPage(req: FastifyRequest<{ Params: { owner: string } }>, reply: FastifyReply, status = 200, msg?: Msg) {
  const s = req.server.services
  const owner = await adminOwner(req)
  const rules = new Map((await s.cleanup.list(owner.id)).map((r) => [r.type, r]))
  const runs = await s.cleanup.runs(owner.id, 10)
  const ctx = pageCtx(req, reply)
  const base = `/${encodeURIComponent(owner.name)}/-/cleanup`
  return sendPage(reply, status, layout(ctx, `Cleanup rules · ${owner.name}`, html`
<p class="crumbs"><a href="/${encodeURIComponent(owner.name)}">${owner.name}</a></p>
<h1>Cleanup rules</h1>
${msg ? flash(msg.kind, msg.text) : ''}
${await usageHtml(s, owner)}
<p>For each package, versions newest first: the first <em>N</em> are kept, then versions matching the keep pattern and versions younger than the given days; the others are removed (only those matching the remove pattern, when one is set). Patterns are regular expressions (RE2 syntax), matched against the whole version. Protected versions are never removed. Enabled rules run daily; preview first.</p>
${packageTypes.map((t) => {
    const r = rules.get(t.name)
    return html`<section class="card" aria-labelledby="rule-${t.name}"><h2 id="rule-${t.name}">${t.displayName} packages</h2>
<form method="post" action="${base}/${t.name}">${csrfField(ctx)}
<div class="field"><label class="check"><input type="checkbox" name="enabled" value="1" ${r?.enabled ? 'checked' : ''}> Enabled (runs daily)</label></div>
<div class="field"><label for="keep_count-${t.name}">Keep the newest versions</label><input type="number" min="0" id="keep_count-${t.name}" name="keep_count" value="${r?.keepCount ?? 0}"></div>
<div class="field"><label for="keep_pattern-${t.name}">Keep versions matching</label><input type="text" id="keep_pattern-${t.name}" name="keep_pattern" value="${r?.keepPattern ?? ''}" maxlength="1024" placeholder="v\\d+\\.\\d+\\.\\d+"></div>
<div class="field"><label for="remove_days-${t.name}">Remove versions older than (days, 0 = any age)</label><input type="number" min="0" id="remove_days-${t.name}" name="remove_days" value="${r?.removeDays ?? 0}"></div>
<div class="field"><label for="remove_pattern-${t.name}">Remove only versions matching</label><input type="text" id="remove_pattern-${t.name}" name="remove_pattern" value="${r?.removePattern ?? ''}" maxlength="1024" placeholder=".*-dev"></div>
<div class="field"><label class="check"><input type="checkbox" name="match_full_name" value="1" ${r?.matchFullName ? 'checked' : ''}> Match patterns against <code>name/version</code></label></div>
<div class="actions"><button type="submit">Save ${t.displayName} rule</button>${r ? html` <a class="button secondary" href="${base}/${t.name}/preview">Preview ${t.displayName} cleanup</a>` : ''}</div>
</form></section>`
  })}
<h2>Recent runs</h2>
${runs.length === 0 ? html`<p class="empty">No runs yet.</p>` : html`<div class="table-wrap"><table><thead><tr><th>When</th><th>Type</th><th>Trigger</th><th>Removed</th></tr></thead>
<tbody>${runs.map((r) => html`<tr><td>${formatTime(r.createdUnix)}</td><td>${typeName(r.type)}</td><td>${r.trigger}</td>
<td>${r.removedCount === 0 ? 'nothing' : r.removed.slice(0, 20).map((c) => `${c.name} ${c.version}`).join(', ')}${r.removedCount > 20 ? ' …' : ''}</td></tr>`)}</tbody></table></div>`}`))
}

export async function lifecycleRoutes(app: FastifyInstance): Promise<void> {
  const s = app.services

  app.get<{ Params: PkgParams }>('/:owner/-/packages/:type/:name/-/settings', async (req, reply) => settingsPage(req, reply))
  app.post<{ Params: PkgParams }>('/:owner/-/packages/:type/:name/-/settings', async (req, reply) => {
    const { owner, ref } = await writablePackage(req)
    const form = formOf(req)
    try {
      await s.packageSettings.update(ref, {
        overwrite: field(form, 'overwrite') || 'immutable', overwriteVersions: field(form, 'overwrite_versions'), protectedVersions: field(form, 'protected_versions'),
      }, { mayUnprotect: await s.access.canAdminister(req.actor, owner), by: auditBy(req) })
    } catch (err) {
      if (err instanceof WharfError && (err.kind === 'invalid' || err.kind === 'forbidden')) return settingsPage(req, reply, err.kind === 'invalid' ? 400 : 403, { kind: 'error', text: `Not saved: ${err.message}.` })
      throw err
    }
    return settingsPage(req, reply, 200, { kind: 'ok', text: 'Settings saved.' })
  })

  app.get<{ Params: { owner: string } }>('/:owner/-/cleanup', async (req, reply) => cleanupPage(req, reply))
  app.post<{ Params: TypeParams }>('/:owner/-/cleanup/:type', async (req, reply) => {
    const owner = await adminOwner(req)
    const type = knownType(req.params.type)
    const form = formOf(req)
    const num = (k: string) => {
      const v = field(form, k)
      return v === '' ? 0 : /^\d{1,7}$/.test(v) ? Number(v) : -1
    }
    try {
      await s.cleanup.put(owner.id, type, {
        enabled: field(form, 'enabled') === '1', keep_count: num('keep_count'), keep_pattern: field(form, 'keep_pattern'),
        remove_days: num('remove_days'), remove_pattern: field(form, 'remove_pattern'), match_full_name: field(form, 'match_full_name') === '1',
      })
    } catch (err) {
      if (err instanceof WharfError && err.kind === 'invalid') return cleanupPage(req, reply, 400, { kind: 'error', text: `Not saved: ${err.message}.` })
      throw err
    }
    return cleanupPage(req, reply, 200, { kind: 'ok', text: `${typeName(type)} rule saved.` })
  })

  app.get<{ Params: TypeParams }>('/:owner/-/cleanup/:type/preview', async (req, reply) => {
    const owner = await adminOwner(req)
    const rule = await s.cleanup.get(owner.id, knownType(req.params.type))
    const list = await s.cleanup.preview(rule)
    const ctx = pageCtx(req, reply)
    const base = `/${encodeURIComponent(owner.name)}/-/cleanup`
    return sendPage(reply, 200, layout(ctx, `Cleanup preview · ${owner.name}`, html`
<p class="crumbs"><a href="/${encodeURIComponent(owner.name)}">${owner.name}</a> / <a href="${base}">Cleanup rules</a></p>
<h1>${typeName(rule.type)} cleanup preview</h1>
${list.length === 0 ? html`<p class="empty" id="preview-empty">A run now would remove nothing.</p>` : html`<p>A run now would remove these ${list.length} version${list.length === 1 ? '' : 's'}:</p>
<div class="table-wrap"><table id="preview"><thead><tr><th>Package</th><th>Version</th><th>Published</th></tr></thead>
<tbody>${list.map((c) => html`<tr><td><a href="${packagePath(owner.name, rule.type, c.name)}">${c.name}</a></td><td><code>${c.version}</code></td><td>${formatTime(c.createdUnix)}</td></tr>`)}</tbody></table></div>
<form method="post" action="${base}/${rule.type}/run">${csrfField(ctx)}<button type="submit" class="danger">Run cleanup now</button></form>`}`))
  })

  app.post<{ Params: TypeParams }>('/:owner/-/cleanup/:type/run', async (req, reply) => {
    const owner = await adminOwner(req)
    const rule = await s.cleanup.get(owner.id, knownType(req.params.type))
    const removed = await s.cleanup.run(rule, 'manual', req.log)
    return cleanupPage(req, reply, 200, { kind: 'ok', text: `Removed ${removed.length} version${removed.length === 1 ? '' : 's'}.` })
  })
}
