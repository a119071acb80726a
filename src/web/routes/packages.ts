// Browsing: explore (every package the visitor may read), an owner's packages, an organization's teams.
import { goGetPage, goGetRoutes, isGoGet } from '../../registries/go/go-get.js'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { WharfError } from '../../errors.js'
import { parseQuery, q, PACKAGE_TYPE } from '../../http/query.js'
import { USER_TYPE_ORGANIZATION } from '../../accounts/users.js'
import { packageTypes, findPackageType } from '../../registries/index.js'
import type { User } from '../../storage/db/schema.js'
import { html, type Html } from '../html.js'
import { formatTime, layout, pageCtx, pager, sendPage, visibilityBadge } from '../layout.js'
import type { PackageRow } from '../../packages/catalogue.js'
import { versionRoutes } from './versions.js'
import { lifecycleRoutes, usageHtml } from './lifecycle.js'

export const PAGE_SIZE = 20
export const MAX_QUERY = 100
const MAX_PAGE = 10_000

const LIST_QUERY = { q: q.text(MAX_QUERY, { cut: true }), type: PACKAGE_TYPE, page: q.int(1, MAX_PAGE) }

/** Reads ?q, ?type, ?page; nonsense becomes a 400 page, an over-long search is cut short. */
export function listParams(query: unknown): { q: string; type: string; page: number } {
  const p = parseQuery(query, LIST_QUERY)
  return { q: p.q ?? '', type: p.type ?? '', page: p.page ?? 1 }
}

export const typeName = (t: string) => findPackageType(t)?.displayName ?? t
export const packagePath = (owner: string, type: string, name: string) =>
  `/${encodeURIComponent(owner)}/-/packages/${encodeURIComponent(type)}/${encodeURIComponent(name)}`

function searchForm(action: string, p: { q: string; type: string }, label: string): Html {
  const types = packageTypes.map((t) => t.name)
  return html`<form class="search" method="get" action="${action}" role="search">
<div class="grow"><label for="q">${label}</label><input type="search" id="q" name="q" value="${p.q}" maxlength="${MAX_QUERY}" placeholder="Package name"></div>
<div><label for="type">Type</label><select id="type" name="type"><option value="">All types</option>
${types.map((t) => html`<option value="${t}" ${t === p.type ? 'selected' : ''}>${typeName(t)}</option>`)}</select></div>
<div><button type="submit">Search</button></div></form>`
}

function packageList(rows: PackageRow[], showOwner: boolean, empty: string): Html {
  if (rows.length === 0) return html`<p class="empty">${empty}</p>`
  return html`<ul class="packages">${rows.map((r) => html`<li>
<a class="name" href="${packagePath(r.owner, r.type, r.name)}">${showOwner ? html`${r.owner} / ` : ''}${r.name}</a>
<span class="badge">${typeName(r.type)}</span> ${showOwner ? visibilityBadge(r.ownerVisibility) : ''}
<div class="meta">${r.latest ? html`latest <code>${r.latest}</code> · ` : ''}${r.versions} version${r.versions === 1 ? '' : 's'} · updated ${formatTime(r.updated)}</div>
</li>`)}</ul>`
}

async function ownerPage(req: FastifyRequest<{ Params: { owner: string } }>, reply: FastifyReply) {
  // `go get HOST/owner/…` verifies an owner-level go-import prefix here (registries/go/go-get.ts).
  if (isGoGet(req)) return goGetPage(req, reply, req.params.owner, '')
  const s = req.server.services
  const p = listParams(req.query)
  const owner = await s.access.require(req.actor, req.params.owner.slice(0, 100), 'read')
  const isOrg = owner.type === USER_TYPE_ORGANIZATION
  const { rows, total } = await s.catalogue.ofOwner(owner, { ...p, limit: PAGE_SIZE })
  const pages = Math.max(1, Math.ceil(total / PAGE_SIZE))
  const canSeeTeams = isOrg && req.actor && (req.actor.isAdmin || (await s.orgs.membership(owner.id, req.actor.userId)).isMember)
  const base = `/${encodeURIComponent(owner.name)}`
  const ctx = pageCtx(req, reply)
  return sendPage(reply, 200, layout(ctx, owner.name, html`
<p class="crumbs">${isOrg ? 'Organization' : 'User'}</p>
<h1>${owner.name} ${visibilityBadge(owner.visibility)}</h1>
${owner.full_name ? html`<p class="lead">${owner.full_name}</p>` : ''}
${canSeeTeams ? html`<p><a href="${base}/-/teams">Teams and members</a></p>` : ''}
${await usageHtml(s, owner)}
${await s.access.canAdminister(req.actor, owner) ? html`<p><a href="${base}/-/cleanup">Cleanup rules</a></p>` : ''}
${searchForm(`${base}/-/packages`, p, `Search ${owner.name}’s packages`)}
<p class="muted">${total} package${total === 1 ? '' : 's'}</p>
${packageList(rows, false, p.q || p.type ? 'No packages match.' : 'No packages yet.')}
${pager(`${base}/-/packages`, { q: p.q, type: p.type }, p.page, pages)}`))
}

