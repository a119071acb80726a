// `wharf doctor` (Gitea's name): the database against the blob store. Every file's blob must exist
// with the right size (and, with rehash, the right SHA-256); blobs nobody refers to, versions without
// files, packages without versions and left-over temp files are listed. fix() repairs only what is
// safe: orphans and temp files past the GC grace period (through the GC itself), empty versions and
// packages. A blob a file refers to is never deleted, whatever state it is in.
import { createHash } from 'node:crypto'
import { readdir, stat } from 'node:fs/promises'
import path from 'node:path'
import { sql, type Kysely } from 'kysely'
import type { Database } from '../storage/db/schema.js'
import type { Flavor } from '../storage/db/migrations/flavor.js'
import { blobKey, type BlobKey, type BlobStore } from '../storage/blobs/blob-store.js'
import { FsBlobStore } from '../storage/blobs/fs-blob-store.js'
import { storeBehind } from '../storage/blobs/inline-blob-store.js'
import { blobReferenced, gcBlobs } from '../jobs/gc-blobs.js'

export interface DoctorDeps {
  readonly db: Kysely<Database>
  readonly flavor: Flavor
  readonly blobs: BlobStore
  readonly tmpDir: string
  readonly graceMs: number
}

export interface BlobProblem {
  readonly sha256: string
  readonly size: number
  /** owner/type/name/version/file of (up to 5 of) the files using it. */
  readonly usedBy: string[]
  readonly actualSize?: number
  readonly actualSha256?: string
}

export interface Orphan {
  readonly name: string
  /** Younger than the GC grace period: probably an upload in progress, not a problem yet. */
  readonly young: boolean
}

export interface DoctorReport {
  files: number
  blobsChecked: number
  rehashed: number
  missing: BlobProblem[]
  wrongSize: BlobProblem[]
  corrupt: BlobProblem[]
  /** Blobs in the store without a database row. */
  orphanBlobs: Orphan[]
  /** Blob rows no file refers to. */
  unreferencedRows: Orphan[]
  emptyVersions: string[]
  emptyPackages: string[]
  tempFiles: Orphan[]
}

export interface DoctorFixes {
  blobRows: number
  blobFiles: number
  tmpFiles: number
  versions: number
  packages: number
}

const BATCH = 500

/** Problems that count for the exit code (young orphans and temp files do not). */
export function problemCount(r: DoctorReport): number {
  const old = (xs: Orphan[]) => xs.filter((x) => !x.young).length
  return r.missing.length + r.wrongSize.length + r.corrupt.length + old(r.orphanBlobs) + old(r.unreferencedRows)
    + r.emptyVersions.length + r.emptyPackages.length + old(r.tempFiles)
}

