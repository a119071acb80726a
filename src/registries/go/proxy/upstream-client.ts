// HTTP GETs to the upstream proxies and checksum databases: a timeout on the headers and on every
// pause between body chunks, a size cap on every answer, no credentials of our clients ever sent,
// and redirects followed only to the upstream's own origin or to public addresses (an upstream's
// answer is module data: it must not steer Wharf into the private network).
import { lookup } from 'node:dns/promises'
import { BlockList, isIP } from 'node:net'
import { Readable } from 'node:stream'
import type { ReadableStream as WebReadableStream } from 'node:stream/web'
import { WharfError } from '../../../errors.js'
import { spoolUpload, type SpooledUpload } from '../../../packages/upload.js'
import type { UpstreamProxy } from './settings.js'

/** An upstream did not give a usable answer. `missing` = it said 404/410 (the module or version is not there). */
export class UpstreamError extends Error {
  override readonly name = 'UpstreamError'
  constructor(message: string, readonly missing: boolean, readonly status?: number, options?: ErrorOptions) {
    super(message, options)
  }
}

export interface UpstreamClientOptions {
  readonly timeoutMs: number
  readonly tmpDir: string
  readonly userAgent?: string
}

const MAX_REDIRECTS = 5

export class UpstreamClient {
  /** Upstream requests made, by URL path (tests and metrics read it). */
  requests = 0

  constructor(private readonly opts: UpstreamClientOptions) {}

  /** A small answer, whole, at most maxBytes. 404/410 → UpstreamError with missing = true. */
  async getBytes(url: string, maxBytes: number): Promise<Buffer> {
    return this.#get(url, async (body, touch) => {
      const chunks: Buffer[] = []
      let size = 0
      for await (const chunk of body as AsyncIterable<Buffer>) {
        touch()
        size += chunk.length
        if (size > maxBytes) throw new UpstreamError(`${redactUrl(url)}: answer larger than ${maxBytes} bytes`, false)
        chunks.push(chunk)
      }
      return Buffer.concat(chunks)
    })
  }

  /** A large answer spooled to a temp file with its checksums; the caller removes the file. */
  async getFile(url: string, maxBytes: number): Promise<SpooledUpload> {
    return this.#get(url, async (body, touch) => {
      const counted = Readable.from((async function* () {
        for await (const chunk of body as AsyncIterable<Buffer>) {
          touch()
          yield chunk
        }
      })())
      try {
        return await spoolUpload(counted, this.opts.tmpDir, maxBytes)
      } catch (err) {
        if (err instanceof WharfError && err.kind === 'too_large') throw new UpstreamError(`${redactUrl(url)}: answer larger than ${maxBytes} bytes`, false)
        throw err
      }
    })
  }

  async #get<T>(rawUrl: string, read: (body: Readable, touch: () => void) => Promise<T>): Promise<T> {
    const first = new URL(rawUrl)
    let url = first
    const abort = new AbortController()
    let timer: NodeJS.Timeout | undefined
    const touch = () => {
      clearTimeout(timer)
      timer = setTimeout(() => abort.abort(new Error(`no answer within ${this.opts.timeoutMs} ms`)), this.opts.timeoutMs)
    }
    try {
      for (let hop = 0; ; hop++) {
        touch()
        this.requests++
        const headers: Record<string, string> = { 'user-agent': this.opts.userAgent ?? 'Wharf-Go-Proxy' }
        // Credentials in the operator's URL go to that origin only, as a header (fetch refuses them in URLs).
        if (url.origin === first.origin && (first.username !== '' || first.password !== '')) {
          headers.authorization = `Basic ${Buffer.from(`${decodeURIComponent(first.username)}:${decodeURIComponent(first.password)}`).toString('base64')}`
        }
        const target = new URL(url)
        target.username = ''
        target.password = ''
        let res: Response
        try {
          res = await fetch(target, { headers, redirect: 'manual', signal: abort.signal })
        } catch (err) {
          throw new UpstreamError(`${redactUrl(url.toString())}: ${abort.signal.aborted ? String(abort.signal.reason) : describe(err)}`, false, undefined, { cause: err })
        }
        if (res.status >= 300 && res.status < 400 && res.headers.get('location')) {
          await res.body?.cancel().catch(() => {})
          if (hop >= MAX_REDIRECTS) throw new UpstreamError(`${redactUrl(rawUrl)}: too many redirects`, false)
          const next = new URL(res.headers.get('location')!, url)
          if (next.protocol !== 'http:' && next.protocol !== 'https:') throw new UpstreamError(`${redactUrl(rawUrl)}: redirect to ${next.protocol}`, false)
          if (next.origin !== first.origin && await isPrivateHost(next.hostname)) {
            throw new UpstreamError(`${redactUrl(rawUrl)}: refusing a redirect to the private address ${next.host}`, false)
          }
          url = next
          continue
        }
        if (res.status !== 200) {
          const text = await readSome(res)
          const missing = res.status === 404 || res.status === 410
          throw new UpstreamError(`${redactUrl(url.toString())}: ${res.status}${text ? ` ${text}` : ''}`, missing, res.status)
        }
        if (!res.body) return await read(Readable.from([]), touch)
        const body = Readable.fromWeb(res.body as unknown as WebReadableStream)
        try {
          return await read(body, touch)
        } catch (err) {
          body.destroy()
          if (err instanceof UpstreamError) throw err
          if (abort.signal.aborted) throw new UpstreamError(`${redactUrl(url.toString())}: ${String(abort.signal.reason)}`, false, undefined, { cause: err })
          if (err instanceof WharfError) throw err
          throw new UpstreamError(`${redactUrl(url.toString())}: ${describe(err)}`, false, undefined, { cause: err })
        }
      }
    } finally {
      clearTimeout(timer)
    }
  }
}

