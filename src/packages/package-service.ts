// The type-agnostic package domain (Gitea's services/packages): every registry type stores its
// uploads through here. Bytes go into the BlobStore first, then ONE short transaction writes the
// package / version / blob / file rows; the database's unique constraints decide races. A failure
// after the blob write leaves only an unreferenced blob, which jobs/gc-blobs.ts collects.
import { rm } from 'node:fs/promises'
import { createReadStream } from 'node:fs'
import { Readable } from 'node:stream'
import { NoResultError, sql, type Kysely } from 'kysely'
import type { Database, PackageFile } from '../storage/db/schema.js'
import type { Flavor } from '../storage/db/migrations/flavor.js'
import { isForeignKeyViolation, isUniqueViolation } from '../storage/db/errors.js'
import { blobKey, type BlobStore, type ByteRange } from '../storage/blobs/blob-store.js'
import { claimForUse, putAgainIfGone } from '../storage/blobs/claims.js'
import { SmallBlobCache } from '../storage/blobs/small-blob-cache.js'
import { WharfError, conflict, forbidden, notFound, tooLarge } from '../errors.js'
import { receiveUpload, verifyChecksums, type ExpectedChecksums, type ReceivedUpload, type SpooledUpload } from './upload.js'
import * as rows from './package-rows.js'
import { DownloadCounter } from './download-counter.js'
import type { AuditBy } from '../ops/audit.js'
import { isProtected, mayOverwrite, readSettings, settingsQuery, toSettings, type PackageSettings } from './package-settings.js'
import type { QuotaService } from './quota.js'
import { prepared, preparedOn } from '../storage/db/prepared.js'
import { DigestCompleter, missingDigests } from './digests.js'

export interface PackageRef {
  readonly ownerId: number
  readonly type: string
  readonly name: string
}
export interface VersionRef extends PackageRef {
  readonly version: string
}
export interface FileRef extends VersionRef {
  readonly file: string
}

export interface VersionView {
  readonly id: number
  readonly packageId: number
  readonly ownerId: number
  readonly type: string
  /** As first uploaded (matching is case-insensitive). */
  readonly name: string
  readonly version: string
  readonly creatorId: number | null
  readonly metadataJson: string | null
  readonly downloadCount: number
  readonly createdUnix: number
}

export interface FileView {
  readonly id: number
  readonly versionId: number
  readonly name: string
  readonly isLead: number
  readonly createdUnix: number
  readonly size: number
  readonly md5: string
  readonly sha1: string
  readonly sha256: string
  readonly sha512: string
}

/** What an upload stored (its other digests may still be being computed: read the file for them). */
export interface StoredFile {
  readonly id: number
  readonly versionId: number
  readonly name: string
  readonly size: number
  readonly sha256: string
}

/** A stored file ready to be sent: its facts plus a way to stream (a range of) its bytes. */
export interface OpenedFile extends FileView {
  readonly version: VersionView
  open(range?: ByteRange): Promise<Readable | Buffer>
}

/**
 * A committed-with-it change: the sink (audit log, webhook outbox) writes its rows inside the
 * transaction of the change, so either both commit or neither does.
 */
export type PackageChange =
  | { readonly kind: 'file.create'; readonly ref: FileRef; readonly versionId: number; readonly versionCreated: boolean; readonly replaced?: boolean; readonly size: number; readonly sha256: string }
  | { readonly kind: 'file.delete'; readonly ref: FileRef; readonly versionId: number; readonly versionDeleted: boolean; readonly version: VersionView }
  | { readonly kind: 'version.delete'; readonly ref: VersionRef; readonly versionId: number; readonly files: number; readonly version: VersionView }

export interface PackageChangeSink {
  record(trx: Kysely<Database>, by: AuditBy | undefined, change: PackageChange): Promise<void>
}

