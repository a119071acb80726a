// A package (its versions) and a version (files, checksums, install instructions, delete).
import { auditBy } from '../../http/audit-by.js'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { WharfError } from '../../errors.js'
import type { User } from '../../storage/db/schema.js'
import type { VersionView } from '../../packages/package-service.js'
import { html } from '../html.js'
import { copyButton, csrfField, flash, formatSize, formatTime, layout, pageCtx, sendPage, visibilityBadge } from '../layout.js'
import { field, formOf } from '../forms.js'
import { findPackageType } from '../../registries/index.js'
import type { RegistryModule } from '../../registries/registry-module.js'
import { packagePath, typeName } from './packages.js'

interface PkgParams { owner: string; type: string; name: string }
interface VerParams extends PkgParams { version: string }

const MAX_SEGMENT = 1024

async function loadPackage(req: FastifyRequest<{ Params: PkgParams }>): Promise<{ owner: User; module: RegistryModule; versions: VersionView[] }> {
  const s = req.server.services
  const { type, name } = req.params
  const owner = await s.access.require(req.actor, req.params.owner.slice(0, 100), 'read')
  const module = findPackageType(type)
  if (!module || name.length === 0 || name.length > MAX_SEGMENT) throw new WharfError('not_found', 'There is no such package.')
  const versions = await s.packages.listVersionsOfPackage({ ownerId: owner.id, type, name })
  if (versions.length === 0) throw new WharfError('not_found', `There is no ${type} package named ${name} here.`)
  return { owner, module, versions: versions.reverse() }
}

function crumbs(owner: string, type: string, name: string, version?: string) {
  return html`<p class="crumbs"><a href="/${encodeURIComponent(owner)}">${owner}</a> / <span class="badge">${typeName(type)}</span>
${version ? html` <a href="${packagePath(owner, type, name)}">${name}</a>` : ''}</p>`
}

/**
 * Names of some types contain "/" (Go module paths: RegistryWeb.slashedNames), and people paste
 * them into the address bar unencoded. When the segments after the type start with the name of a
 * package that exists, redirect to the encoded address; otherwise undefined (the caller goes on).
 */
async function slashedRedirect(req: FastifyRequest<{ Params: { owner: string; type: string } }>, reply: FastifyReply, segs: string[]): Promise<FastifyReply | undefined> {
  const type = req.params.type
  if (!findPackageType(type)?.web.slashedNames || segs.length < 2 || segs.length > 40 || segs.some((x) => x === '' || x.length > MAX_SEGMENT)) return undefined
  const s = req.server.services
  const owner = await s.access.require(req.actor, req.params.owner.slice(0, 100), 'read')
  // A module as typed may itself be a package (then no redirect): only look further when it is not.
  const direct = await s.packages.listVersionsOfPackage({ ownerId: owner.id, type, name: segs[0]! })
  if (direct.length > 0) return undefined
  for (let k = segs.length; k >= 2; k--) {
    const name = segs.slice(0, k).join('/')
    const found = await s.packages.listVersionsOfPackage({ ownerId: owner.id, type, name })
    if (found.length === 0) continue
    const rest = segs.slice(k)
    const base = packagePath(owner.name, type, found[0]!.name)
    if (rest.length === 0) return reply.redirect(base, 301)
    if (rest.length === 1) return reply.redirect(`${base}/${encodeURIComponent(rest[0]!)}`, 301)
    if (rest.length === 2 && rest[1] === 'delete') return reply.redirect(`${base}/${encodeURIComponent(rest[0]!)}/delete`, 301)
    return undefined
  }
  return undefined
}