/**
 * Tries the proxies in order, as the go command does: on to the next one after a 404/410, or after
 * any error when the list said `|`. The last error is thrown when none answered.
 */
export async function firstAnswer<T>(proxies: readonly UpstreamProxy[], get: (base: string) => Promise<T>): Promise<T> {
  let last: unknown
  for (const p of proxies) {
    try {
      return await get(p.url)
    } catch (err) {
      last = err
      const missing = err instanceof UpstreamError && err.missing
      if (!missing && !p.fallBackOnError) throw err
    }
  }
  throw last instanceof Error ? last : new UpstreamError('no upstream proxy is configured', true)
}

async function readSome(res: Response): Promise<string> {
  try {
    const text = (await res.text()).slice(0, 300)
    return text.replace(/\p{Cc}+/gu, ' ').trim()
  } catch {
    return ''
  }
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const cause = err.cause instanceof Error ? `: ${err.cause.message}` : ''
    return `${err.message}${cause}`
  }
  return String(err)
}

/** The URL without its credentials, for messages and logs. */
export function redactUrl(url: string): string {
  return url.replace(/^(\w+:\/\/)[^@/]*@/, '$1')
}

const privateRanges = new BlockList()
for (const [net, bits] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) privateRanges.addSubnet(net, bits, 'ipv4')
for (const [net, bits] of [['::', 128], ['::1', 128], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8]] as const) privateRanges.addSubnet(net, bits, 'ipv6')

function isPrivateAddress(address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)
  if (mapped) return privateRanges.check(mapped[1]!, 'ipv4')
  return privateRanges.check(address, isIP(address) === 6 ? 'ipv6' : 'ipv4')
}

async function isPrivateHost(hostname: string): Promise<boolean> {
  const host = hostname.replace(/^\[|\]$/g, '')
  if (isIP(host)) return isPrivateAddress(host)
  if (host === 'localhost' || host.endsWith('.localhost')) return true
  try {
    const addrs = await lookup(host, { all: true })
    return addrs.length === 0 || addrs.some((a) => isPrivateAddress(a.address))
  } catch {
    return true
  }
}