export type UploadInput = FileRef & {
  readonly creatorId: number | null
  /** Who uploads, for the audit log. */
  readonly by?: AuditBy
  /** For messages (quota errors). */
  readonly ownerName?: string
  /** Site admins are not held to owner quotas (as in Gitea). */
  readonly quotaExempt?: boolean
  /** Content-Length, when the client sent one (small bodies get all four digests on the way). */
  readonly declaredSize?: number
  /** X-Checksum-* the client announced; a mismatch is a 400 and nothing is stored. */
  readonly expected?: ExpectedChecksums
} & (
  | { readonly body: Readable; readonly spooled?: undefined }
  /**
   * A body the caller already spooled (and inspected) with spoolUpload(): stored without reading
   * it again. The service takes the file over: it may move it into the blob store.
   */
  | { readonly spooled: SpooledUpload; readonly body?: undefined }
)

export interface ListOptions {
  readonly type?: string
  /** Case-insensitive substring of the package name. */
  readonly q?: string
  /** 1-based. */
  readonly page?: number
  readonly limit?: number
}

const MAX_TX_ATTEMPTS = 6

export class PackageService {
  readonly downloads: DownloadCounter

  constructor(
    private readonly db: Kysely<Database>,
    private readonly flavor: Flavor,
    private readonly blobs: BlobStore,
    private readonly tmpDir: string,
    private readonly limits: Readonly<Record<string, number | undefined>> = {},
    private readonly changes?: PackageChangeSink,
    /** Owner quotas; none when absent. */
    readonly quota?: QuotaService,
  ) {
    this.downloads = new DownloadCounter(db)
    this.#small = new SmallBlobCache(blobs)
    this.#digests = new DigestCompleter(db, blobs)
    const q = fileQueries(db)
    this.#findFile = q.findFile
    this.#openFile = q.openFile
    this.#ownerExists = preparedOn(db, 1, (d, id: number) => d.selectFrom('user').select('id').where('id', '=', id))
    this.#readSettings = prepared(db, 3, settingsQuery)
    this.#findVersion = prepared(db, 4, versionQuery)
  }

  // Built and compiled once (prepared.ts): these run on every download and every upload.
  readonly #findFile: ReturnType<typeof fileQueries>['findFile']
  readonly #openFile: ReturnType<typeof fileQueries>['openFile']
  /** A version by owner, type and name: each .info and .mod of the Go proxy. */
  readonly #findVersion: (...args: VersionArgs) => Promise<VersionView[]>
  /** The package settings every generic upload reads before its body. */
  readonly #readSettings: (ownerId: number, type: string, lowerName: string) => Promise<Array<Parameters<typeof toSettings>[0] & object>>
  /** Inside an upload's transaction (run on it): is the owner still there? */
  readonly #ownerExists: (on: Kysely<Database>, id: number) => Promise<Array<{ id: number }>>

  readonly #digests: DigestCompleter

  /** Small blobs kept in memory: immutable, so never stale. */
  readonly #small: SmallBlobCache

  /** The largest file accepted for a package type (WHARF_LIMIT_SIZE_*), undefined = no limit. */
  limitFor(type: string): number | undefined {
    return this.limits[type]
  }