export async function versionRoutes(app: FastifyInstance): Promise<void> {
  const s = app.services

  app.get<{ Params: PkgParams }>('/:owner/-/packages/:type/:name', async (req, reply) => {
    const { owner, versions } = await loadPackage(req)
    const pkg = versions[0]!
    const creators = await s.catalogue.userNames(versions.map((v) => v.creatorId))
    const downloads = versions.reduce((n, v) => n + Number(v.downloadCount), 0)
    const ctx = pageCtx(req, reply)
    const base = packagePath(owner.name, pkg.type, pkg.name)
    const latestUrl = `${s.publicUrl().toString().replace(/\/$/, '')}/api/packages/${encodeURIComponent(owner.name)}/generic/${encodeURIComponent(pkg.name)}/latest/FILE`
    return sendPage(reply, 200, layout(ctx, `${pkg.name} · ${owner.name}`, html`
${crumbs(owner.name, pkg.type, pkg.name)}
<h1>${pkg.name} ${visibilityBadge(owner.visibility)}</h1>
<p class="lead">${versions.length} version${versions.length === 1 ? '' : 's'} · ${downloads} download${downloads === 1 ? '' : 's'} · latest <a href="${base}/${encodeURIComponent(pkg.version)}"><code>${pkg.version}</code></a></p>
${pkg.type === 'generic' ? html`<p class="latest-url">Always the latest: <code id="latest-url">${latestUrl}</code>${copyButton(latestUrl, 'Copy', 'latest-url')}</p>` : ''}
${await s.access.canWrite(req.actor, owner) ? html`<p><a href="${base}/-/settings">Package settings</a></p>` : ''}
<h2>Versions</h2>
<div class="table-wrap"><table>
<thead><tr><th>Version</th><th>Published</th><th class="hide-narrow">By</th><th class="num">Downloads</th></tr></thead>
<tbody>${versions.map((v) => html`<tr><td><a href="${base}/${encodeURIComponent(v.version)}"><code>${v.version}</code></a></td>
<td>${formatTime(v.createdUnix)}</td><td class="hide-narrow">${v.creatorId !== null ? creators.get(v.creatorId) ?? 'deleted user' : html`<span class="muted">unknown</span>`}</td>
<td class="num">${Number(v.downloadCount)}</td></tr>`)}</tbody></table></div>`))
  })

  async function loadVersion(req: FastifyRequest<{ Params: VerParams }>) {
    const { owner, module, versions } = await loadPackage(req)
    const wanted = req.params.version.toLowerCase()
    const version = versions.find((v) => v.version.toLowerCase() === wanted)
    if (!version || req.params.version.length > MAX_SEGMENT) throw new WharfError('not_found', `There is no version ${req.params.version} of ${versions[0]!.name}.`)
    return { owner, module, version }
  }

  app.get<{ Params: VerParams }>('/:owner/-/packages/:type/:name/:version', async (req, reply) => {
    const slashed = await slashedRedirect(req, reply, [req.params.name, req.params.version])
    if (slashed) return slashed
    const { owner, module, version: v } = await loadVersion(req)
    const files = await s.packages.listFiles(v.id)
    const parts = await module.web.versionPage?.({ services: s, owner, version: v, files }) ?? {}
    const creator = v.creatorId !== null ? (await s.catalogue.userNames([v.creatorId])).get(v.creatorId) : undefined
    const canWrite = await s.access.canWrite(req.actor, owner)
    const ref = { base: s.publicUrl(), owner: owner.name, ownerPublic: owner.visibility === 'public', name: v.name, version: v.version }
    const ctx = pageCtx(req, reply)
    const base = packagePath(owner.name, v.type, v.name)
    return sendPage(reply, 200, layout(ctx, `${v.name} ${v.version}`, html`
${crumbs(owner.name, v.type, v.name, v.version)}
<h1>${v.name} <code>${v.version}</code></h1>
${parts.notices ?? ''}
<div class="grid"><div>
<h2>Files</h2>
<div class="table-wrap"><table>
<thead><tr><th>Name</th><th class="num">Size</th><th>SHA-256</th></tr></thead>
<tbody>${files.map((f, i) => {
    const url = module.web.fileUrl(ref, f)
    return html`<tr><td><a href="${url}" download="${f.name}">${f.name}</a></td>
<td class="num">${formatSize(Number(f.size))}</td>
<td><div class="hash"><code class="sha256" id="sha-${i}">${f.sha256}</code>${copyButton(f.sha256, 'Copy', `sha-${i}`)}</div></td></tr>`
  })}</tbody></table></div>
<h2>Install</h2>
${module.web.install({ ...ref, files })}
${parts.sections ?? ''}
</div>
<aside class="card" aria-label="About this version"><dl class="facts">
<dt>Owner</dt><dd><a href="/${encodeURIComponent(owner.name)}">${owner.name}</a></dd>
<dt>Type</dt><dd>${typeName(v.type)}</dd>
<dt>Published</dt><dd>${formatTime(v.createdUnix)}</dd>
<dt>By</dt><dd>${creator ?? html`<span class="muted">unknown</span>`}</dd>
<dt>Downloads</dt><dd>${Number(v.downloadCount)}</dd>
<dt>Files</dt><dd>${files.length}</dd>
</dl>
<p><a href="${base}">All versions</a></p>
${canWrite ? html`<p><a class="button danger" href="${base}/${encodeURIComponent(v.version)}/delete">Delete this version</a></p>` : ''}
</aside></div>`))
  })

  const confirmPage = async (req: FastifyRequest<{ Params: VerParams }>, reply: FastifyReply, status = 200, error?: string) => {
    const { owner, version: v } = await loadVersion(req)
    if (!(await s.access.canWrite(req.actor, owner))) throw new WharfError(req.actor ? 'forbidden' : 'unauthenticated', 'Only people who can publish here may delete versions.')
    const ctx = pageCtx(req, reply)
    const action = `${packagePath(owner.name, v.type, v.name)}/${encodeURIComponent(v.version)}/delete`
    return sendPage(reply, status, layout(ctx, `Delete ${v.name} ${v.version}`, html`
${crumbs(owner.name, v.type, v.name, v.version)}
<h1>Delete ${v.name} <code>${v.version}</code>?</h1>
${error ? flash('error', error) : ''}
<form class="card narrow" method="post" action="${action}">${csrfField(ctx)}
<p>This deletes the version and all its files. Anyone still using it will fail to download it. This cannot be undone.</p>
<div class="field"><label class="check"><input type="checkbox" name="confirm" value="yes" required> I understand, delete ${v.name} ${v.version}</label></div>
<div class="actions"><button type="submit" class="danger">Delete version</button>
<a href="${packagePath(owner.name, v.type, v.name)}/${encodeURIComponent(v.version)}">Cancel</a></div>
</form>`))
  }

  app.get<{ Params: VerParams }>('/:owner/-/packages/:type/:name/:version/delete', async (req, reply) =>
    (await slashedRedirect(req, reply, [req.params.name, req.params.version, 'delete'])) ?? confirmPage(req, reply))

  app.get<{ Params: { owner: string; type: string; '*': string } }>('/:owner/-/packages/:type/*', async (req, reply) => {
    const segs = req.params['*'].split('/')
    if ((await slashedRedirect(req, reply, segs)) === undefined) throw new WharfError('not_found', 'There is no such package.')
    return reply
  })

  app.post<{ Params: VerParams }>('/:owner/-/packages/:type/:name/:version/delete', async (req, reply) => {
    if (field(formOf(req), 'confirm') !== 'yes') return confirmPage(req, reply, 400, 'Tick the box to confirm.')
    const { owner, version: v } = await loadVersion(req)
    await s.access.require(req.actor, owner.name, 'write')
    await s.packages.deleteVersion({ ownerId: owner.id, type: v.type, name: v.name, version: v.version }, auditBy(req))
    const left = await s.packages.listVersionsOfPackage({ ownerId: owner.id, type: v.type, name: v.name })
    return reply.redirect(left.length > 0 ? packagePath(owner.name, v.type, v.name) : `/${encodeURIComponent(owner.name)}`, 303)
  })
}
