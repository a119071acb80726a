// /api/v1 endpoints of issue 11 (release workflow and storage lifecycle), in README's "Package
// lifecycle API": a package's latest version and settings, cleanup rules with preview and runs,
// an owner's usage against its quotas, and site admins' per-owner quota overrides.
import { auditBy } from '../audit-by.js'
import type { FastifyPluginAsync, FastifyRequest } from 'fastify'
import type { User } from '../../storage/db/schema.js'
import type { Need } from '../../auth/permissions.js'
import { forbidden, invalid, notFound } from '../../errors.js'
import { findPackageType } from '../../registries/index.js'
import type { PackageSettings } from '../../packages/package-settings.js'
import type { CleanupCandidate, CleanupRuleView } from '../../packages/cleanup.js'
import { parseSize, ConfigError } from '../../config/config.js'
import { requireSiteAdmin, signedIn } from './guards.js'

interface PkgParams { owner: string; type: string; name: string }

const iso = (unix: number) => new Date(unix * 1000).toISOString()

export const settingsJson = (s: PackageSettings) => ({
  overwrite: s.overwrite, overwrite_versions: s.overwriteVersions, protected_versions: s.protectedVersions,
})

export const ruleJson = (r: CleanupRuleView) => ({
  id: r.id, type: r.type, enabled: r.enabled, keep_count: r.keepCount, keep_pattern: r.keepPattern,
  remove_days: r.removeDays, remove_pattern: r.removePattern, match_full_name: r.matchFullName,
  created_at: iso(r.createdUnix), updated_at: iso(r.updatedUnix),
})

const candidateJson = (c: CleanupCandidate) => ({ name: c.name, version: c.version, created_at: iso(c.createdUnix) })

const objectBody = (body: unknown): Record<string, unknown> => {
  if (body === undefined || body === null) return {}
  if (typeof body !== 'object' || Array.isArray(body)) throw invalid('expected a JSON object')
  return body as Record<string, unknown>
}

/** A quota limit as JSON: a number of bytes or versions, a size with a unit ("5GiB"), -1 (none) or null (the default). */
export function limitValue(v: unknown, key: string, sizes: boolean): number | null {
  if (v === undefined || v === null) return null
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v) || v < -1) throw invalid(`${key}: expected a whole number ≥ 0, -1 (no limit) or null (the default)`)
    return v
  }
  if (typeof v === 'string' && sizes) {
    try {
      return parseSize(key, v)
    } catch (err) {
      if (err instanceof ConfigError) throw invalid(err.message)
      throw err
    }
  }
  throw invalid(`${key}: expected a number${sizes ? ' or a size like 5GiB' : ''}, -1 or null`)
}

