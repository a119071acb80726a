// Sends a stored file: HEAD, single Range (206/416), conditional requests (304), ETag = "<sha256>",
// checksum headers, and a Content-Disposition that survives any file name. Shared by every
// registry type (the Go registry's .zip goes through here too).
// RFC 9110 §13 (conditional requests) and §14 (ranges).
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Readable } from 'node:stream'
import { blobKey, type BlobStore, type ByteRange } from '../storage/blobs/blob-store.js'

export interface SendableBlob {
  readonly name: string
  readonly size: number
  readonly md5: string
  readonly sha1: string
  readonly sha256: string
  readonly sha512: string
  /** Upload time, seconds: Last-Modified. */
  readonly createdUnix: number
  open(range?: ByteRange): Promise<Readable | Buffer>
}

/** What was sent: only 'full' counts as a download. */
export type SendOutcome = 'full' | 'partial' | 'head' | 'not-modified' | 'unsatisfiable'

export interface SendBlobOptions {
  contentType?: string
}

/** Lifetime of the presigned URL a 307 of WHARF_STORAGE_SERVE_DIRECT=true points at. */
export const PRESIGN_SECONDS = 300
/** The nginx `internal` location WHARF_STORAGE_SERVE_DIRECT=x-accel redirects into (README shows the block). */
export const X_ACCEL_PREFIX = '/_wharf_blobs/'

export async function sendBlob(req: FastifyRequest, reply: FastifyReply, blob: SendableBlob, opts: SendBlobOptions = {}): Promise<SendOutcome> {
  const etag = `"${blob.sha256}"`
  const lastModified = new Date(blob.createdUnix * 1000).toUTCString()
  reply.headers({
    'content-type': opts.contentType ?? 'application/octet-stream',
    'x-content-type-options': 'nosniff',
    'accept-ranges': 'bytes',
    'content-disposition': contentDisposition(blob.name),
    'last-modified': lastModified,
    etag,
    'cache-control': 'private, max-age=300',
    'x-checksum-md5': blob.md5,
    'x-checksum-sha1': blob.sha1,
    'x-checksum-sha256': blob.sha256,
    'x-checksum-sha512': blob.sha512,
  })

  if (notModified(req, etag, blob.createdUnix)) {
    reply.code(304).send()
    return 'not-modified'
  }

  const head = req.method === 'HEAD'
  const range = rangeFor(req, etag, blob.createdUnix, blob.size)
  // WHARF_STORAGE_SERVE_DIRECT: the bytes of a GET come from the store (or nginx), never through here;
  // everything before this point (access, 304) and HEAD are still answered by Wharf.
  const direct = req.server.services.config.serveDirect
  const blobs: BlobStore = req.server.services.blobs
  const key = blobKey(blob.sha256)
  // A small blob kept in the database has no URL or file nginx could serve: it is sent from here.
  if (direct !== 'off' && !head && range !== 'unsatisfiable' && !(await blobs.isInline?.(key, blob.size))) {
    if (direct === 'redirect' && blobs.presign) {
      const location = await blobs.presign(key, {
        expiresInSeconds: PRESIGN_SECONDS, contentDisposition: contentDisposition(blob.name),
        contentType: opts.contentType ?? 'application/octet-stream',
      })
      // The redirect itself must not outlive the URL it points at.
      reply.code(307).header('location', location).header('cache-control', 'private, no-store').send()
      return range ? 'partial' : 'full'
    }
    if (direct === 'x-accel' && blobs.relativePath) {
      // nginx serves the file (and the Range) from its internal location; it keeps Content-Type,
      // Content-Disposition, Accept-Ranges and Cache-Control of this answer, the block adds the rest.
      reply.code(200).header('x-accel-redirect', `${X_ACCEL_PREFIX}${blobs.relativePath(key)}`).send('')
      return range ? 'partial' : 'full'
    }
  }
  if (range === 'unsatisfiable') {
    reply.removeHeader('content-disposition')
    reply.code(416).header('content-range', `bytes */${blob.size}`).type('text/plain; charset=utf-8')
      .send('requested range not satisfiable\n')
    return 'unsatisfiable'
  }
  if (range) {
    reply.code(206).header('content-range', `bytes ${range.start}-${range.end}/${blob.size}`)
      .header('content-length', String(range.end - range.start + 1))
    if (head) {
      reply.send()
      return 'head'
    }
    reply.send(await blob.open(range))
    return 'partial'
  }
  reply.code(200).header('content-length', String(blob.size))
  if (head || blob.size === 0) {
    reply.send(head ? undefined : '')
    return head ? 'head' : 'full'
  }
  reply.send(await blob.open())
  return 'full'
}

function notModified(req: FastifyRequest, etag: string, createdUnix: number): boolean {
  const inm = req.headers['if-none-match']
  if (typeof inm === 'string') return etagMatches(inm, etag)
  const ims = req.headers['if-modified-since']
  if (typeof ims === 'string') {
    const t = Date.parse(ims)
    return !Number.isNaN(t) && createdUnix * 1000 <= t
  }
  return false
}

/** Weak comparison (RFC 9110 §8.8.3.2), as If-None-Match requires. */
function etagMatches(header: string, etag: string): boolean {
  if (header.trim() === '*') return true
  return header.split(',').some((t) => t.trim().replace(/^W\//, '') === etag)
}

/** The single range to send, undefined for the whole file (no/ignored Range), or 'unsatisfiable'. */
function rangeFor(req: FastifyRequest, etag: string, createdUnix: number, size: number): ByteRange | 'unsatisfiable' | undefined {
  const header = req.headers.range
  if (typeof header !== 'string') return undefined
  const ifRange = req.headers['if-range']
  if (typeof ifRange === 'string') {
    const stillValid = ifRange.startsWith('"') || ifRange.startsWith('W/')
      ? ifRange.trim() === etag
      : Date.parse(ifRange) >= createdUnix * 1000
    if (!stillValid) return undefined
  }
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header)
  // Several ranges or another unit: answering with the whole file is allowed and simplest.
  if (!m || (m[1] === '' && m[2] === '')) return undefined
  if (m[1] === '') {
    const suffix = Number(m[2])
    if (suffix === 0 || size === 0) return 'unsatisfiable'
    return { start: Math.max(0, size - suffix), end: size - 1 }
  }
  const start = Number(m[1])
  let end = m[2] === '' ? size - 1 : Number(m[2])
  if (m[2] !== '' && end < start) return undefined
  if (start >= size) return 'unsatisfiable'
  if (end >= size) end = size - 1
  return { start, end }
}

/** RFC 6266: an ASCII fallback plus the exact name in RFC 8187 encoding. */
export function contentDisposition(name: string): string {
  const fallback = name.replace(/[^\x20-\x7e]|["\\]/g, '_')
  const encoded = encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
  return `attachment; filename="${fallback}"; filename*=UTF-8''${encoded}`
}
