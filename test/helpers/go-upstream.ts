// A test upstream for the Go proxy cache: a small GOPROXY server on 127.0.0.1 serving module
// versions the test generates, recording every request, and a real checksum database beside it
// (golang.org/x/mod/sumdb: RFC 6962 tree, tlog tiles of height 8, a note signed with ed25519), so
// the go command can verify through Wharf. No internet is involved.
import http from 'node:http'
import { createHash, generateKeyPairSync, sign } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import type { AddressInfo } from 'node:net'
import { escapePath, escapeVersion } from '../../src/registries/go/module-path.js'
import { goModHash, zipHash } from '../../src/registries/go/proxy/h1.js'
import { moduleZip, zipOf } from '../http/go-helpers.js'

export interface UpstreamVersion {
  info: Buffer
  mod: Buffer
  zip: Buffer
  /** Left out of @v/list (a version only reachable by name). */
  unlisted?: boolean
}

export interface TestUpstream {
  /** The GOPROXY base URL. */
  url: string
  /** The checksum database's URL and the verifier key for GOSUMDB ("name+hash+key"). */
  sumdbUrl: string
  sumdbName: string
  sumdbKey: string
  /** Every request path, in order. */
  requests: string[]
  /** Sets a version; its checksums go into the checksum database unless `noSum`. */
  add(module: string, version: string, v: Partial<UpstreamVersion> & { goMod?: string; files?: Record<string, string>; time?: Date; noSum?: boolean }): Promise<void>
  /** Answers of the GOPROXY side held until release() (singleflight tests). */
  hold(): void
  release(): void
  /** Every answer becomes this status (an upstream that is down but still listening). */
  failWith(status: number | undefined): void
  count(suffix: string): number
  stop(): Promise<void>
}

interface Mod { versions: Map<string, UpstreamVersion> }

