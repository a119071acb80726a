// Load generators: many small authenticated downloads over kept-alive connections, and one big
// streamed round trip whose bytes are proven by SHA-256 on both ends.
import { createHash, randomBytes } from 'node:crypto'
import http from 'node:http'
import https from 'node:https'
import { Readable, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'

export interface Response {
  status: number
  headers: http.IncomingHttpHeaders
  body: Buffer
}

/** One request with a small (buffered) answer. */
export function request(url: URL, opts: http.RequestOptions, body?: Buffer | string): Promise<Response> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, opts, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(body)
  })
}

export interface RpsOptions {
  url: URL
  headers: http.OutgoingHttpHeaders
  expected: Buffer
  connections: number
  warmupMs: number
  maxMs: number
  maxRequests: number
  /**
   * WHARF_STORAGE_SERVE_DIRECT=true: every answer must be a 307 to a presigned URL, which is not
   * followed (that would measure the S3 endpoint, not Wharf); `expected` is then not compared.
   */
  redirects?: boolean
}

export interface RpsResult {
  /** Right answers counted in the measured window (after the warm-up). */
  requests: number
  seconds: number
  rps: number
  /** Every answer, warm-up included (CPU per request divides by this). */
  allRequests: number
  /** Wrong answers or errors, warm-up included. */
  failures: number
  firstFailure?: string
  p50Ms: number
  p99Ms: number
}

/**
 * `connections` workers each keep one request in flight on a kept-alive socket. Requests that end
 * during the warm-up are not counted; the measured window ends at `maxMs` or `maxRequests`.
 */
export async function measureRps(o: RpsOptions): Promise<RpsResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: o.connections, maxFreeSockets: o.connections })
  const latencies = new Float64Array(o.maxRequests + o.connections)
  let counted = 0
  let all = 0
  let failures = 0
  let firstFailure: string | undefined
  let measuring = false
  let stop = false
  let measureStart = 0

  const once = () => new Promise<void>((resolve) => {
    const t0 = performance.now()
    all++
    // A wrong answer counts even during the warm-up: every response must be right, not just most.
    const fail = (why: string) => {
      failures++
      firstFailure ??= why
      resolve()
    }
    const req = http.get(o.url, { agent, headers: o.headers }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('error', (err) => fail(err.message))
      res.on('end', () => {
        const body = Buffer.concat(chunks)
        if (o.redirects) {
          if (res.statusCode !== 307) return fail(`status ${res.statusCode}, expected a 307 (serve-direct)`)
          if (!/^https?:\/\//.test(res.headers.location ?? '')) return fail(`307 without an http(s) Location: ${String(res.headers.location)}`)
        } else {
          if (res.statusCode !== 200) return fail(`status ${res.statusCode}`)
          if (!body.equals(o.expected)) return fail(`body of ${body.length} bytes differs from the ${o.expected.length} uploaded`)
        }
        if (!measuring) return resolve()
        if (counted < latencies.length) latencies[counted] = performance.now() - t0
        counted++
        resolve()
      })
    })
    req.on('error', (err) => fail(err.message))
  })

  const worker = async () => {
    while (!stop) {
      await once()
      if (measuring && (counted + failures >= o.maxRequests || performance.now() - measureStart >= o.maxMs)) stop = true
    }
  }
  const workers = Array.from({ length: o.connections }, worker)
  await new Promise((resolve) => setTimeout(resolve, o.warmupMs))
  measuring = true
  measureStart = performance.now()
  await Promise.all(workers)
  const seconds = (performance.now() - measureStart) / 1000
  agent.destroy()

  const sorted = latencies.slice(0, Math.min(counted, latencies.length)).sort()
  const pct = (p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]! : 0)
  return {
    requests: counted, allRequests: all, seconds, rps: counted / seconds, failures, firstFailure,
    p50Ms: round2(pct(0.5)), p99Ms: round2(pct(0.99)),
  }
}

const CHUNK = 256 * 1024

/**
 * `size` bytes made on the fly, chunk by chunk, so the client never holds the file: random bytes
 * (nothing on the way can compress them) stamped with the chunk number so no two chunks are equal.
 */
function* generate(size: number, hash: ReturnType<typeof createHash>): Generator<Buffer> {
  const base = randomBytes(CHUNK)
  for (let offset = 0, n = 0; offset < size; offset += CHUNK, n++) {
    const chunk = Buffer.allocUnsafe(Math.min(CHUNK, size - offset))
    base.copy(chunk, 0, 0, chunk.length)
    if (chunk.length >= 8) chunk.writeBigUInt64BE(BigInt(n), 0)
    hash.update(chunk)
    yield chunk
  }
}

