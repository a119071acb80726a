// Helpers for the Go registry tests: module zips built in memory with yazl, and upload/read calls.
import { buffer } from 'node:stream/consumers'
import { zipBytes, type ZipEntry } from '../helpers/zip-bytes.js'
import { request, type RawResponse } from './generic-helpers.js'
import { zerosZipStream } from '../helpers/zeros-zip.js'

export type { ZipEntry }

export const zipOf = (entries: readonly ZipEntry[], opts: { compress?: boolean } = {}): Promise<Buffer> => zipBytes(entries, opts)

/** A module zip with a go.mod and one Go file whose content says which version it is. */
export function moduleZip(module: string, version: string, opts: { goMod?: string | false; extra?: ZipEntry[] } = {}): Promise<Buffer> {
  const p = `${module}@${version}/`
  const entries: ZipEntry[] = [[`${p}lib.go`, `package lib\n\nconst Version = "${version}"\n`]]
  if (opts.goMod !== false) entries.unshift([`${p}go.mod`, opts.goMod ?? `module ${module}\n\ngo 1.19\n`])
  return zipOf([...entries, ...(opts.extra ?? [])])
}

/** A zip with one file of `size` zero bytes: a few hundred KiB per 500 MiB. */
export function zerosZip(name: string, size: number): Promise<Buffer> {
  return buffer(zerosZipStream(name, size))
}

export interface GoClient {
  upload(zip: Buffer, auth?: string, extra?: Record<string, string>): Promise<RawResponse>
  get(path: string, auth?: string, headers?: Record<string, string>): Promise<RawResponse & { sha256: string }>
  head(path: string, auth?: string): Promise<RawResponse>
}

/** Calls on /api/packages/{owner}/go; `path` is what follows, already escaped as the go command sends it. */
export function goClient(baseUrl: string, owner: string): GoClient {
  const base = `${baseUrl}/api/packages/${owner}/go`
  const h = (auth?: string, extra: Record<string, string> = {}) => (auth ? { authorization: auth, ...extra } : extra)
  return {
    upload: (zip, auth, extra) => request({ method: 'PUT', url: `${base}/upload`, headers: h(auth, extra), body: zip }),
    get: (path, auth, headers) => request({ method: 'GET', url: `${base}/${path}`, headers: h(auth, headers) }),
    head: (path, auth) => request({ method: 'HEAD', url: `${base}/${path}`, headers: h(auth) }),
  }
}