export async function diagnose(deps: DoctorDeps, opts: { rehash?: boolean } = {}): Promise<DoctorReport> {
  const { db, blobs } = deps
  const cutoffMs = Date.now() - deps.graceMs
  const r: DoctorReport = {
    files: 0, blobsChecked: 0, rehashed: 0, missing: [], wrongSize: [], corrupt: [], orphanBlobs: [], unreferencedRows: [],
    emptyVersions: [], emptyPackages: [], tempFiles: [],
  }
  r.files = Number((await db.selectFrom('package_file').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n)

  // Every table that refers to blobs (files, the Go proxy cache): the GC's own test.
  const referenced = blobReferenced
  for (let afterId = 0; ;) {
    const rows = await db.selectFrom('package_blob').select(['id', 'size', 'hash_sha256', 'created_unix'])
      .where('id', '>', afterId).orderBy('id').limit(BATCH).execute()
    if (rows.length === 0) break
    afterId = rows[rows.length - 1]!.id
    const used = new Set((await db.selectFrom('package_blob').select('id').where('id', 'in', rows.map((x) => x.id)).where(referenced).execute()).map((x) => x.id))
    for (const b of rows) {
      if (!used.has(b.id)) {
        r.unreferencedRows.push({ name: b.hash_sha256, young: b.created_unix * 1000 > cutoffMs })
        continue
      }
      r.blobsChecked++
      const key = blobKey(b.hash_sha256)
      const s = await blobs.stat(key)
      const problem = async (extra: Partial<BlobProblem> = {}): Promise<BlobProblem> => ({ sha256: b.hash_sha256, size: b.size, usedBy: await usersOf(db, b.id), ...extra })
      if (!s) {
        r.missing.push(await problem())
        continue
      }
      if (s.size !== b.size) {
        r.wrongSize.push(await problem({ actualSize: s.size }))
        continue
      }
      if (opts.rehash) {
        r.rehashed++
        const actual = await sha256Of(blobs, key)
        if (actual !== b.hash_sha256) r.corrupt.push(await problem({ actualSha256: actual }))
      }
    }
  }

  let batch: BlobKey[] = []
  const sweep = async () => {
    const known = new Set((await db.selectFrom('package_blob').select('hash_sha256').where('hash_sha256', 'in', batch).execute()).map((x) => x.hash_sha256))
    for (const key of batch) {
      if (known.has(key)) continue
      const s = await blobs.stat(key)
      if (s) r.orphanBlobs.push({ name: key, young: s.modifiedAt.getTime() > cutoffMs })
    }
    batch = []
  }
  for await (const key of blobs.keys()) {
    batch.push(key)
    if (batch.length >= BATCH) await sweep()
  }
  if (batch.length > 0) await sweep()

  const versions = await db.selectFrom('package_version as v').innerJoin('package as p', 'p.id', 'v.package_id')
    .innerJoin('user as u', 'u.id', 'p.owner_id').select(['u.name as owner', 'p.type', 'p.name', 'v.version'])
    .where(({ not, exists, selectFrom }) => not(exists(selectFrom('package_file').select(sql.lit(1).as('one')).whereRef('package_file.version_id', '=', 'v.id'))))
    .orderBy('v.id').execute()
  r.emptyVersions = versions.map((v) => `${v.owner}/${v.type}/${v.name} ${v.version}`)
  const pkgs = await db.selectFrom('package as p').innerJoin('user as u', 'u.id', 'p.owner_id').select(['u.name as owner', 'p.type', 'p.name'])
    .where(({ not, exists, selectFrom }) => not(exists(selectFrom('package_version').select(sql.lit(1).as('one')).whereRef('package_version.package_id', '=', 'p.id'))))
    .orderBy('p.id').execute()
  r.emptyPackages = pkgs.map((p) => `${p.owner}/${p.type}/${p.name}`)

  const behind = storeBehind(blobs)
  const tmpDirs = [deps.tmpDir, ...(behind instanceof FsBlobStore ? [behind.tmpDir] : [])]
  for (const dir of tmpDirs) r.tempFiles.push(...await filesIn(dir, cutoffMs))
  return r
}

/** Repairs what is safe; a referenced blob is never touched (the GC's own guards). */
export async function fix(deps: DoctorDeps): Promise<DoctorFixes> {
  const gc = await gcBlobs(deps)
  const { db } = deps
  const versions = await db.deleteFrom('package_version')
    .where(({ not, exists, selectFrom }) => not(exists(selectFrom('package_file').select(sql.lit(1).as('one')).whereRef('package_file.version_id', '=', 'package_version.id'))))
    .executeTakeFirst()
  const packages = await db.deleteFrom('package')
    .where(({ not, exists, selectFrom }) => not(exists(selectFrom('package_version').select(sql.lit(1).as('one')).whereRef('package_version.package_id', '=', 'package.id'))))
    .executeTakeFirst()
  return {
    blobRows: gc.blobRows, blobFiles: gc.blobFiles, tmpFiles: gc.tmpFiles,
    versions: Number(versions.numDeletedRows), packages: Number(packages.numDeletedRows),
  }
}

async function usersOf(db: Kysely<Database>, blobId: number): Promise<string[]> {
  const rows = await db.selectFrom('package_file as f').innerJoin('package_version as v', 'v.id', 'f.version_id')
    .innerJoin('package as p', 'p.id', 'v.package_id').innerJoin('user as u', 'u.id', 'p.owner_id')
    .select(['u.name as owner', 'p.type', 'p.name', 'v.version', 'f.name as file'])
    .where('f.blob_id', '=', blobId).orderBy('f.id').limit(5).execute()
  const cached = await db.selectFrom('go_proxy_version').select(['module_path', 'version'])
    .where((eb) => eb.or([eb('mod_blob_id', '=', blobId), eb('zip_blob_id', '=', blobId)])).orderBy('id').limit(5).execute()
  return [...rows.map((x) => `${x.owner}/${x.type}/${x.name}/${x.version}/${x.file}`), ...cached.map((x) => `go proxy cache ${x.module_path}@${x.version}`)]
}

async function sha256Of(blobs: BlobStore, key: BlobKey): Promise<string> {
  const h = createHash('sha256')
  for await (const chunk of await blobs.open(key)) h.update(chunk as Buffer)
  return h.digest('hex')
}

async function filesIn(dir: string, cutoffMs: number): Promise<Orphan[]> {
  let names: string[]
  try {
    names = await readdir(dir)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw err
  }
  const out: Orphan[] = []
  for (const name of names) {
    const p = path.join(dir, name)
    const s = await stat(p).catch(() => undefined)
    if (s?.isFile()) out.push({ name: p, young: s.mtimeMs > cutoffMs })
  }
  return out
}
