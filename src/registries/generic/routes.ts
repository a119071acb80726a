// Generic registry: /api/packages/{owner}/generic/{name}/{version}/{file} (docs/http.md "Generic").
// Every check (credentials, scope, owner, access, names, duplicate, declared size) runs before the
// upload body is read; only then does the client get its 100 Continue.
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import type { Readable } from 'node:stream'
import { createHash } from 'node:crypto'
import { notFound, notFoundMessage } from '../../errors.js'
import { sendError } from '../../http/error-handler.js'
import { sendContinue } from '../../http/expect-continue.js'
import { sendBlob, type SendableBlob } from '../../http/send-blob.js'
import { auditBy } from '../../http/audit-by.js'
import { publicBase } from '../../http/api-v1/shapes.js'
import { checkChecksumFormat, type ExpectedChecksums } from '../../packages/upload.js'
import { pickLatest } from '../../packages/latest.js'
import type { FileRef, FileView, PackageService } from '../../packages/package-service.js'
import { isValidRef, validateRef } from './validate.js'

const TYPE = 'generic'

interface VersionParams {
  owner: string
  name: string
  version: string
}
interface FileParams extends VersionParams {
  file: string
}

export const routes: FastifyPluginAsync = async (app) => {
  const { access, packages } = app.services

  // Uploads are streamed as they come, whatever their content type: never parsed, never buffered.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', (_req, payload, done) => done(null, payload))

  // A refusal sent before the body was read: close the connection rather than read (or let Node
  // drain) a body nobody wants.
  app.addHook('onSend', (req, reply, payload, done) => {
    if (req.method === 'PUT' && reply.statusCode >= 400 && !req.raw.complete) reply.header('connection', 'close')
    done(null, payload)
  })

  app.put<{ Params: FileParams }>('/:name/:version/:file', { config: { deferContinue: true } }, async (req, reply) => {
    const owner = await access.require(req.actor, req.params.owner, 'write')
    const ref = { ownerId: owner.id, type: TYPE, name: req.params.name, version: req.params.version, file: req.params.file }
    validateRef(ref)
    const expected = expectedChecksums(req)
    checkChecksumFormat(expected)
    const declared = req.headers['content-length']
    const quotaExempt = req.actor!.isAdmin
    // 409 (unless the package allows overwriting), 413 and 403 quota, all before the body.
    await packages.checkUpload(ref, { declaredSize: declared !== undefined ? Number(declared) : undefined, ownerName: owner.name, quotaExempt })
    sendContinue(req, reply)
    await packages.addFile({
      // Fastify skips the parser for a body it knows is empty; the raw request is that empty body.
      ...ref, creatorId: req.actor!.userId, by: auditBy(req), body: (req.body as Readable | undefined) ?? req.raw, expected,
      ownerName: owner.name, quotaExempt,
      declaredSize: declared !== undefined && /^\d+$/.test(declared) ? Number(declared) : undefined,
    })
    return reply.code(201).send()
  })

  // HEAD is declared here rather than left to exposeHeadRoutes, whose handler would reset
  // Content-Length to 0; sendBlob leaves the body out.
  app.route<{ Params: FileParams }>({ method: ['GET', 'HEAD'], url: '/:name/:version/:file', handler: async (req, reply) => {
    const owner = await access.require(req.actor, req.params.owner, 'read')
    const ref = { ownerId: owner.id, type: TYPE, name: req.params.name, version: req.params.version, file: req.params.file }
    if (!isValidRef(ref)) throw notFound(`file ${ref.file}`)
    return sendFile(req, reply, packages, ref)
  } })

  // `latest` (issue 11): 302 to the same file in the latest version; a version literally named
  // `latest` is served as itself, as Gitea does.
  app.route<{ Params: Omit<FileParams, 'version'> }>({ method: ['GET', 'HEAD'], url: '/:name/latest/:file', handler: async (req, reply) => {
    const owner = await access.require(req.actor, req.params.owner, 'read')
    const ref = { ownerId: owner.id, type: TYPE, name: req.params.name, version: 'latest', file: req.params.file }
    if (!isValidRef(ref)) throw notFound(`file ${ref.file}`)
    if (await packages.findVersion(ref)) return sendFile(req, reply, packages, ref)
    const latest = pickLatest(await packages.listVersionsOfPackage(ref))
    if (!latest) throw notFound(`package ${ref.name}`)
    const target = { ...ref, name: latest.name, version: latest.version }
    if (!isSha256Sums(ref.file) && !(await packages.findFile(target))) throw notFound(`file ${ref.file} in ${latest.name} ${latest.version}`)
    const seg = encodeURIComponent
    const location = `${publicBase(app.services.publicUrl())}/api/packages/${seg(owner.name)}/${TYPE}/${seg(latest.name)}/${seg(latest.version)}/${seg(ref.file)}`
    return reply.code(302).header('cache-control', 'no-cache').redirect(location, 302)
  } })

  app.delete<{ Params: FileParams }>('/:name/:version/:file', async (req, reply) => {
    const owner = await access.require(req.actor, req.params.owner, 'write')
    const ref = { ownerId: owner.id, type: TYPE, name: req.params.name, version: req.params.version, file: req.params.file }
    if (!isValidRef(ref)) throw notFound(`file ${ref.file}`)
    await packages.deleteFile(ref, auditBy(req))
    return reply.code(204).send()
  })

  app.delete<{ Params: VersionParams }>('/:name/:version', async (req, reply) => {
    const owner = await access.require(req.actor, req.params.owner, 'write')
    const ref = { ownerId: owner.id, type: TYPE, name: req.params.name, version: req.params.version }
    if (!isValidRef(ref)) throw notFound(`version ${ref.version} of ${ref.name}`)
    await packages.deleteVersion(ref, auditBy(req))
    return reply.code(204).send()
  })
}

