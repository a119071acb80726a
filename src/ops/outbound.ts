// Requests to URLs users give us (webhooks): loopback, private, link-local and other special
// addresses are refused unless WHARF_WEBHOOK_ALLOWED_HOSTS lists the host or a CIDR holding the
// address. The check runs on the addresses DNS returns, inside the connection's own lookup, so the
// address checked is the address connected to (no rebinding between check and connect).
import dns from 'node:dns'
import http from 'node:http'
import https from 'node:https'
import net, { BlockList } from 'node:net'

const SPECIAL_V4 = ['0.0.0.0/8', '10.0.0.0/8', '100.64.0.0/10', '127.0.0.0/8', '169.254.0.0/16', '172.16.0.0/12', '192.0.0.0/24', '192.168.0.0/16', '198.18.0.0/15', '224.0.0.0/4', '240.0.0.0/4']
const SPECIAL_V6 = ['::/128', '::1/128', 'fc00::/7', 'fe80::/10', 'ff00::/8', '64:ff9b::/96', '2001:db8::/32']

export class OutboundRefused extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'OutboundRefused'
  }
}

export class OutboundGuard {
  readonly #special = new BlockList()
  readonly #allowedNets = new BlockList()
  readonly #allowedHosts = new Set<string>()
  readonly #allowAll: boolean

  /** `allowed`: host names, IP addresses, CIDRs, or `*` (anything); `setting` names where they come from. */
  constructor(allowed: readonly string[] = [], private readonly setting = 'WHARF_WEBHOOK_ALLOWED_HOSTS') {
    for (const c of SPECIAL_V4) this.#special.addSubnet(c.split('/')[0]!, Number(c.split('/')[1]), 'ipv4')
    for (const c of SPECIAL_V6) this.#special.addSubnet(c.split('/')[0]!, Number(c.split('/')[1]), 'ipv6')
    this.#allowAll = allowed.includes('*')
    for (const a of allowed) {
      const [addr, bits] = a.split('/')
      const family = net.isIP(addr!)
      if (family) this.#allowedNets.addSubnet(addr!, bits === undefined ? (family === 4 ? 32 : 128) : Number(bits), family === 4 ? 'ipv4' : 'ipv6')
      else if (a !== '*') this.#allowedHosts.add(a.toLowerCase())
    }
  }

  /** Why `address` may not be reached for `host`, or undefined when it may. */
  refusal(host: string, address: string): string | undefined {
    if (this.#allowAll || this.#allowedHosts.has(host.toLowerCase())) return undefined
    const family: 'ipv4' | 'ipv6' = net.isIP(address) === 6 ? 'ipv6' : 'ipv4'
    const mapped = family === 'ipv6' ? /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1] : undefined
    const a = mapped ?? address
    const f: 'ipv4' | 'ipv6' = mapped ? 'ipv4' : family
    if (this.#allowedNets.check(a, f)) return undefined
    if (this.#special.check(a, f)) return `${host} resolves to ${address}, a loopback, private or link-local address (list it in ${this.setting} to allow it)`
    return undefined
  }

  /** Resolves the URL's host and throws OutboundRefused when any address is refused. */
  async check(url: URL): Promise<void> {
    const host = url.hostname.replace(/^\[|\]$/g, '')
    const addrs = net.isIP(host) ? [host] : (await dns.promises.lookup(host, { all: true })).map((a) => a.address)
    for (const a of addrs) {
      const why = this.refusal(host, a)
      if (why) throw new OutboundRefused(why)
    }
  }

  /** A dns.lookup for http.request that refuses what check() refuses. */
  readonly lookup: net.LookupFunction = (hostname, options, callback) => {
    dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, '', 4)
      const list = addresses
      for (const a of list) {
        const why = this.refusal(hostname, a.address)
        if (why) return callback(new OutboundRefused(why), '', 4)
      }
      if ((options as { all?: boolean }).all) return (callback as unknown as (e: null, a: dns.LookupAddress[]) => void)(null, list)
      callback(null, list[0]!.address, list[0]!.family)
    })
  }
}

export interface OutboundResponse { status: number; body: string; durationMs: number }

/**
 * One request with a deadline for the whole exchange (a slow or hanging receiver is cut off),
 * no redirects followed, at most 64 KiB of the answer kept.
 */
export async function outboundRequest(guard: OutboundGuard, url: URL, opts: { method: string; headers: Record<string, string>; body: string; timeoutMs: number }): Promise<OutboundResponse> {
  const host = url.hostname.replace(/^\[|\]$/g, '')
  if (net.isIP(host)) {
    const why = guard.refusal(host, host)
    if (why) throw new OutboundRefused(why)
  }
  const start = Date.now()
  const lib = url.protocol === 'https:' ? https : http
  return new Promise((resolve, reject) => {
    const req = lib.request(url, { method: opts.method, headers: { ...opts.headers, 'content-length': String(Buffer.byteLength(opts.body)) }, lookup: guard.lookup })
    const timer = setTimeout(() => req.destroy(new Error(`no complete answer within ${opts.timeoutMs} ms`)), opts.timeoutMs)
    req.on('error', (err) => {
      clearTimeout(timer)
      reject(err)
    })
    req.on('response', (res) => {
      const chunks: Buffer[] = []
      let size = 0
      res.on('data', (c: Buffer) => {
        if (size < 65536) chunks.push(c)
        size += c.length
      })
      res.on('end', () => {
        clearTimeout(timer)
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8').slice(0, 65536), durationMs: Date.now() - start })
      })
      res.on('error', (err) => {
        clearTimeout(timer)
        reject(err)
      })
    })
    req.end(opts.body)
  })
}