export async function startTestUpstream(t: { after(fn: () => Promise<void>): void }, sumdbName = 'sum.wharf.test'): Promise<TestUpstream> {
  const modules = new Map<string, Mod>()
  const requests: string[] = []
  let held: Array<() => void> | undefined
  let failing: number | undefined
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'wharf-upstream-'))
  const db = new ChecksumDb(sumdbName)

  const server = http.createServer((req, res) => {
    const url = req.url ?? '/'
    requests.push(url)
    const answer = () => {
      if (failing !== undefined) return send(res, failing, 'upstream failure\n')
      if (url.startsWith('/sumdb-server/')) return db.serve(url.slice('/sumdb-server/'.length), res)
      const m = /^\/(.+?)\/@(v\/list|latest|v\/(.+)\.(info|mod|zip))$/.exec(url)
      const mod = m ? [...modules].find(([p]) => escapePath(p) === m[1])?.[1] : undefined
      if (!m || !mod) return send(res, 404, 'not found\n')
      if (m[2] === 'v/list') {
        return send(res, 200, [...mod.versions].filter(([, v]) => !v.unlisted).map(([v]) => `${v}\n`).join(''))
      }
      if (m[2] === 'latest') {
        const versions = [...mod.versions.keys()].sort()
        const last = mod.versions.get(versions[versions.length - 1]!)!
        return send(res, 200, last.info)
      }
      const v = [...mod.versions].find(([ver]) => escapeVersion(ver) === m[3])?.[1]
      if (!v) return send(res, 404, 'not found\n')
      return send(res, 200, v[m[4] as 'info' | 'mod' | 'zip'])
    }
    if (held && !url.startsWith('/sumdb-server/')) held.push(answer)
    else answer()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  let stopped = false
  const stop = async () => {
    if (stopped) return
    stopped = true
    held?.forEach((f) => f())
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }
  t.after(async () => {
    await stop()
    await rm(tmp, { recursive: true, force: true })
  })

  return {
    url,
    sumdbUrl: `${url}/sumdb-server`,
    sumdbName,
    sumdbKey: db.verifierKey,
    requests,
    async add(module, version, v) {
      const goMod = v.goMod ?? `module ${module}\n\ngo 1.19\n`
      const files = Object.entries(v.files ?? {}).map(([n, c]) => [`${module}@${version}/${n}`, c] as const)
      const zip = v.zip ?? (v.files ? await zipOf([[`${module}@${version}/go.mod`, goMod], ...files]) : await moduleZip(module, version, { goMod }))
      const mod = v.mod ?? Buffer.from(goMod)
      const info = v.info ?? Buffer.from(JSON.stringify({ Version: version, Time: (v.time ?? new Date('2024-01-02T03:04:05Z')).toISOString().replace(/\.\d{3}Z$/, 'Z') }))
      let m = modules.get(module)
      if (!m) modules.set(module, m = { versions: new Map() })
      m.versions.set(version, { info, mod, zip, unlisted: v.unlisted })
      if (!v.noSum) {
        const file = path.join(tmp, `${createHash('sha256').update(`${module}@${version}`).digest('hex')}.zip`)
        await writeFile(file, zip)
        // A broken zip (a test of refusals) has no hash to record.
        const h1 = await zipHash(file).catch(() => undefined)
        if (h1) db.add(`${module} ${version} ${h1}\n${module} ${version}/go.mod ${goModHash(mod)}\n`, module, version)
      }
    },
    hold() {
      held ??= []
    },
    release() {
      const h = held ?? []
      held = undefined
      h.forEach((f) => f())
    },
    failWith(status) {
      failing = status
    },
    count: (suffix) => requests.filter((r) => r.endsWith(suffix)).length,
    stop,
  }
}

function send(res: http.ServerResponse, status: number, body: string | Buffer): void {
  res.writeHead(status, { 'content-type': 'application/octet-stream', 'content-length': Buffer.byteLength(body) })
  res.end(body)
}

/** A checksum database as golang.org/x/mod/sumdb serves one, for a tree of fewer than 256 records. */
class ChecksumDb {
  private readonly records: string[] = []
  private readonly ids = new Map<string, number>()
  private readonly key = generateKeyPairSync('ed25519')
  readonly verifierKey: string
  private readonly keyHash: Buffer

  constructor(private readonly name: string) {
    const pub = this.key.publicKey.export({ format: 'der', type: 'spki' }).subarray(-32)
    const keyBytes = Buffer.concat([Buffer.from([1]), pub])          // algorithm 1 = Ed25519
    this.keyHash = createHash('sha256').update(Buffer.concat([Buffer.from(`${name}\n`), keyBytes])).digest().subarray(0, 4)
    this.verifierKey = `${name}+${this.keyHash.toString('hex')}+${keyBytes.toString('base64')}`
  }

  add(record: string, module: string, version: string): void {
    this.ids.set(`${module}@${version}`, this.records.length)
    this.records.push(record)
  }

  private leaf(i: number): Buffer {
    return createHash('sha256').update(Buffer.concat([Buffer.from([0]), Buffer.from(this.records[i]!)])).digest()
  }

  /** RFC 6962 tree hash of leaves [lo, hi). */
  private treeHash(lo: number, hi: number): Buffer {
    if (hi - lo === 1) return this.leaf(lo)
    let k = 1
    while (k * 2 < hi - lo) k *= 2
    return createHash('sha256').update(Buffer.concat([Buffer.from([1]), this.treeHash(lo, lo + k), this.treeHash(lo + k, hi)])).digest()
  }

  private signedTree(): string {
    const n = this.records.length
    const text = `go.sum database tree\n${n}\n${this.treeHash(0, n).toString('base64')}\n`
    const sig = sign(null, Buffer.from(text), this.key.privateKey)
    return `${text}\n— ${this.name} ${Buffer.concat([this.keyHash, sig]).toString('base64')}\n`
  }

  serve(p: string, res: http.ServerResponse): void {
    const n = this.records.length
    if (n >= 256) return send(res, 500, 'test checksum database holds fewer than 256 records\n')
    if (p === 'latest') return send(res, 200, this.signedTree())
    const lookup = /^lookup\/(.+)$/.exec(p)
    if (lookup) {
      const id = [...this.ids].find(([mv]) => { const at = mv.lastIndexOf('@'); return `${escapePath(mv.slice(0, at))}@${escapeVersion(mv.slice(at + 1))}` === lookup[1] })?.[1]
      if (id === undefined) return send(res, 404, 'not found\n')
      return send(res, 200, `${id}\n${this.records[id]}\n${this.signedTree()}`)
    }
    // Only tile 000 of level 0 (hashes) or data exists below 256 records, as a partial tile.
    const tile = /^tile\/8\/(0|data)\/000\.p\/(\d+)$/.exec(p)
    if (tile && Number(tile[2]) >= 1 && Number(tile[2]) <= n) {
      const w = Number(tile[2])
      const body = tile[1] === 'data'
        ? Buffer.from(this.records.slice(0, w).join(''))
        : Buffer.concat(Array.from({ length: w }, (_, i) => this.leaf(i)))
      return send(res, 200, body)
    }
    return send(res, 404, 'not found\n')
  }
}
