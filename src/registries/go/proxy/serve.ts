// The owner endpoint's answers for modules it does not host (issue 12): the gate that keeps
// hosted and private module paths away from the upstream, then the cache's answers, and the
// checksum database pass-through under `sumdb/<name>/…`.
import { buffer as readAll } from 'node:stream/consumers'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Kysely } from 'kysely'
import type { Services } from '../../../services.js'
import type { Database } from '../../../storage/db/schema.js'
import type { GoProxyConfig } from '../../../config/config.js'
import { WharfError, notFound } from '../../../errors.js'
import { sendBlob } from '../../../http/send-blob.js'
import { blobKey } from '../../../storage/blobs/blob-store.js'
import type { GoProxyRequest } from '../goproxy-path.js'
import { unescapePath, unescapeVersion } from '../module-path.js'
import { matchesModuleGlobs } from './settings.js'

/**
 * The hosted module of `ownerId` that `module` is, or lies below (`example.com/lib/sub` below
 * `example.com/lib`): such paths are answered from hosted versions only, never from the upstream,
 * so a public module cannot shadow a hosted one or a package inside it (dependency confusion).
 */
export async function hostedModuleFor(db: Kysely<Database>, ownerId: number, module: string): Promise<string | undefined> {
  const elems = module.toLowerCase().split('/')
  const prefixes = elems.map((_, i) => elems.slice(0, i + 1).join('/'))
  const rows = await db.selectFrom('package').select(['name', 'lower_name'])
    .where('owner_id', '=', ownerId).where('type', '=', 'go').where('lower_name', 'in', prefixes).execute()
  rows.sort((a, b) => b.lower_name.length - a.lower_name.length)
  return rows[0]?.name
}

/** Why `module` must not be requested upstream for this request, or undefined when it may. */
export function upstreamRefusal(cfg: GoProxyConfig, publicHost: string, anonymous: boolean, module: string): string | undefined {
  if (cfg.upstream.length === 0) return 'no upstream proxy is configured (WHARF_GO_UPSTREAM)'
  // Modules named after this server are Wharf's own (zero-config go get): never asked elsewhere.
  if (matchesModuleGlobs(cfg.private, module) || matchesModuleGlobs([publicHost], module)) {
    return 'it is private (WHARF_GO_PRIVATE) and never requested upstream'
  }
  if (anonymous && !cfg.anonymous) return 'anonymous requests are not passed to the upstream (WHARF_GO_UPSTREAM_ANONYMOUS)'
  return undefined
}

type ModuleRequest = Extract<GoProxyRequest, { module: string }>

/** Answers a GOPROXY request for a module the owner does not host. */
export async function serveUpstream(s: Services, req: FastifyRequest, reply: FastifyReply, r: ModuleRequest): Promise<FastifyReply> {
  const refusal = upstreamRefusal(s.config.goProxy, s.publicUrl().hostname, !req.actor, r.module)
  if (refusal) throw notFoundBecause(`module ${r.module}`, refusal)
  const cache = s.goProxy
  switch (r.kind) {
    case 'list':
      return reply.type('text/plain; charset=utf-8').send((await cache.list(r.module)).map((v) => `${v}\n`).join(''))
    case 'latest':
      return reply.type('application/json; charset=utf-8').send(await cache.latest(r.module))
    case 'info':
      return reply.type('application/json; charset=utf-8').send(await cache.info(r.module, r.version))
    case 'mod': {
      const v = await cache.version(r.module, r.version)
      return reply.type('text/plain; charset=utf-8').send(await readAll(await cache.openBlob(v.mod) as AsyncIterable<Buffer>))
    }
    case 'zip': {
      const v = await cache.version(r.module, r.version)
      await sendBlob(req, reply, {
        ...v.zip, name: `${r.version}.zip`, createdUnix: v.createdUnix,
        open: (range) => s.blobs.open(blobKey(v.zip.sha256), range),
      }, { contentType: 'application/zip' })
      return reply
    }
  }
}

const TILE = /^tile\/\d{1,2}\/(?:data|\d{1,3})\/(?:x\d{3}\/)*\d{3}(?:\.p\/\d{1,3})?$/

/**
 * `sumdb/<name>/…` under an owner's endpoint: 404 for every database not in WHARF_GO_SUMDB (the go
 * command then asks it directly), else `supported`, `latest`, `lookup/…` and `tile/…` passed through.
 */
export async function serveSumdb(s: Services, req: FastifyRequest, reply: FastifyReply, ownerId: number, rest: string): Promise<FastifyReply> {
  const m = /^sumdb\/([^/]+)\/(.+)$/.exec(rest)
  const db = m ? s.config.goProxy.sumdb.find((d) => d.name === m[1]) : undefined
  if (!m || !db) throw notFound('checksum database')
  const path = m[2]!
  if (!req.actor && !s.config.goProxy.anonymous) {
    throw notFoundBecause('checksum database', 'anonymous requests are not passed to the upstream (WHARF_GO_UPSTREAM_ANONYMOUS)')
  }
  if (path === 'supported') return reply.code(200).type('text/plain; charset=utf-8').send('')
  if (path === 'latest') return reply.type('text/plain; charset=utf-8').send(await s.goProxy.sumdb(db.name, db.url, path, 'latest'))
  if (path.startsWith('lookup/')) {
    const at = path.lastIndexOf('@')
    let module: string
    try {
      module = unescapePath(path.slice('lookup/'.length, at))
      unescapeVersion(path.slice(at + 1))
    } catch {
      throw notFound(path)
    }
    // Never tell the checksum database the names of private or hosted modules.
    const refusal = upstreamRefusal({ ...s.config.goProxy, anonymous: true, upstream: [{ url: db.url, fallBackOnError: false }] },
      s.publicUrl().hostname, false, module)
    if (refusal) throw notFoundBecause(`module ${module}`, refusal)
    if (await hostedModuleFor(s.db, ownerId, module)) throw notFoundBecause(`module ${module}`, 'it is hosted here and never looked up upstream')
    return reply.type('text/plain; charset=utf-8').send(await s.goProxy.sumdb(db.name, db.url, path, 'lookup'))
  }
  if (TILE.test(path)) {
    return reply.type('application/octet-stream').header('cache-control', 'public, max-age=86400, immutable')
      .send(await s.goProxy.sumdb(db.name, db.url, path, 'tile'))
  }
  throw notFound(path)
}

const notFoundBecause = (what: string, why: string) => new WharfError('not_found', `${what} is not found here: ${why}`)

