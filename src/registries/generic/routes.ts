// Generic registry: /api/packages/{owner}/generic/{name}/{version}/{file} (docs/http.md "Generic").
// Every check (credentials, scope, owner, access, names, duplicate, declared size) runs before the
// upload body is read; only then does the client get its 100 Continue.
import type { FastifyPluginAsync, FastifyRequest } from 'fastify'
import type { Readable } from 'node:stream'
import { conflict, notFound, tooLarge } from '../../errors.js'
import { sendContinue } from '../../http/expect-continue.js'
import { sendBlob } from '../../http/send-blob.js'
import { auditBy } from '../../http/audit-by.js'
import { checkChecksumFormat, type ExpectedChecksums } from '../../packages/upload.js'
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
  app.addHook('onSend', async (req, reply) => {
    if (req.method === 'PUT' && reply.statusCode >= 400 && !req.raw.complete) reply.header('connection', 'close')
  })

  app.put<{ Params: FileParams }>('/:name/:version/:file', { config: { deferContinue: true } }, async (req, reply) => {
    const owner = await access.require(req.actor, req.params.owner, 'write')
    const ref = { ownerId: owner.id, type: TYPE, name: req.params.name, version: req.params.version, file: req.params.file }
    validateRef(ref)
    const expected = expectedChecksums(req)
    checkChecksumFormat(expected)
    if (await packages.findFile(ref)) throw conflict(`file ${ref.file} already exists in ${ref.name} ${ref.version}`)
    const limit = packages.limitFor(TYPE)
    const declared = req.headers['content-length']
    if (limit !== undefined && declared !== undefined && Number(declared) > limit) {
      throw tooLarge(`the file is larger than the limit of ${limit} bytes`)
    }
    sendContinue(req, reply)
    await packages.addFile({
      // Fastify skips the parser for a body it knows is empty; the raw request is that empty body.
      ...ref, creatorId: req.actor!.userId, by: auditBy(req), body: (req.body as Readable | undefined) ?? req.raw, expected,
    })
    return reply.code(201).send()
  })

  // HEAD is declared here rather than left to exposeHeadRoutes, whose handler would reset
  // Content-Length to 0; sendBlob leaves the body out.
  app.route<{ Params: FileParams }>({ method: ['GET', 'HEAD'], url: '/:name/:version/:file', handler: async (req, reply) => {
    const owner = await access.require(req.actor, req.params.owner, 'read')
    const ref = { ownerId: owner.id, type: TYPE, name: req.params.name, version: req.params.version, file: req.params.file }
    if (!isValidRef(ref)) throw notFound(`file ${ref.file}`)
    const file = await packages.openFile(ref)
    const outcome = await sendBlob(req, reply, file)
    if (outcome === 'full') packages.countDownload(file.versionId)
    return reply
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

function expectedChecksums(req: FastifyRequest): ExpectedChecksums {
  const h = (name: string) => {
    const v = req.headers[name]
    return typeof v === 'string' ? v : undefined
  }
  return { md5: h('x-checksum-md5'), sha1: h('x-checksum-sha1'), sha256: h('x-checksum-sha256'), sha512: h('x-checksum-sha512') }
}