async function teamsPage(req: FastifyRequest<{ Params: { owner: string } }>, reply: FastifyReply) {
  const s = req.server.services
  const org = await s.access.require(req.actor, req.params.owner.slice(0, 100), 'read')
  const member = req.actor && (req.actor.isAdmin || (await s.orgs.membership(org.id, req.actor.userId)).isMember)
  // Only members see who is in which team; to others the page does not exist.
  if (org.type !== USER_TYPE_ORGANIZATION || !member) throw new WharfError('not_found', 'There is no such page.')
  const teams = await s.orgs.listTeams(org)
  const members = new Map<number, User[]>()
  for (const t of teams) members.set(t.id, await s.orgs.listTeamMembers(t.id))
  const ctx = pageCtx(req, reply)
  return sendPage(reply, 200, layout(ctx, `${org.name} teams`, html`
<p class="crumbs"><a href="/${org.name}">${org.name}</a></p>
<h1>Teams</h1>
${teams.map((t) => html`<section class="card" aria-labelledby="team-${t.id}">
<h2 id="team-${t.id}">${t.name} ${t.is_owner_team ? html`<span class="badge">owners</span>` : ''}</h2>
<p class="muted">Packages access: <strong>${t.is_owner_team ? 'admin' : t.packages_access}</strong>${t.description ? html` · ${t.description}` : ''}</p>
${(members.get(t.id) ?? []).length === 0 ? html`<p class="muted">No members.</p>`
    : html`<ul>${(members.get(t.id) ?? []).map((m) => html`<li><a href="/${m.name}">${m.name}</a></li>`)}</ul>`}
</section>`)}`))
}

export async function packageRoutes(app: FastifyInstance): Promise<void> {
  const s = app.services

  app.get('/', async (req, reply) => {
    const p = listParams(req.query)
    const { rows: visible, total, signInRequired } = await s.catalogue.search(req.actor, { ...p, limit: PAGE_SIZE })
    const ctx = pageCtx(req, reply)
    if (signInRequired) {
      return sendPage(reply, 200, layout(ctx, 'Explore', html`<h1>Explore packages</h1>
<p class="empty">This registry is private. <a href="/-/login">Sign in</a> to see its packages.</p>`))
    }
    const pages = Math.max(1, Math.ceil(total / PAGE_SIZE))
    return sendPage(reply, 200, layout(ctx, 'Explore', html`<h1>Explore packages</h1>
${searchForm('/', p, 'Search packages')}
<p class="muted">${total} package${total === 1 ? '' : 's'}${p.q ? html` matching “${p.q}”` : ''}</p>
${packageList(visible, true, p.q || p.type ? 'No packages match your search.' : 'No packages yet.')}
${pager('/', { q: p.q, type: p.type }, p.page, pages)}`))
  })

  app.get<{ Params: { owner: string } }>('/:owner', ownerPage)
  await app.register(goGetRoutes)
  app.get<{ Params: { owner: string } }>('/:owner/-/packages', ownerPage)
  app.get<{ Params: { owner: string } }>('/:owner/-/teams', teamsPage)
  await app.register(versionRoutes)
  await app.register(lifecycleRoutes)
}
