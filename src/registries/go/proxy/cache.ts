// The Go proxy cache (issue 12, DESIGN.md "Go proxy cache"): module versions an owner does not host
// are fetched from WHARF_GO_UPSTREAM once, verified, and kept in the blob store under rows shared
// by all owners (go_proxy_version). `@v/list`, `@latest` and `.info` answers are kept in
// go_proxy_answer and reused for WHARF_GO_UPSTREAM_LIST_TTL, and served stale when the upstream
// fails. One fetch per missing version: a promise per key in this process, a lease row across
// processes and instances.
import { createHash, randomUUID } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { rm } from 'node:fs/promises'
import { Readable } from 'node:stream'
import { setTimeout as sleep } from 'node:timers/promises'
import { sql, type Kysely } from 'kysely'
import type { Database } from '../../../storage/db/schema.js'
import { blobKey, type BlobStore } from '../../../storage/blobs/blob-store.js'
import { claimForUse, putAgainIfGone } from '../../../storage/blobs/claims.js'
import type { Flavor } from '../../../storage/db/migrations/flavor.js'
import { WharfError, badGateway, notFound } from '../../../errors.js'
import { findOrInsertBlob, nowUnix } from '../../../packages/package-rows.js'
import type { GoProxyConfig } from '../../../config/config.js'
import { ModuleZipError } from '../errors.js'
import { checkModuleZip } from '../module-zip.js'
import { parseGoMod } from '../gomod.js'
import { escapePath, escapeVersion } from '../module-path.js'
import { pickLatest } from '../latest.js'
import { canonical, compare, isValid } from '../semver.js'
import { MAX_GO_MOD, MAX_ZIP_FILE } from '../zip-rules.js'
import { goModHash, zipHash } from './h1.js'
import { UpstreamClient, UpstreamError, firstAnswer } from './upstream-client.js'

const MAX_INFO = 64 * 1024
const MAX_LIST = 4 << 20
/** A tile of 2^H hashes (H ≤ 8: 8 KiB) or of as many records; generous. */
const MAX_TILE = 8 << 20
/** A lease is renewed while its fetch runs; one not renewed for this long is taken over. */
const LEASE_SECONDS = 60
const LEASE_RENEW_MS = 15_000
/** How long a version that failed verification is refused without asking again (per process). */
const FAILURE_MEMORY_MS = 60_000
/**
 * last_used_unix is written at most this often per version (a read is not a write); with a short
 * WHARF_GO_UPSTREAM_CACHE_UNUSED, a tenth of it, so that a version in use is never evicted.
 */
const TOUCH_EVERY_SECONDS = 3600
/** Cooldown: at most this many `.info` fetches to date the versions of one list. */
const MAX_INFO_FETCHES = 200

export interface BlobFacts {
  readonly id: number
  readonly size: number
  readonly md5: string
  readonly sha1: string
  readonly sha256: string
  readonly sha512: string
}

export interface CachedVersion {
  readonly module: string
  readonly version: string
  readonly infoJson: string
  readonly timeUnix: number | null
  readonly mod: BlobFacts
  readonly zip: BlobFacts
  readonly modH1: string
  readonly zipH1: string
  readonly createdUnix: number
}

export interface CachedModule {
  readonly module: string
  readonly versions: number
  readonly size: number
  readonly lastUsedUnix: number
  readonly createdUnix: number
}

export interface GoProxyCacheDeps {
  readonly db: Kysely<Database>
  readonly flavor: Flavor
  readonly blobs: BlobStore
  readonly tmpDir: string
  readonly config: GoProxyConfig
}

/** Keys of go_proxy_answer; module paths never contain spaces. */
export const answerKey = {
  list: (module: string) => `list ${module}`,
  latest: (module: string) => `latest ${module}`,
  info: (module: string, version: string) => `info ${module}@${version}`,
  sumdb: (name: string, path: string) => `sumdb ${name}/${path}`,
}

export class GoProxyCache {
  readonly client: UpstreamClient
  readonly #holder = randomUUID()
  readonly #inflight = new Map<string, Promise<unknown>>()
  readonly #failures = new Map<string, { until: number; err: WharfError }>()