export const lifecycleRoutes: FastifyPluginAsync = async (app) => {
  const { access, packages, packageSettings, cleanup, quota, users } = app.services

  const ownerFor = async (req: FastifyRequest, name: string, need: Need): Promise<User> => access.require(signedIn(req).actor, name, need)

  /** The owner, when the actor may administer its packages (403 otherwise, after the usual 401/404). */
  const adminOwner = async (req: FastifyRequest, name: string): Promise<User> => {
    const owner = await ownerFor(req, name, 'write')
    if (!(await access.canAdminister(req.actor, owner))) throw forbidden(`only owners of '${owner.name}' and site admins may manage its cleanup rules`)
    return owner
  }

  const knownType = (type: string): string => {
    if (!findPackageType(type)) throw notFound(`package type '${type}'`)
    return type
  }

  const existingPackage = async (owner: User, p: PkgParams) => {
    const ref = { ownerId: owner.id, type: p.type, name: p.name }
    if (!(await packages.packageExists(ref))) throw notFound(`package ${p.name}`)
    return ref
  }

  app.get<{ Params: PkgParams }>('/packages/:owner/:type/:name/-/settings', async (req) => {
    const owner = await ownerFor(req, req.params.owner, 'read')
    return settingsJson(await packageSettings.get(await existingPackage(owner, req.params)))
  })

  app.put<{ Params: PkgParams }>('/packages/:owner/:type/:name/-/settings', async (req) => {
    const owner = await ownerFor(req, req.params.owner, 'write')
    const ref = await existingPackage(owner, req.params)
    const b = objectBody(req.body)
    const { after } = await packageSettings.update(ref, {
      overwrite: b.overwrite, overwriteVersions: b.overwrite_versions, protectedVersions: b.protected_versions,
    }, { mayUnprotect: await access.canAdminister(req.actor, owner), by: auditBy(req) })
    return settingsJson(after)
  })

  app.get<{ Params: { owner: string } }>('/packages/:owner/-/usage', async (req) => {
    const owner = await ownerFor(req, req.params.owner, 'read')
    const [l, u] = await Promise.all([quota.limits(owner.id), quota.usage(owner.id)])
    return {
      size: { used: u.size, limit: l.size ?? null },
      count: { used: u.count, limit: l.count ?? null },
    }
  })

  app.get<{ Params: { owner: string } }>('/packages/:owner/-/cleanup-rules', async (req) => {
    const owner = await ownerFor(req, req.params.owner, 'write')
    return (await cleanup.list(owner.id)).map(ruleJson)
  })

  app.get<{ Params: { owner: string; type: string } }>('/packages/:owner/-/cleanup-rules/:type', async (req) => {
    const owner = await ownerFor(req, req.params.owner, 'write')
    return ruleJson(await cleanup.get(owner.id, knownType(req.params.type)))
  })

  app.put<{ Params: { owner: string; type: string } }>('/packages/:owner/-/cleanup-rules/:type', async (req) => {
    const owner = await adminOwner(req, req.params.owner)
    return ruleJson((await cleanup.put(owner.id, knownType(req.params.type), objectBody(req.body))).after)
  })

  app.delete<{ Params: { owner: string; type: string } }>('/packages/:owner/-/cleanup-rules/:type', async (req, reply) => {
    const owner = await adminOwner(req, req.params.owner)
    await cleanup.delete(owner.id, knownType(req.params.type))
    return reply.code(204).send()
  })

  app.get<{ Params: { owner: string; type: string } }>('/packages/:owner/-/cleanup-rules/:type/preview', async (req) => {
    const owner = await ownerFor(req, req.params.owner, 'write')
    const rule = await cleanup.get(owner.id, knownType(req.params.type))
    return (await cleanup.preview(rule)).map(candidateJson)
  })

  app.post<{ Params: { owner: string; type: string } }>('/packages/:owner/-/cleanup-rules/:type/run', async (req) => {
    const owner = await adminOwner(req, req.params.owner)
    const rule = await cleanup.get(owner.id, knownType(req.params.type))
    return (await cleanup.run(rule, 'manual', req.log)).map(candidateJson)
  })

  app.get<{ Params: { owner: string } }>('/packages/:owner/-/cleanup-runs', async (req) => {
    const owner = await ownerFor(req, req.params.owner, 'write')
    return (await cleanup.runs(owner.id)).map((r) => ({
      id: r.id, type: r.type, trigger: r.trigger, removed_count: r.removedCount, created_at: iso(r.createdUnix),
      removed: r.removed.map((c) => ({ name: c.name, version: c.version })),
    }))
  })

  const overrideJson = (name: string, o: { size: number | null; count: number | null }) => ({
    owner: name, limit_total_size: o.size, limit_total_count: o.count,
  })

  app.get('/admin/package-quotas', async (req) => {
    requireSiteAdmin(req, 'read:admin')
    return (await quota.listOverrides()).map((o) => overrideJson(o.name, o))
  })

  const quotaOwner = async (name: string) => {
    const owner = await users.findOwner(name)
    if (!owner) throw notFound(`owner '${name}'`)
    return owner
  }

  app.get<{ Params: { owner: string } }>('/admin/package-quotas/:owner', async (req) => {
    requireSiteAdmin(req, 'read:admin')
    const owner = await quotaOwner(req.params.owner)
    const [l, u] = await Promise.all([quota.limits(owner.id), quota.usage(owner.id)])
    return { ...overrideJson(owner.name, l.override), effective: { size: l.size ?? null, count: l.count ?? null }, usage: u }
  })

  app.put<{ Params: { owner: string } }>('/admin/package-quotas/:owner', async (req) => {
    requireSiteAdmin(req, 'write:admin')
    const owner = await quotaOwner(req.params.owner)
    const b = objectBody(req.body)
    const o = { size: limitValue(b.limit_total_size, 'limit_total_size', true), count: limitValue(b.limit_total_count, 'limit_total_count', false) }
    await quota.setOverride(owner.id, o)
    return overrideJson(owner.name, o)
  })

  app.delete<{ Params: { owner: string } }>('/admin/package-quotas/:owner', async (req, reply) => {
    requireSiteAdmin(req, 'write:admin')
    const owner = await quotaOwner(req.params.owner)
    await quota.setOverride(owner.id, { size: null, count: null })
    return reply.code(204).send()
  })

}