export interface Transfer {
  bytes: number
  seconds: number
  mbPerSecond: number
  sha256: string
}

/** PUTs `size` generated bytes with a Content-Length; resolves once the server answered 201. */
export async function uploadBig(url: URL, headers: http.OutgoingHttpHeaders, size: number): Promise<Transfer> {
  const hash = createHash('sha256')
  const t0 = performance.now()
  const req = http.request(url, { method: 'PUT', headers: { ...headers, 'content-type': 'application/octet-stream', 'content-length': size } })
  const answered = new Promise<http.IncomingMessage>((resolve, reject) => {
    req.once('response', resolve)
    req.once('error', reject)
  })
  // An early refusal ends the request; the answer says why, so wait for it rather than the pipe.
  const sent = pipeline(Readable.from(generate(size, hash)), req).catch(() => {})
  const res = await answered
  const text = await new Promise<string>((resolve) => {
    let s = ''
    res.setEncoding('utf8')
    res.on('data', (c: string) => { s += c })
    res.on('end', () => resolve(s))
  })
  await sent
  const seconds = (performance.now() - t0) / 1000
  if (res.statusCode !== 201) throw new Error(`upload answered ${res.statusCode}: ${text.trim()}`)
  return { bytes: size, seconds, mbPerSecond: size / 1e6 / seconds, sha256: hash.digest('hex') }
}

export interface Download extends Transfer {
  /** 'wharf': the bytes came through the server; 'redirect': a 307 sent them from a presigned URL. */
  via: 'wharf' | 'redirect'
}

function get(url: URL, headers: http.OutgoingHttpHeaders): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = (url.protocol === 'https:' ? https : http).get(url, { headers }, resolve)
    req.once('error', reject)
  })
}

/**
 * GETs a file, hashing it as it streams by; checks status, length and Wharf's own checksum header.
 * With `redirect` Wharf must answer 307 (WHARF_STORAGE_SERVE_DIRECT=true): the checksum is taken from
 * that answer and the bytes from its Location, fetched without Wharf's credentials (the URL is
 * presigned). The time includes the redirect.
 */
export async function downloadBig(url: URL, headers: http.OutgoingHttpHeaders, size: number, redirect = false): Promise<Download> {
  const hash = createHash('sha256')
  let bytes = 0
  const t0 = performance.now()
  const first = await get(url, headers)
  const expectedStatus = redirect ? 307 : 200
  if (first.statusCode !== expectedStatus) {
    first.resume()
    throw new Error(`download answered ${first.statusCode}, expected ${expectedStatus}${redirect ? ' (a redirect to the presigned URL)' : ''}`)
  }
  const checksum = first.headers['x-checksum-sha256']
  let res = first
  if (redirect) {
    first.resume()
    const location = first.headers.location
    if (!location) throw new Error('the 307 has no Location')
    res = await get(new URL(location), {})
    if (res.statusCode !== 200) {
      res.resume()
      throw new Error(`the presigned URL answered ${res.statusCode}`)
    }
  }
  await pipeline(res, new Writable({
    write(chunk: Buffer, _enc, cb) {
      bytes += chunk.length
      hash.update(chunk)
      cb()
    },
  }))
  const seconds = (performance.now() - t0) / 1000
  const sha256 = hash.digest('hex')
  if (bytes !== size) throw new Error(`download gave ${bytes} bytes, expected ${size}`)
  if (res.headers['content-length'] !== String(size)) throw new Error(`Content-Length ${String(res.headers['content-length'])}, expected ${size}`)
  if (checksum !== sha256) throw new Error(`X-Checksum-Sha256 ${String(checksum)} but the bytes hash to ${sha256}`)
  return { bytes, seconds, mbPerSecond: bytes / 1e6 / seconds, sha256, via: redirect ? 'redirect' : 'wharf' }
}

/** A small download, following Wharf's 307 to the presigned URL (without Wharf's credentials). */
export async function fetchSmall(url: URL, headers: http.OutgoingHttpHeaders): Promise<{ status: number; location?: string; body: Buffer }> {
  const first = await request(url, { headers })
  if (first.status !== 307 || !first.headers.location) return { status: first.status, body: first.body }
  const location = new URL(first.headers.location)
  const second = await new Promise<Buffer>((resolve, reject) => {
    (location.protocol === 'https:' ? https : http).get(location, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => (res.statusCode === 200 ? resolve(Buffer.concat(chunks)) : reject(new Error(`the presigned URL answered ${res.statusCode}`))))
      res.on('error', reject)
    }).once('error', reject)
  })
  return { status: 307, location: location.href, body: second }
}

const round2 = (n: number) => Math.round(n * 100) / 100