  constructor(private readonly deps: GoProxyCacheDeps) {
    this.client = new UpstreamClient({ timeoutMs: deps.config.timeoutMs, tmpDir: deps.tmpDir })
  }

  get #touchEverySeconds(): number {
    const unused = this.deps.config.cacheUnusedMs
    return unused === undefined ? TOUCH_EVERY_SECONDS : Math.min(TOUCH_EVERY_SECONDS, Math.floor(unused / 10_000))
  }

  get enabled(): boolean {
    return this.deps.config.upstream.length > 0
  }

  // ---- versions: .info, .mod, .zip

  /** A version fetched and verified, from the cache or now; refused while in cooldown. */
  async version(module: string, version: string): Promise<CachedVersion> {
    if (canonical(version) !== version) throw notFound(`${module}@${version}: not a canonical version`)
    const v = await this.#cachedVersion(module, version) ?? await this.#once(`version ${module}@${version}`, () => this.#fetchVersion(module, version))
    this.#cooldown(module, version, v.timeUnix)
    return v
  }

  /** The `.info` answer; a query (`master`, `v1.2`) is passed to the upstream and not kept. */
  async info(module: string, version: string): Promise<string> {
    const isCanonical = canonical(version) === version
    if (isCanonical) {
      const v = await this.#cachedVersion(module, version)
      if (v) {
        this.#cooldown(module, version, v.timeUnix)
        return v.infoJson
      }
      const kept = await this.#answer(answerKey.info(module, version))
      if (kept) {
        const body = kept.body.toString('utf8')
        this.#cooldown(module, version, parseInfo(body).timeUnix)
        return body
      }
    }
    // A canonical version's .info under the version's lease: one fetch across instances, also when
    // its .mod and .zip are asked for at the same time (the download then reuses this .info).
    const key = `${module}@${version}`
    const body = await this.#once(`info ${key}`, () => isCanonical
      ? this.#leased(`version ${key}`, () => this.#knownInfo(module, version), () => this.#fetchInfo(module, version))
      : this.#fetchInfo(module, version))
    const info = parseInfo(body)
    this.#cooldown(module, info.version, info.timeUnix)
    return body
  }

  /** The .info of a canonical version from the cache or a kept answer, else undefined. */
  async #knownInfo(module: string, version: string): Promise<string | undefined> {
    const v = await this.#cachedVersion(module, version)
    if (v) return v.infoJson
    return (await this.#answer(answerKey.info(module, version)))?.body.toString('utf8')
  }

  /** Opens a cached blob (the .mod or .zip of a version). */
  openBlob(b: BlobFacts) {
    return this.deps.blobs.open(blobKey(b.sha256))
  }

  async #cachedVersion(module: string, version: string): Promise<CachedVersion | undefined> {
    const r = await this.#versionQuery().where('v.module_path', '=', module).where('v.version', '=', version).executeTakeFirst()
    if (!r) return undefined
    const now = nowUnix()
    const every = this.#touchEverySeconds
    if (r.last_used_unix < now - every) {
      await this.deps.db.updateTable('go_proxy_version').set({ last_used_unix: now })
        .where('id', '=', r.id).where('last_used_unix', '<', now - every).execute()
    }
    return toCached(r)
  }

  #versionQuery() {
    return this.deps.db.selectFrom('go_proxy_version as v')
      .innerJoin('package_blob as m', 'm.id', 'v.mod_blob_id')
      .innerJoin('package_blob as z', 'z.id', 'v.zip_blob_id')
      .select([
        'v.id', 'v.module_path', 'v.version', 'v.info_json', 'v.time_unix', 'v.mod_h1', 'v.zip_h1', 'v.created_unix', 'v.last_used_unix',
        'm.id as m_id', 'm.size as m_size', 'm.hash_md5 as m_md5', 'm.hash_sha1 as m_sha1', 'm.hash_sha256 as m_sha256', 'm.hash_sha512 as m_sha512',
        'z.id as z_id', 'z.size as z_size', 'z.hash_md5 as z_md5', 'z.hash_sha1 as z_sha1', 'z.hash_sha256 as z_sha256', 'z.hash_sha512 as z_sha512',
      ])
  }

  async #fetchInfo(module: string, version: string): Promise<string> {
    const path = `${escapePath(module)}/@v/${escapeVersion(version)}.info`
    const body = await this.#upstream(`${module}@${version}`, () =>
      firstAnswer(this.deps.config.upstream, (base) => this.client.getBytes(`${base}/${path}`, MAX_INFO)))
    const text = body.toString('utf8')
    const info = parseInfo(text)
    if (canonical(version) === version && info.version !== version) {
      throw badGateway(`${module}@${version}: the upstream's .info names version ${info.version}`)
    }
    if (info.version === version) await this.#keepAnswer(answerKey.info(module, version), body)
    return text
  }

  /** Under the version's lease: fetches .info, .mod and .zip from one upstream, verifies and stores them. */
  async #fetchVersion(module: string, version: string): Promise<CachedVersion> {
    const key = `${module}@${version}`
    const failed = this.#failures.get(key)
    if (failed && failed.until > Date.now()) throw failed.err
    return this.#leased(`version ${key}`, () => this.#cachedVersion(module, version), async () => {
      try {
        return await this.#download(module, version)
      } catch (err) {
        if (err instanceof WharfError && err.kind === 'bad_gateway') this.#failures.set(key, { until: Date.now() + FAILURE_MEMORY_MS, err })
        throw err
      }
    })
  }

  /**
   * `fetch` run by one holder of the lease `leaseKey` across processes and instances. Who does not
   * get the lease polls `lookup` until it finds what the holder stored, or until the lease is gone
   * (released after a failure, or expired with its holder), and then tries to take it. The holder
   * looks once more first: another instance may have finished between the caller's look and the lease.
   */
  async #leased<T>(leaseKey: string, lookup: () => Promise<T | undefined>, fetch: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + 15 * 60_000
    while (Date.now() < deadline) {
      if (await this.#takeLease(leaseKey)) {
        const renew = setInterval(() => void this.#renewLease(leaseKey).catch(() => {}), LEASE_RENEW_MS)
        try {
          return await lookup() ?? await fetch()
        } finally {
          clearInterval(renew)
          await this.deps.db.deleteFrom('go_proxy_lease').where('key', '=', leaseKey).where('holder', '=', this.#holder).execute()
        }
      }
      while (Date.now() < deadline) {
        await sleep(200)
        const done = await lookup()
        if (done !== undefined) return done
        const lease = await this.deps.db.selectFrom('go_proxy_lease').select('expires_unix').where('key', '=', leaseKey).executeTakeFirst()
        if (!lease || lease.expires_unix < nowUnix()) break
      }
    }
    throw badGateway(`${leaseKey.replace(/^version /, '')}: timed out waiting for another instance to fetch it`)
  }

  async #download(module: string, version: string): Promise<CachedVersion> {
    const key = `${module}@${version}`
    const base = `${escapePath(module)}/@v/${escapeVersion(version)}`
    // An .info fetched a moment ago for an `.info` request (under this lease) is not fetched again.
    const knownInfo = (await this.#answer(answerKey.info(module, version)))?.body
    const { info, mod, zip } = await this.#upstream(key, () => firstAnswer(this.deps.config.upstream, async (url) => {
      // All three from the proxy that has the version: never a .mod of one and a .zip of another
      // (the .info, when kept from an earlier request, may come from an earlier proxy of the list).
      let info: Buffer
      if (knownInfo) info = knownInfo
      else {
        info = await this.client.getBytes(`${url}/${base}.info`, MAX_INFO)
        // Kept at once: `.info` requests waiting on this lease answer before the zip is in.
        if (parseInfo(info.toString('utf8')).version === version) await this.#keepAnswer(answerKey.info(module, version), info)
      }
      // Held back before the big download, not after.
      this.#cooldown(module, version, parseInfo(info.toString('utf8')).timeUnix)
      const mod = await this.client.getBytes(`${url}/${base}.mod`, MAX_GO_MOD)
      const zip = await this.client.getFile(`${url}/${base}.zip`, MAX_ZIP_FILE)
      return { info, mod, zip }
    }))
    try {
      const parsed = parseInfo(info.toString('utf8'))
      if (parsed.version !== version) throw badGateway(`${key}: the upstream's .info names version ${parsed.version}`)
      let checked
      try {
        checked = await checkModuleZip(zip.path)
      } catch (err) {
        if (err instanceof ModuleZipError) throw badGateway(`${key}: the upstream's zip is not a valid module zip: ${err.message}`)
        throw err
      }
      if (checked.module !== module || checked.version !== version) {
        throw badGateway(`${key}: the upstream's zip holds ${checked.module}@${checked.version}`)
      }
      checkModAgainstZip(key, module, mod, checked.goMod, checked.goModSynthesized)
      const zipH1 = await zipHash(zip.path)
      const modH1 = goModHash(mod)
      const modSums = checksums(mod)
      const modKey = blobKey(modSums.sha256)
      const modExisted = await this.deps.blobs.put(modKey, Readable.from([mod]), mod.length)
      const zipKey = blobKey(zip.sha256)
      // When the zip blob existed the spool file stays (until the finally below): see putAgainIfGone.
      const zipExisted = this.deps.blobs.putFile
        ? await this.deps.blobs.putFile(zipKey, zip.path, zip.size)
        : await this.deps.blobs.put(zipKey, createReadStream(zip.path), zip.size)
      const now = nowUnix()
      await this.deps.db.transaction().execute(async (trx) => {
        // Held until the commit: the blob GC does not delete these bytes meanwhile (storage/blobs/claims.ts).
        await claimForUse(trx, this.deps.flavor, [modKey, zipKey])
        const m = await findOrInsertBlob(trx, this.deps.flavor, { ...modSums, size: mod.length })
        const z = await findOrInsertBlob(trx, this.deps.flavor, zip)
        await trx.insertInto('go_proxy_version').values({
          module_path: module, version, info_json: info.toString('utf8'), time_unix: parsed.timeUnix,
          mod_blob_id: m.id, zip_blob_id: z.id, mod_h1: modH1, zip_h1: zipH1, size: mod.length + zip.size,
          created_unix: now, last_used_unix: now,
        }).onConflict((oc) => oc.columns(['module_path', 'version']).doNothing()).execute()
      })
      // A GC that decided before our touch may have deleted bytes we found and now refer to.
      if (modExisted) await putAgainIfGone(this.deps.blobs, modKey, mod, mod.length)
      if (zipExisted) await putAgainIfGone(this.deps.blobs, zipKey, zip.path, zip.size)
      const stored = await this.#cachedVersion(module, version)
      if (!stored) throw new Error(`${key}: stored version row not found`)
      return stored
    } finally {
      await rm(zip.path, { force: true })
    }
  }

  // ---- lists: @v/list and @latest

  /** The upstream's `@v/list`, reused briefly, stale when the upstream fails, cooldown applied. */
  async list(module: string): Promise<string[]> {
    const body = await this.#fresh(answerKey.list(module), () => this.#fetchList(module), async () => {
      const rows = await this.deps.db.selectFrom('go_proxy_version').select('version').where('module_path', '=', module).execute()
      return rows.length > 0 ? Buffer.from(rows.map((r) => `${r.version}\n`).join('')) : undefined
    })
    const versions = [...new Set(body.toString('utf8').split('\n').map((l) => l.trim().split(/\s/)[0]!).filter((v) => isValid(v)))]
    return this.deps.config.minAgeMs === undefined ? versions : this.#oldEnough(module, versions)
  }

  /** The `@latest` answer (an .info JSON). Under a cooldown, picked from the versions old enough. */
  async latest(module: string): Promise<string> {
    if (this.deps.config.minAgeMs !== undefined) {
      const pick = pickLatest(await this.list(module).catch((err: unknown) => {
        if (err instanceof WharfError && err.kind === 'not_found') return []
        throw err
      }))
      if (pick) return this.info(module, pick)
    }
    const body = (await this.#fresh(answerKey.latest(module), () => this.#fetchLatest(module), async () => {
      const rows = await this.deps.db.selectFrom('go_proxy_version').select(['version', 'info_json']).where('module_path', '=', module).execute()
      const pick = pickLatest(rows.map((r) => r.version))
      const row = rows.find((r) => r.version === pick)
      return row ? Buffer.from(row.info_json) : undefined
    })).toString('utf8')
    const info = parseInfo(body)
    this.#cooldown(module, info.version, info.timeUnix)
    return body
  }

  async #fetchList(module: string): Promise<Buffer> {
    const path = `${escapePath(module)}/@v/list`
    return this.#upstream(module, () => firstAnswer(this.deps.config.upstream, (base) => this.client.getBytes(`${base}/${path}`, MAX_LIST)))
  }

  async #fetchLatest(module: string): Promise<Buffer> {
    const path = `${escapePath(module)}/@latest`
    const body = await this.#upstream(module, () => firstAnswer(this.deps.config.upstream, (base) => this.client.getBytes(`${base}/${path}`, MAX_INFO)))
    parseInfo(body.toString('utf8'))
    return body
  }

  /** The versions whose .info Time is at least WHARF_GO_UPSTREAM_MIN_AGE old; undated ones are left out. */
  async #oldEnough(module: string, versions: string[]): Promise<string[]> {
    const minAge = this.deps.config.minAgeMs!
    const cutoff = (Date.now() - minAge) / 1000
    const times = new Map<string, number | null>()
    for (const r of await this.deps.db.selectFrom('go_proxy_version').select(['version', 'time_unix']).where('module_path', '=', module).execute()) {
      times.set(r.version, r.time_unix)
    }
    const unknown = versions.filter((v) => !times.has(v) && canonical(v) === v).slice(0, MAX_INFO_FETCHES)
    const workers = Array.from({ length: 8 }, async () => {
      for (let v = unknown.shift(); v !== undefined; v = unknown.shift()) {
        try {
          const kept = await this.#answer(answerKey.info(module, v))
          const text = kept ? kept.body.toString('utf8') : await this.#once(`info ${module}@${v}`, () => this.#fetchInfo(module, v))
          times.set(v, parseInfo(text).timeUnix)
        } catch {
          times.set(v, null)                               // the upstream does not tell: held back
        }
      }
    })
    await Promise.all(workers)
    return versions.filter((v) => {
      const t = times.get(v)
      return t !== undefined && t !== null && t <= cutoff
    })
  }

  /**
   * A go_proxy_answer reused while younger than the list TTL, else fetched again; when the upstream
   * fails (not a 404), the stale answer, else `fallback`, else the error.
   */
  async #fresh(key: string, fetch: () => Promise<Buffer>, fallback: () => Promise<Buffer | undefined>): Promise<Buffer> {
    const kept = await this.#answer(key)
    if (kept && kept.fetched_unix * 1000 > Date.now() - this.deps.config.listTtlMs) return kept.body
    return this.#once(key, async () => {
      try {
        const body = await fetch()
        await this.#keepAnswer(key, body)
        return body
      } catch (err) {
        if (err instanceof WharfError && err.kind === 'not_found') throw err
        const stale = kept?.body ?? await fallback()
        if (stale) return stale
        throw err
      }
    })
  }

  // ---- checksum database pass-through

  /**
   * A checksum database answer: tiles and lookups are immutable and kept for ever; `latest` is
   * reused for the list TTL and served stale when the database fails.
   */
  async sumdb(name: string, url: string, path: string, kind: 'latest' | 'lookup' | 'tile'): Promise<Buffer> {
    const key = answerKey.sumdb(name, path)
    const get = () => this.#upstream(`${name}/${path}`, () => this.client.getBytes(`${url}/${path}`, kind === 'tile' ? MAX_TILE : MAX_INFO))
    if (kind === 'latest') return this.#fresh(key, get, async () => undefined)
    const kept = await this.#answer(key)
    if (kept) return kept.body
    return this.#once(key, async () => {
      const body = await get()
      await this.#keepAnswer(key, body)
      return body
    })
  }

  // ---- shared helpers

  async #answer(key: string) {
    const r = await this.deps.db.selectFrom('go_proxy_answer').select(['body', 'fetched_unix']).where('key', '=', key).executeTakeFirst()
    return r ? { body: Buffer.from(r.body), fetched_unix: r.fetched_unix } : undefined
  }

  async #keepAnswer(key: string, body: Buffer): Promise<void> {
    const now = nowUnix()
    await this.deps.db.insertInto('go_proxy_answer').values({ key, body, fetched_unix: now })
      .onConflict((oc) => oc.column('key').doUpdateSet({ body, fetched_unix: now })).execute()
  }

  /** Runs `fn` once per key in this process: concurrent callers share its promise. */
  #once<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const running = this.#inflight.get(key)
    if (running) return running as Promise<T>
    const p = fn().finally(() => this.#inflight.delete(key))
    this.#inflight.set(key, p)
    return p
  }

  /** Upstream errors as the client should see them: 404 when no proxy has it, else 502. */
  async #upstream<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn()
    } catch (err) {
      if (err instanceof UpstreamError) {
        if (err.missing) throw new WharfError('not_found', `${what}: not found upstream (${err.message})`)
        throw badGateway(`${what}: the upstream failed: ${err.message}`)
      }
      throw err
    }
  }

  #cooldown(module: string, version: string, timeUnix: number | null): void {
    const minAge = this.deps.config.minAgeMs
    if (minAge === undefined) return
    if (timeUnix === null) {
      throw new WharfError('not_found', `${module}@${version}: held back by the cooldown (WHARF_GO_UPSTREAM_MIN_AGE): the upstream does not tell its age`)
    }
    const ageMs = Date.now() - timeUnix * 1000
    if (ageMs < minAge) {
      const days = (ms: number) => `${Math.floor(ms / 3_600_000)}h`
      throw new WharfError('not_found', `${module}@${version}: held back by the cooldown (WHARF_GO_UPSTREAM_MIN_AGE): published ${days(ageMs)} ago, served from ${days(minAge)} on`)
    }
  }

  async #takeLease(key: string): Promise<boolean> {
    const now = nowUnix()
    await this.deps.db.deleteFrom('go_proxy_lease').where('key', '=', key).where('expires_unix', '<', now).execute()
    const r = await this.deps.db.insertInto('go_proxy_lease').values({ key, holder: this.#holder, expires_unix: now + LEASE_SECONDS })
      .onConflict((oc) => oc.column('key').doNothing()).returning('key').executeTakeFirst()
    return r !== undefined
  }

  async #renewLease(key: string): Promise<void> {
    await this.deps.db.updateTable('go_proxy_lease').set({ expires_unix: nowUnix() + LEASE_SECONDS })
      .where('key', '=', key).where('holder', '=', this.#holder).execute()
  }

  // ---- administration: listing, purge, eviction

  /** Cached modules, most recently used first; q is a case-insensitive substring of the path. */
  async modules(opts: { q?: string; page?: number; limit?: number } = {}): Promise<{ rows: CachedModule[]; total: number }> {
    const limit = Math.min(Math.max(opts.limit ?? 50, 1), 200)
    const page = Math.max(opts.page ?? 1, 1)
    let q = this.deps.db.selectFrom('go_proxy_version')
    if (opts.q) q = q.where(sql<boolean>`lower(module_path) like ${`%${opts.q.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`} escape '\\'`)
    const rows = await q.select((eb) => [
      'module_path',
      eb.fn.countAll<number>().as('versions'),
      eb.fn.sum<number>('size').as('size'),
      eb.fn.max('last_used_unix').as('last_used'),
      eb.fn.min('created_unix').as('created'),
    ]).groupBy('module_path').orderBy('last_used', 'desc').orderBy('module_path').limit(limit).offset((page - 1) * limit).execute()
    const total = await q.select((eb) => eb.fn.count<number>(sql`distinct module_path`).as('n')).executeTakeFirstOrThrow()
    return {
      rows: rows.map((r) => ({
        module: r.module_path, versions: Number(r.versions), size: Number(r.size), lastUsedUnix: Number(r.last_used), createdUnix: Number(r.created),
      })),
      total: Number(total.n),
    }
  }

  /** The cached versions of one module, highest first. */
  async versionsOf(module: string): Promise<CachedVersion[]> {
    const rows = await this.#versionQuery().where('v.module_path', '=', module).execute()
    return rows.map(toCached).sort((a, b) => compare(b.version, a.version))
  }

  /** Removes a module (or one version of it) from the cache; the blob GC collects the bytes. Returns the versions removed. */
  async purge(module: string, version?: string): Promise<number> {
    return this.deps.db.transaction().execute(async (trx) => {
      let q = trx.deleteFrom('go_proxy_version').where('module_path', '=', module)
      if (version !== undefined) q = q.where('version', '=', version)
      const r = await q.executeTakeFirst()
      const keys = version !== undefined
        ? [answerKey.info(module, version), answerKey.list(module), answerKey.latest(module)]
        : [answerKey.list(module), answerKey.latest(module)]
      await trx.deleteFrom('go_proxy_answer').where('key', 'in', keys).execute()
      if (version === undefined) {
        await trx.deleteFrom('go_proxy_answer').where(sql<boolean>`key like ${`${answerKey.info(module, '').replace(/[\\%_]/g, (c) => `\\${c}`)}%`} escape '\\'`).execute()
      }
      return Number(r.numDeletedRows)
    })
  }

  /** Eviction (the job runner): versions not served for `unusedMs`, and module answers as old. */
  async evictUnused(unusedMs: number): Promise<number> {
    const cutoff = Math.floor((Date.now() - unusedMs) / 1000)
    const r = await this.deps.db.deleteFrom('go_proxy_version').where('last_used_unix', '<', cutoff).executeTakeFirst()
    await this.deps.db.deleteFrom('go_proxy_answer').where('fetched_unix', '<', cutoff)
      .where((eb) => eb.or([eb('key', 'like', 'list %'), eb('key', 'like', 'latest %'), eb('key', 'like', 'info %')])).execute()
    await this.deps.db.deleteFrom('go_proxy_lease').where('expires_unix', '<', nowUnix() - LEASE_SECONDS).execute()
    return Number(r.numDeletedRows)
  }
}

type VersionRow = {
  id: number; module_path: string; version: string; info_json: string; time_unix: number | null; mod_h1: string; zip_h1: string
  created_unix: number; last_used_unix: number
  m_id: number; m_size: number; m_md5: string; m_sha1: string; m_sha256: string; m_sha512: string
  z_id: number; z_size: number; z_md5: string; z_sha1: string; z_sha256: string; z_sha512: string
}

function toCached(r: VersionRow): CachedVersion {
  return {
    module: r.module_path, version: r.version, infoJson: r.info_json, timeUnix: r.time_unix, modH1: r.mod_h1, zipH1: r.zip_h1,
    createdUnix: r.created_unix,
    mod: { id: r.m_id, size: r.m_size, md5: r.m_md5, sha1: r.m_sha1, sha256: r.m_sha256, sha512: r.m_sha512 },
    zip: { id: r.z_id, size: r.z_size, md5: r.z_md5, sha1: r.z_sha1, sha256: r.z_sha256, sha512: r.z_sha512 },
  }
}

/** An upstream `.info`: JSON with a valid Version; Time (RFC 3339) when it parses. */
export function parseInfo(text: string): { version: string; timeUnix: number | null } {
  let obj: unknown
  try {
    obj = JSON.parse(text)
  } catch {
    throw badGateway('the upstream answered an .info that is not JSON')
  }
  const o = obj as { Version?: unknown; Time?: unknown }
  if (typeof o !== 'object' || o === null || typeof o.Version !== 'string' || !isValid(o.Version)) {
    throw badGateway('the upstream answered an .info without a valid Version')
  }
  const ms = typeof o.Time === 'string' ? Date.parse(o.Time) : Number.NaN
  return { version: o.Version, timeUnix: Number.isFinite(ms) ? Math.floor(ms / 1000) : null }
}

/** The upstream's .mod must be the zip's go.mod, byte for byte (or, when the zip has none, declare the module). */
function checkModAgainstZip(key: string, module: string, mod: Buffer, zipGoMod: string, synthesized: boolean): void {
  if (!synthesized) {
    if (!mod.equals(Buffer.from(zipGoMod, 'utf8'))) throw badGateway(`${key}: the upstream's .mod differs from the go.mod in its zip`)
    return
  }
  let declared: string | undefined
  try {
    declared = parseGoMod(mod.toString('utf8')).module
  } catch {
    declared = undefined
  }
  if (declared !== module) throw badGateway(`${key}: the upstream's .mod does not declare module ${module}`)
}

function checksums(buf: Buffer) {
  const h = (alg: string) => createHash(alg).update(buf).digest('hex')
  return { md5: h('md5'), sha1: h('sha1'), sha256: h('sha256'), sha512: h('sha512') }
}
