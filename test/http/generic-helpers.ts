// Helpers for the Generic registry tests: raw HTTP (node:http, so tests control Content-Length,
// chunking and Expect: 100-continue) and seeded byte streams that are never held in memory whole.
import http from 'node:http'
import { createHash } from 'node:crypto'
import { readdir } from 'node:fs/promises'
import path from 'node:path'
import { Readable } from 'node:stream'

export interface RawResponse {
  status: number
  headers: http.IncomingHttpHeaders
  body: Buffer
  /** True when the server answered 100 Continue. */
  continued: boolean
  /** True when the request body was (started to be) sent. */
  bodySent: boolean
}

export interface RawRequest {
  method: string
  url: string
  headers?: Record<string, string>
  body?: Buffer | (() => Readable)
  /** Send Expect: 100-continue and hold the body until the server asks for it. */
  expectContinue?: boolean
  /** Hash the response body instead of keeping it (big downloads). */
  hashOnly?: boolean
}

export function request(opts: RawRequest): Promise<RawResponse & { sha256: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...opts.headers }
    if (Buffer.isBuffer(opts.body) && headers['content-length'] === undefined) headers['content-length'] = String(opts.body.length)
    if (opts.expectContinue) headers.expect = '100-continue'
    // Not through URL parsing: tests send paths like /../ that it would normalise away.
    const m = /^http:\/\/([^/:]+):(\d+)(\/.*)$/.exec(opts.url)
    if (!m) throw new Error(`not an http URL: ${opts.url}`)
    const req = http.request({ host: m[1], port: Number(m[2]), path: m[3], method: opts.method, headers })
    let continued = false
    let bodySent = false
    const sendBody = () => {
      if (bodySent) return
      bodySent = true
      if (opts.body === undefined) req.end()
      else if (Buffer.isBuffer(opts.body)) req.end(opts.body)
      else opts.body().on('error', reject).pipe(req)
    }
    req.on('continue', () => {
      continued = true
      sendBody()
    })
    req.on('error', reject)
    req.on('response', (res) => {
      const hash = createHash('sha256')
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => {
        hash.update(c)
        if (!opts.hashOnly) chunks.push(c)
      })
      res.on('error', reject)
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), continued, bodySent, sha256: hash.digest('hex') })
        if (!bodySent) req.destroy()
      })
    })
    if (opts.expectContinue) req.flushHeaders()
    else sendBody()
  })
}

/** A deterministic pseudo-random stream of `size` bytes (xorshift32), in 1 MiB chunks. */
export function seededStream(seed: number, size: number): Readable {
  let state = seed >>> 0 || 1
  let left = size
  return new Readable({
    read() {
      if (left === 0) {
        this.push(null)
        return
      }
      const n = Math.min(left, 1 << 20)
      const words = new Uint32Array(Math.ceil(n / 4))
      for (let i = 0; i < words.length; i++) {
        state ^= state << 13
        state ^= state >>> 17
        state ^= state << 5
        words[i] = state >>> 0
      }
      left -= n
      this.push(Buffer.from(words.buffer, 0, n))
    },
  })
}

export async function sha256Of(stream: Readable): Promise<string> {
  const h = createHash('sha256')
  for await (const c of stream) h.update(c as Buffer)
  return h.digest('hex')
}

export const sha256Hex = (b: Buffer | string) => createHash('sha256').update(b).digest('hex')

/** Every file under `dir` (recursively), relative paths; [] when it does not exist. */
export async function listFiles(dir: string): Promise<string[]> {
  try {
    const entries = await readdir(dir, { recursive: true, withFileTypes: true })
    return entries.filter((e) => e.isFile()).map((e) => path.relative(dir, path.join(e.parentPath, e.name))).sort()
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw err
  }
}
