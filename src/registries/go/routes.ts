// Go registry: PUT /api/packages/{owner}/go/upload and the GOPROXY protocol below it
// (docs/http.md "Go", https://go.dev/ref/mod#goproxy-protocol).
//
// Module paths contain slashes, so every read goes through one wildcard route and is dispatched
// on parseGoProxyPath. The router has already percent-decoded the path ("%21" → "!"); the case
// escapes ("!a" → "A") are decoded by the parser, and lookups ignore case.
import { auditBy } from '../../http/audit-by.js'
import { rm } from 'node:fs/promises'
import type { Readable } from 'node:stream'
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import { WharfError, conflict, invalid, notFound, tooLarge } from '../../errors.js'
import { sendContinue } from '../../http/expect-continue.js'
import { sendBlob } from '../../http/send-blob.js'
import type { VersionRef, VersionView } from '../../packages/package-service.js'
import { spoolUpload } from '../../packages/upload.js'
import { ModuleZipError } from './errors.js'
import { goMetadataOf, type GoVersionMetadata } from './metadata.js'
import { parseGoProxyPath } from './goproxy-path.js'
import { listVersions, pickLatestNotRetracted, retractionsOf } from './latest.js'
import { checkModuleZip } from './module-zip.js'
import { MAX_ZIP_FILE } from './zip-rules.js'
import { hostedModuleFor, serveSumdb, serveUpstream } from './proxy/serve.js'

export const TYPE = 'go'