  /**
   * Stores a file, creating the package and version when missing (Generic). A file of that name
   * (case-insensitive) in the version → conflict, unless the package's settings allow overwriting
   * that version: then the file is pointed at the new blob in the same transaction (`replaced`).
   */
  async addFile(input: UploadInput): Promise<StoredFile & { replaced: boolean }> {
    const settings = toSettings((await this.#readSettings(input.ownerId, input.type, input.name.toLowerCase()))[0])
    return this.#store(input, async (trx, pkgId) => rows.findOrInsertVersion(trx, this.flavor, { packageId: pkgId, version: input.version, creatorId: input.creatorId }),
      false, mayOverwrite(settings, input.version))
  }

  /**
   * The checks an upload passes before its body is read: an existing file (409 unless the policy
   * allows replacing it), the size limit against the declared length (413), the owner's quotas
   * (403; the size only when the length is declared). The commit transaction checks again.
   */
  async checkUpload(ref: FileRef | VersionRef, opts: { declaredSize?: number; ownerName: string; quotaExempt?: boolean }): Promise<void> {
    let replacing: FileView | undefined
    let newVersion = true
    if ('file' in ref) {
      const existing = (await this.#findFile(...fileArgs(ref)))[0]
      if (existing) {
        if (!mayOverwrite(await readSettings(this.db, ref), ref.version)) throw conflict(`file ${ref.file} already exists in ${ref.name} ${ref.version}`)
        replacing = existing
      }
    }
    const limit = this.limitFor(ref.type)
    if (limit !== undefined && opts.declaredSize !== undefined && opts.declaredSize > limit) {
      throw tooLarge(`the file is larger than the limit of ${limit} bytes`)
    }
    if (!this.quota || opts.quotaExempt || !(await this.quota.applies(ref.ownerId))) return
    if ('file' in ref) newVersion = replacing === undefined && !(await this.findVersion(ref))
    const add = opts.declaredSize === undefined ? undefined : opts.declaredSize - (replacing?.size ?? 0)
    await this.quota.precheck(ref.ownerId, opts.ownerName, add, newVersion)
  }

  /**
   * Stores a file as the first file of a new version (Go): an existing version → conflict.
   * `metadataJson` is stored on the version; `isLead` marks the file as the version's main file.
   */
  async createVersionWithFile(input: UploadInput & { metadataJson?: string | null; isLead?: boolean }): Promise<StoredFile> {
    return this.#store(input, async (trx, pkgId) => {
      try {
        return { ...await rows.insertVersion(trx, { packageId: pkgId, version: input.version, creatorId: input.creatorId, metadataJson: input.metadataJson }), created: true }
      } catch (err) {
        if (isUniqueViolation(err)) throw conflict(`version ${input.version} of ${input.name} already exists`)
        throw err
      }
    }, input.isLead)
  }

