// /api/v1/packages: list, show, delete package versions and list their files, in Gitea's shapes
// (modules/structs/package.go: Package and PackageFile).
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import type { User } from '../../storage/db/schema.js'
import type { Need } from '../../auth/permissions.js'
import type { VersionRef, VersionView } from '../../packages/package-service.js'
import { parseQuery, q, PACKAGE_TYPE } from '../query.js'
import { signedIn } from './guards.js'
import { notFound } from '../../errors.js'
import { pickLatest } from '../../packages/latest.js'
import { publicBase, userJson } from './shapes.js'
import { auditBy } from '../audit-by.js'

const DEFAULT_LIMIT = 30
const MAX_LIMIT = 50
const MAX_PAGE = 1_000_000

/** ?type=&q=&page=&limit= (a limit past 50 is cut to 50, as Gitea does). */
const LIST_QUERY = {
  type: PACKAGE_TYPE,
  q: q.text(255),
  page: q.int(1, MAX_PAGE),
  limit: q.int(1, Number.MAX_SAFE_INTEGER),
}

interface VersionParams {
  owner: string
  type: string
  name: string
  version: string
}

export const packageRoutes: FastifyPluginAsync = async (app) => {
  const { access, packages, users } = app.services
  const base = () => app.services.publicUrl()

  /** Signed in (401), scope (403), owner readable (404) / writable (403): the order docs/http.md gives. */
  const ownerFor = async (req: FastifyRequest, ownerName: string, need: Need): Promise<User> => {
    const { actor } = signedIn(req)
    return access.require(actor, ownerName, need)
  }

  // An unknown type needs no check of its own: no version of it exists, so the lookup answers 404.
  const versionRef = (owner: User, p: VersionParams): VersionRef => ({ ownerId: owner.id, type: p.type, name: p.name, version: p.version })

  const packageJson = async (v: VersionView, owner: User, creators = new Map<number, User | undefined>()) => {
    let creator: User | undefined
    if (v.creatorId !== null) {
      if (v.creatorId === owner.id) creator = owner
      else if (creators.has(v.creatorId)) creator = creators.get(v.creatorId)
      else creators.set(v.creatorId, creator = await users.findById(v.creatorId))
    }
    return {
      id: v.id,
      owner: userJson(owner, base(), { showEmail: false }),
      creator: creator ? userJson(creator, base(), { showEmail: false }) : ghostUser(),
      type: v.type,
      name: v.name,
      version: v.version,
      html_url: `${publicBase(base())}/${encodeURIComponent(owner.name)}/-/packages/${encodeURIComponent(v.type)}/${encodeURIComponent(v.name)}/${encodeURIComponent(v.version)}`,
      created_at: new Date(v.createdUnix * 1000).toISOString(),
    }
  }

  app.get<{ Params: { owner: string } }>('/packages/:owner', async (req, reply) => {
    const owner = await ownerFor(req, req.params.owner, 'read')
    const query = parseQuery(req.query, LIST_QUERY)
    const page = query.page ?? 1
    const limit = Math.min(query.limit ?? DEFAULT_LIMIT, MAX_LIMIT)
    const filter = { type: query.type, q: query.q || undefined }
    const [versions, total] = await Promise.all([
      packages.listVersions(owner.id, { ...filter, page, limit }),
      packages.countVersions(owner.id, filter),
    ])
    setPaging(req, reply, base(), { page, limit, total })
    const creators = new Map<number, User | undefined>()
    const out = []
    for (const v of versions) out.push(await packageJson(v, owner, creators))
    return out
  })

  // Gitea's endpoint; "latest" as the generic registry's latest/ links choose it (packages/latest.ts).
  app.get<{ Params: Omit<VersionParams, 'version'> }>('/packages/:owner/:type/:name/-/latest', async (req) => {
    const owner = await ownerFor(req, req.params.owner, 'read')
    const latest = pickLatest(await packages.listVersionsOfPackage({ ownerId: owner.id, type: req.params.type, name: req.params.name }))
    if (!latest) throw notFound(`package ${req.params.name}`)
    return packageJson(latest, owner)
  })

  app.get<{ Params: VersionParams }>('/packages/:owner/:type/:name/:version', async (req) => {
    const owner = await ownerFor(req, req.params.owner, 'read')
    return packageJson(await packages.getVersion(versionRef(owner, req.params)), owner)
  })

  app.delete<{ Params: VersionParams }>('/packages/:owner/:type/:name/:version', async (req, reply) => {
    const owner = await ownerFor(req, req.params.owner, 'write')
    await packages.deleteVersion(versionRef(owner, req.params), auditBy(req))
    return reply.code(204).send()
  })

  app.get<{ Params: VersionParams }>('/packages/:owner/:type/:name/:version/files', async (req) => {
    const owner = await ownerFor(req, req.params.owner, 'read')
    const v = await packages.getVersion(versionRef(owner, req.params))
    return (await packages.listFiles(v.id)).map((f) => ({
      id: f.id, Size: f.size, name: f.name, md5: f.md5, sha1: f.sha1, sha256: f.sha256, sha512: f.sha512,
    }))
  })
}

/** X-Total-Count and a Link header with first/prev/next/last, as Gitea's API sets them. */
export function setPaging(req: FastifyRequest, reply: FastifyReply, base: URL, p: { page: number; limit: number; total: number }): void {
  const lastPage = Math.max(1, Math.ceil(p.total / p.limit))
  const here = new URL(req.url, base)
  const baseUrl = new URL(`${publicBase(base)}${here.pathname}`)
  const link = (page: number, rel: string) => {
    const u = new URL(baseUrl)
    for (const [k, v] of here.searchParams) if (k !== 'page' && k !== 'limit') u.searchParams.set(k, v)
    u.searchParams.set('page', String(page))
    u.searchParams.set('limit', String(p.limit))
    return `<${u.toString()}>; rel="${rel}"`
  }
  const links: string[] = []
  if (p.page < lastPage) links.push(link(p.page + 1, 'next'), link(lastPage, 'last'))
  if (p.page > 1) links.push(link(1, 'first'), link(Math.min(p.page - 1, lastPage), 'prev'))
  reply.header('X-Total-Count', String(p.total))
  reply.header('Access-Control-Expose-Headers', 'X-Total-Count, Link')
  if (links.length > 0) reply.header('Link', links.join(','))
}

/** Gitea's stand-in for a deleted user (user_model.NewGhostUser). */
function ghostUser() {
  return {
    id: -1, login: 'Ghost', login_name: '', source_id: 0, full_name: '', email: '', avatar_url: '', html_url: '',
    language: '', is_admin: false, last_login: new Date(0).toISOString(), created: new Date(0).toISOString(),
    restricted: false, active: false, prohibit_login: false, location: '', website: '', description: '',
    visibility: 'public', followers_count: 0, following_count: 0, starred_repos_count: 0, username: 'Ghost',
  }
}