const isSha256Sums = (file: string) => file.toLowerCase() === 'sha256sums'

/** A stored file, or a version's SHA256SUMS made from its files when no file of that name was uploaded. */
async function sendFile(req: FastifyRequest, reply: FastifyReply, packages: PackageService, ref: FileRef): Promise<FastifyReply> {
  // A missing file is the common 404 (probing clients): answered without throwing.
  const file = await packages.findOpenFile(ref)
  if (!file) {
    if (!isSha256Sums(ref.file)) {
      sendError(req, reply, 404, notFoundMessage(`file ${ref.file}`))
      return reply
    }
    const v = await packages.getVersion(ref)
    await sendBlob(req, reply, sha256Sums(await packages.listFiles(v.id)), { contentType: 'text/plain; charset=utf-8' })
    return reply
  }
  const outcome = await sendBlob(req, reply, file)
  if (outcome === 'full') packages.countDownload(file.versionId)
  return reply
}

/** `sha256sum` format ("<hex>  <name>\n"), sorted by name, so `sha256sum -c SHA256SUMS` checks a folder of downloads. */
export function sha256Sums(files: readonly FileView[]): SendableBlob {
  const sorted = [...files].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  const body = Buffer.from(sorted.map((f) => `${f.sha256}  ${f.name}\n`).join(''))
  const hash = (alg: string) => createHash(alg).update(body).digest('hex')
  return {
    name: 'SHA256SUMS', size: body.length, md5: hash('md5'), sha1: hash('sha1'), sha256: hash('sha256'), sha512: hash('sha512'),
    createdUnix: Math.max(0, ...files.map((f) => f.createdUnix)),
    open: async (range) => (range ? body.subarray(range.start, range.end + 1) : body),
  }
}

function expectedChecksums(req: FastifyRequest): ExpectedChecksums {
  const h = (name: string) => {
    const v = req.headers[name]
    return typeof v === 'string' ? v : undefined
  }
  return { md5: h('x-checksum-md5'), sha1: h('x-checksum-sha1'), sha256: h('x-checksum-sha256'), sha512: h('x-checksum-sha512') }
}