  async #store(
    input: UploadInput,
    /** The version's row, and whether this transaction created it. */
    version: (trx: Kysely<Database>, packageId: number) => Promise<{ id: number; created: boolean }>,
    isLead = false,
    overwrite = false,
  ): Promise<StoredFile & { replaced: boolean }> {
    const limit = this.limitFor(input.type)
    const quota = this.quota && !input.quotaExempt && await this.quota.applies(input.ownerId) ? this.quota : undefined
    const ownerName = input.ownerName ?? `#${input.ownerId}`
    const upload: ReceivedUpload = input.spooled
      ?? await receiveUpload(input.body, this.tmpDir, limit, { expected: input.expected, declaredSize: input.declaredSize, followHash: !this.blobs.remote })
    // The spool file lives until the rows committed: a put that found the blob already there (and left
    // the file) may have to put the bytes again after the commit (storage/blobs/claims.ts).
    let existed: boolean
    const key = blobKey(upload.sha256)
    const inline = upload.bytes !== undefined && this.blobs.within !== undefined && this.blobs.inlines?.(upload.size) === true
    try {
      if (limit !== undefined && upload.size > limit) throw tooLarge(`the file is larger than the limit of ${limit} bytes`)
      verifyChecksums(upload, input.expected)
      // Past a quota: refused before the bytes reach the blob store (the transaction checks again).
      if (quota) {
        const replacing = overwrite ? await this.findFile(input) : undefined
        await quota.precheck(input.ownerId, ownerName, upload.size - (replacing?.size ?? 0), false)
      }
      // Moving the spool file in saves copying every upload once more, when the store can. A small
      // blob kept in the database is written in the transaction below instead, with its rows.
      existed = inline ? false : upload.bytes !== undefined
        ? await (this.blobs.putBytes ? this.blobs.putBytes(key, upload.bytes) : this.blobs.put(key, Readable.from([upload.bytes]), upload.size))
        : this.blobs.putFile
          ? await this.blobs.putFile(key, upload.path, upload.size)
          : await this.blobs.put(key, createReadStream(upload.path), upload.size)
    } catch (err) {
      if (upload.path !== undefined) await rm(upload.path, { force: true })
      throw err
    }
    let stored: { file: PackageFile; replaced: boolean }
    try {
      stored = await this.#transaction(async (trx) => {
        // First statement: racing uploads of this owner are then counted one after the other.
        if (quota) await quota.lockOwner(trx, input.ownerId)
        // Every retry re-creates a package/version/blob row a delete removed; only the owner cannot
        // come back: it was deleted while the body arrived.
        if ((await this.#ownerExists(trx, input.ownerId)).length === 0) throw notFound(`owner of ${input.name}`)
        const pkg = await rows.findOrInsertPackage(trx, this.flavor, input.ownerId, input.type, input.name)
        const newVersion = quota ? !(await rows.versionExists(trx, pkg.id, input.version)) : false
        const v = await version(trx, pkg.id)
        // Held until the commit: the GC does not delete these bytes meanwhile (storage/blobs/claims.ts).
        await claimForUse(trx, this.flavor, [key])
        // After the claim, in the same commit as the row: no GC can come in between (claims.ts).
        if (inline) await this.blobs.within!(trx).putBytes!(key, upload.bytes)
        const blob = await rows.findOrInsertBlob(trx, this.flavor, upload)
        const stored = overwrite
          ? await this.#insertOrReplaceFile(trx, input, v.id, blob.id, isLead)
          : { file: await this.#insertFile(trx, input, v.id, blob.id, isLead), replaced: false }
        if (quota) await quota.check(trx, input.ownerId, ownerName, { newVersion })
        const f = stored.file
        if (this.changes) {
          // Empty versions never survive a commit (pruneEmpty): a version that existed had files.
          await this.changes.record(trx, input.by, {
            kind: 'file.create', ref: { ownerId: input.ownerId, type: input.type, name: pkg.name, version: input.version, file: f.name },
            versionId: v.id, versionCreated: !stored.replaced && v.created, replaced: stored.replaced, size: upload.size, sha256: upload.sha256,
          })
        }
        return stored
      })
      // The GC may have deleted the bytes between this put's touch and its own decision.
      if (existed) await putAgainIfGone(this.blobs, key, upload.bytes ?? upload.path, upload.size)
    } finally {
      if (upload.path !== undefined) await rm(upload.path, { force: true })
    }
    const { file, replaced } = stored
    // The digests left out on the way are computed now, in a worker, after the answer; readers of
    // the file wait for them (#complete), and a failure here is retried by the next reader.
    if (missingDigests(upload).length > 0) this.#digests.complete(blobKey(upload.sha256), upload).catch(() => {})
    return { id: file.id, versionId: file.version_id, name: file.name, size: upload.size, sha256: upload.sha256, replaced }
  }

  /** The view with every digest (computing those an upload left for later, see digests.ts). */
  async #complete<T extends FileView>(f: T): Promise<T> {
    if (missingDigests(f).length === 0) return f
    return { ...f, ...await this.#digests.complete(blobKey(f.sha256), f) }
  }

  async #insertFile(trx: Kysely<Database>, input: FileRef, versionId: number, blobId: number, isLead: boolean) {
    try {
      return await rows.insertFile(trx, this.flavor, { versionId, blobId, name: input.file, isLead })
    } catch (err) {
      if (isUniqueViolation(err)) throw conflict(`file ${input.file} already exists in ${input.name} ${input.version}`)
      throw err
    }
  }

  /**
   * The overwrite of a file (issue 11): one UPDATE points the existing file row at the new blob, so
   * a reader gets the old bytes or the new, never a mix. The settings are read again here: a version
   * protected meanwhile is not replaced. The old blob gets a fresh grace period before the GC.
   */
  async #insertOrReplaceFile(trx: Kysely<Database>, input: FileRef, versionId: number, blobId: number, isLead: boolean) {
    const existing = await trx.selectFrom('package_file').select(['id', 'blob_id'])
      .where('version_id', '=', versionId).where('lower_name', '=', input.file.toLowerCase()).executeTakeFirst()
    if (!existing) {
      // A racing upload inserting the same name: the unique violation retries, then replaces it.
      return { file: await rows.insertFile(trx, this.flavor, { versionId, blobId, name: input.file, isLead }), replaced: false }
    }
    if (!mayOverwrite(await readSettings(trx, input), input.version)) throw conflict(`file ${input.file} already exists in ${input.name} ${input.version}`)
    const file = await trx.updateTable('package_file').set({ blob_id: blobId, created_unix: rows.nowUnix() })
      .where('id', '=', existing.id).returningAll().executeTakeFirstOrThrow()
    if (existing.blob_id !== blobId) {
      await trx.updateTable('package_blob').set({ created_unix: rows.nowUnix() }).where('id', '=', existing.blob_id).execute()
    }
    return { file, replaced: true }
  }

  /**
   * Runs `fn` in a transaction, again when it lost a race that re-reading fixes: a row it relied on
   * was deleted meanwhile (foreign key violation, or a re-select that found nothing), or PostgreSQL
   * chose it as a deadlock/serialization victim. WharfErrors (conflict …) are answers, not retried.
   */
  async #transaction<T>(fn: (trx: Kysely<Database>) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        // READ COMMITTED whatever the server's default: the row locks of package-rows.ts rely on
        // each statement seeing what committed before it (SQLite ignores the level: it serialises).
        return await this.db.transaction().setIsolationLevel('read committed').execute(fn)
      } catch (err) {
        if (err instanceof WharfError || attempt >= MAX_TX_ATTEMPTS || !isRetryable(err)) throw err
      }
    }
  }

  /** The file if it exists. */
  async findFile(ref: FileRef): Promise<FileView | undefined> {
    const f = (await this.#findFile(...fileArgs(ref)))[0]
    return f && this.#complete(f)
  }

  /** The cheap duplicate check before an upload body is read. */
  async fileExists(ref: FileRef): Promise<boolean> {
    return (await this.#findFile(...fileArgs(ref))).length > 0
  }

  /** A file with its version, ready to stream; not_found when any part is missing. */
  async openFile(ref: FileRef): Promise<OpenedFile> {
    const f = await this.findOpenFile(ref)
    if (!f) throw notFound(`file ${ref.file}`)
    return f
  }

  /** openFile, or undefined when the file does not exist (a 404 without an exception). */
  async findOpenFile(ref: FileRef): Promise<OpenedFile | undefined> {
    // One indexed query: the download path's only database round trip besides access checks.
    const r = (await this.#openFile(...fileArgs(ref)))[0]
    if (!r) return undefined
    const version: VersionView = {
      id: r.versionId, packageId: r.v_packageId, ownerId: r.v_ownerId, type: r.v_type, name: r.v_name, version: r.v_version,
      creatorId: r.v_creatorId, metadataJson: r.v_metadataJson, downloadCount: r.v_downloadCount, createdUnix: r.v_createdUnix,
    }
    const file: FileView = {
      id: r.id, versionId: r.versionId, name: r.name, isLead: r.isLead, createdUnix: r.createdUnix,
      size: r.size, md5: r.md5, sha1: r.sha1, sha256: r.sha256, sha512: r.sha512,
    }
    const key = blobKey(r.sha256)
    return { ...await this.#complete(file), version, open: (range) => this.#small.open(key, file.size, range) }
  }


  /** Deletes one file; the version goes too when it was its last file, the package with its last version. */
  async deleteFile(ref: FileRef, by?: AuditBy): Promise<void> {
    await this.#transaction(async (trx) => {
      const f = await rows.selectFiles(trx)
        .innerJoin('package_version as v', 'v.id', 'f.version_id')
        .innerJoin('package as p', 'p.id', 'v.package_id')
        .select(['p.id as packageId', 'v.version as version'])
        .where('p.owner_id', '=', ref.ownerId).where('p.type', '=', ref.type)
        .where('p.lower_name', '=', ref.name.toLowerCase())
        .where('v.lower_version', '=', ref.version.toLowerCase())
        .where('f.lower_name', '=', ref.file.toLowerCase())
        .executeTakeFirst()
      if (!f) throw notFound(`file ${ref.file}`)
      await rows.lockForDelete(trx, this.flavor, f.packageId, f.versionId)
      await this.#refuseProtected(trx, ref, f.version)
      const version = this.changes ? await versionQuery(trx, ...versionArgs(ref)).executeTakeFirstOrThrow() : undefined
      await trx.deleteFrom('package_file').where('id', '=', f.id).execute()
      await rows.pruneEmpty(trx, f.versionId, f.packageId)
      if (this.changes && version) {
        const left = await trx.selectFrom('package_version').select('id').where('id', '=', f.versionId).executeTakeFirst()
        await this.changes.record(trx, by, {
          kind: 'file.delete', ref: { ...ref, name: version.name, version: version.version, file: f.name },
          versionId: f.versionId, versionDeleted: !left, version,
        })
      }
    })
  }

  /** Deletes a version with all its files (and the package when no version is left). */
  async deleteVersion(ref: VersionRef, by?: AuditBy): Promise<void> {
    await this.#transaction(async (trx) => {
      const v = await versionQuery(trx, ...versionArgs(ref)).executeTakeFirst()
      if (!v) throw notFound(`version ${ref.version} of ${ref.name}`)
      await rows.lockForDelete(trx, this.flavor, v.packageId, v.id)
      await this.#refuseProtected(trx, ref, v.version)
      const files = await trx.deleteFrom('package_file').where('version_id', '=', v.id).executeTakeFirst()
      await trx.deleteFrom('package_version').where('id', '=', v.id).execute()
      await rows.pruneEmpty(trx, v.id, v.packageId)
      await this.changes?.record(trx, by, {
        kind: 'version.delete', ref: { ...ref, name: v.name, version: v.version }, versionId: v.id, files: Number(files.numDeletedRows), version: v,
      })
    })
  }

  /** Protected versions are never deleted (issue 11): the protection must be lifted first. */
  async #refuseProtected(trx: Kysely<Database>, ref: PackageRef, version: string): Promise<PackageSettings> {
    const s = await readSettings(trx, ref)
    if (isProtected(s, version)) throw forbidden(`version ${version} of ${ref.name} is protected; lift the protection in the package settings first`)
    return s
  }

  /** Whether the package exists (it has at least one version). */
  async packageExists(ref: PackageRef): Promise<boolean> {
    const r = await this.db.selectFrom('package').select('id')
      .where('owner_id', '=', ref.ownerId).where('type', '=', ref.type).where('lower_name', '=', ref.name.toLowerCase())
      .executeTakeFirst()
    return r !== undefined
  }

  /** The version, or undefined. Matching of name and version is case-insensitive. */
  async findVersion(ref: VersionRef): Promise<VersionView | undefined> {
    return (await this.#findVersion(...versionArgs(ref)))[0]
  }

  /** The version, or a not_found WharfError. */
  async getVersion(ref: VersionRef): Promise<VersionView> {
    const v = await this.findVersion(ref)
    if (!v) throw notFound(`version ${ref.version} of ${ref.name}`)
    return v
  }

  /** Every version of one package, oldest first (the Go registry sorts them by semver itself). */
  async listVersionsOfPackage(ref: PackageRef): Promise<VersionView[]> {
    return rows.selectVersions(this.db)
      .where('p.owner_id', '=', ref.ownerId).where('p.type', '=', ref.type)
      .where('p.lower_name', '=', ref.name.toLowerCase())
      .orderBy('v.created_unix').orderBy('v.id')
      .execute()
  }

  /** A page of an owner's versions, newest first, filtered by type and name substring. */
  async listVersions(ownerId: number, opts: ListOptions = {}): Promise<VersionView[]> {
    const limit = opts.limit ?? 30
    const page = Math.max(1, opts.page ?? 1)
    return this.#filtered(ownerId, opts)
      .orderBy('v.created_unix', 'desc').orderBy('v.id', 'desc')
      .limit(limit).offset((page - 1) * limit)
      .execute()
  }

  /** How many versions listVersions would return over all pages. */
  async countVersions(ownerId: number, opts: ListOptions = {}): Promise<number> {
    const r = await this.#filtered(ownerId, opts).clearSelect()
      .select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()
    return Number(r.n)
  }

  #filtered(ownerId: number, opts: ListOptions) {
    let q = rows.selectVersions(this.db).where('p.owner_id', '=', ownerId)
    if (opts.type) q = q.where('p.type', '=', opts.type)
    if (opts.q) {
      const pattern = `%${opts.q.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`
      q = q.where(sql<boolean>`p.lower_name like ${pattern} escape '\\'`)
    }
    return q
  }

  /** The files of a version, by name. */
  async listFiles(versionId: number): Promise<FileView[]> {
    const files = await rows.selectFiles(this.db).where('f.version_id', '=', versionId).orderBy('f.lower_name').execute()
    return Promise.all(files.map((f) => this.#complete(f)))
  }

  /** Counts one whole-file download; written to the database in batches (DownloadCounter). */
  countDownload(versionId: number): void {
    this.downloads.count(versionId)
  }
}

type VersionArgs = [ownerId: number, type: string, lowerName: string, lowerVersion: string]

const versionArgs = (ref: VersionRef): VersionArgs => [ref.ownerId, ref.type, ref.name.toLowerCase(), ref.version.toLowerCase()]

function versionQuery(db: Kysely<Database>, ownerId: number, type: string, lowerName: string, lowerVersion: string) {
  return rows.selectVersions(db)
    .where('p.owner_id', '=', ownerId).where('p.type', '=', type)
    .where('p.lower_name', '=', lowerName)
    .where('v.lower_version', '=', lowerVersion)
}

type FileArgs = [ownerId: number, type: string, lowerName: string, lowerVersion: string, lowerFile: string]

const fileArgs = (ref: FileRef): FileArgs =>
  [ref.ownerId, ref.type, ref.name.toLowerCase(), ref.version.toLowerCase(), ref.file.toLowerCase()]

function fileQuery(db: Kysely<Database>, ownerId: number, type: string, lowerName: string, lowerVersion: string, lowerFile: string) {
  return rows.selectFiles(db)
    .innerJoin('package_version as v', 'v.id', 'f.version_id')
    .innerJoin('package as p', 'p.id', 'v.package_id')
    .where('p.owner_id', '=', ownerId).where('p.type', '=', type)
    .where('p.lower_name', '=', lowerName)
    .where('v.lower_version', '=', lowerVersion)
    .where('f.lower_name', '=', lowerFile)
}

function fileQueries(db: Kysely<Database>) {
  return {
    findFile: prepared(db, 5, (d, ...a: FileArgs) => fileQuery(d, ...a)),
    openFile: prepared(db, 5, (d, ...a: FileArgs) => fileQuery(d, ...a).select([
      'p.id as v_packageId', 'p.owner_id as v_ownerId', 'p.type as v_type', 'p.name as v_name', 'v.version as v_version',
      'v.creator_id as v_creatorId', 'v.metadata_json as v_metadataJson', 'v.download_count as v_downloadCount',
      'v.created_unix as v_createdUnix',
    ])),
  }
}

function isRetryable(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code
  // SQLITE_BUSY*: another process (several instances on one SQLite file) held the write lock
  // beyond busy_timeout, or a read snapshot went stale before the write.
  return isForeignKeyViolation(err) || isUniqueViolation(err) || code === '40001' || code === '40P01'
    || (typeof code === 'string' && code.startsWith('SQLITE_BUSY'))
    // (Kysely's NoResultError keeps the name 'Error', so test the class.)
    || err instanceof NoResultError
}