export const routes: FastifyPluginAsync = async (app) => {
  const { access, packages, tmpDir } = app.services

  // The module zip is streamed to a temp file as it comes, whatever content type the client sends.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', (_req, payload, done) => done(null, payload))

  // A refusal sent before the body was read: close the connection rather than drain the body.
  app.addHook('onSend', (req, reply, payload, done) => {
    if (req.method === 'PUT' && reply.statusCode >= 400 && !req.raw.complete) reply.header('connection', 'close')
    done(null, payload)
  })

  app.put<{ Params: { owner: string } }>('/upload', { config: { deferContinue: true } }, async (req, reply) => {
    const owner = await access.require(req.actor, req.params.owner, 'write')
    // x/mod/zip refuses zip files over 500 MiB; never spool more than that, whatever the config says.
    const configured = packages.limitFor(TYPE)
    const limit = Math.min(configured ?? MAX_ZIP_FILE, MAX_ZIP_FILE)
    const declared = req.headers['content-length']
    if (declared !== undefined && Number(declared) > limit) throw tooLarge(tooLargeMessage(limit))
    // Owner quotas (403): a new version, of the declared size, before the body is read.
    const quotaExempt = req.actor!.isAdmin
    await packages.checkUpload({ ownerId: owner.id, type: TYPE, name: '', version: '' }, {
      declaredSize: declared !== undefined ? Number(declared) : undefined, ownerName: owner.name, quotaExempt,
    })
    sendContinue(req, reply)

    const body = (req.body as Readable | undefined) ?? req.raw
    const upload = await spoolUpload(body, tmpDir, limit).catch((err: unknown) => {
      throw err instanceof WharfError && err.kind === 'too_large' ? tooLarge(tooLargeMessage(limit)) : err
    })
    try {
      const info = await checkModuleZip(upload.path).catch((err: unknown) => {
        throw err instanceof ModuleZipError ? invalid(err.message) : err
      })
      const ref = { ownerId: owner.id, type: TYPE, name: info.module, version: info.version }
      // What the version stores, so .mod and .info need no zip read.
      // Cheap refusal before the blob is written; the unique constraint still decides races.
      if (await packages.findVersion(ref)) throw conflict(`module ${info.module} version ${info.version} already exists`)
      const metadata: GoVersionMetadata = { goMod: info.goMod, goModSynthesized: info.goModSynthesized }
      await packages.createVersionWithFile({
        // Already spooled and hashed: the service moves this file into the blob store as it is.
        ...ref, file: `${info.version}.zip`, creatorId: req.actor!.userId, by: auditBy(req), spooled: upload,
        metadataJson: JSON.stringify(metadata), isLead: true, ownerName: owner.name, quotaExempt,
      })
    } finally {
      await rm(upload.path, { force: true })
    }
    return reply.code(201).send()
  })

  // HEAD is declared here (not left to exposeHeadRoutes, which would reset Content-Length to 0).
  app.route<{ Params: { owner: string; '*': string } }>({ method: ['GET', 'HEAD'], url: '/*', handler: async (req, reply) => {
    const owner = await access.require(req.actor, req.params.owner, 'read')
    const rest = req.params['*']
    // Checksum databases of WHARF_GO_SUMDB are passed through; any other answers 404 and the go
    // command asks it itself (or skips it for GONOSUMDB/GOPRIVATE modules).
    if (rest.startsWith('sumdb/')) return serveSumdb(app.services, req, reply, owner.id, rest)
    const r = parseGoProxyPath(rest)
    if (!r || r.kind === 'supported' || r.kind === 'sumdb') throw notFound(`${rest}`)
    // A version the owner hosts under exactly this module path: the module is then its own longest
    // hosted prefix, so hostedModuleFor below would decide the same. One query on the go command's
    // hot path (.info, .mod, .zip) instead of two; anything else takes the full way.
    if ('version' in r) {
      const found = await serveHostedVersion(req, reply, { ownerId: owner.id, type: TYPE, name: r.module, version: r.version }, r.kind)
      if (found) return reply
    }
    // A module the owner hosts (or one below it) is answered from hosted versions only; any other
    // may come from the upstream (proxy/serve.ts decides whether it may be asked).
    const hosted = await hostedModuleFor(app.services.db, owner.id, r.module)
    if (hosted === undefined) return serveUpstream(app.services, req, reply, r)
    if (hosted.toLowerCase() !== r.module.toLowerCase()) throw notFound(`module ${r.module}`)
    const pkg = { ownerId: owner.id, type: TYPE, name: r.module }

    if (!('version' in r)) {
      const versions = await packages.listVersionsOfPackage(pkg)
      if (versions.length === 0) throw notFound(`module ${r.module}`)
      if (r.kind === 'list') {
        const body = listVersions(versions.map((v) => v.version)).map((v) => `${v}\n`).join('')
        return reply.type('text/plain; charset=utf-8').send(body)
      }
      // Versions retracted by the go.mod of the highest version are skipped (still in @v/list).
      const retractions = retractionsOf(versions.map((v) => ({ version: v.version, goMod: goMetadataOf(v).goMod })))
      const latest = pickLatestNotRetracted(versions.map((v) => v.version), retractions)
      const v = versions.find((x) => x.version === latest)
      if (!v) throw notFound(`a version of module ${r.module}`)
      return sendInfo(reply, v)
    }

    // A hosted module without that version: serveHostedVersion above found none.
    throw notFound(r.kind === 'zip' ? `file ${r.version}.zip` : `version ${r.version} of ${r.module}`)
  } })

  /** Answers .info, .mod or .zip from a hosted version; false (nothing sent) when there is none. */
  async function serveHostedVersion(req: FastifyRequest, reply: FastifyReply, ref: VersionRef, kind: 'info' | 'mod' | 'zip'): Promise<boolean> {
    if (kind !== 'zip') {
      const v = await packages.findVersion(ref)
      if (!v) return false
      if (kind === 'info') sendInfo(reply, v)
      else reply.type('text/plain; charset=utf-8').send(goMetadataOf(v).goMod)
      return true
    }
    const file = await packages.findOpenFile({ ...ref, file: `${ref.version}.zip` })
    if (!file) return false
    const outcome = await sendBlob(req, reply, file, { contentType: 'application/zip' })
    if (outcome === 'full') packages.countDownload(file.versionId)
    return true
  }
}

function sendInfo(reply: FastifyReply, v: VersionView): FastifyReply {
  // RFC 3339 without fractional seconds, as the go command writes .info files itself.
  const time = new Date(v.createdUnix * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z')
  return reply.type('application/json; charset=utf-8').send(JSON.stringify({ Version: v.version, Time: time }))
}

const tooLargeMessage = (limit: number) => `the module zip is larger than the limit of ${limit} bytes`
