// Row-level queries for packages, versions, files and blobs; PackageService composes them into
// transactions. Inserts that may race use ON CONFLICT DO NOTHING and then read the winner: on
// PostgreSQL a failed statement would abort the whole transaction, so violations are avoided
// rather than caught, except where a violation IS the answer (a duplicate file or version).
import { NoResultError, sql, type Kysely } from 'kysely'
import type { Database, Package, PackageBlob, PackageFile, PackageVersion } from '../storage/db/schema.js'
import type { Flavor } from '../storage/db/migrations/flavor.js'
import { lockRowForUpdate } from '../storage/db/locks.js'
import { preparedOn } from '../storage/db/prepared.js'
import type { Checksums } from './upload.js'

type Db = Kysely<Database>

// Uploads and deletes decide their race in the database (issue 8, item 1; storage/db/locks.ts). An
// upload holds KEY SHARE on the package and version rows it adds to (taken explicitly below, and by
// the foreign key checks of its inserts) until it commits. A delete takes FOR UPDATE on them BEFORE
// it looks whether they are empty (lockForDelete), so it waits for those uploads and sees their rows.
// An upload that comes second waits on the delete's lock and then finds the row gone (no row, or a
// foreign key violation), which PackageService's retry answers by creating it again.

export const nowUnix = () => Math.floor(Date.now() / 1000)

/**
 * The statements every upload runs, built and compiled once per dialect (prepared.ts) and run on
 * whichever transaction calls: building and compiling them each time cost more of a small upload's
 * CPU than SQLite running them (bench/README, e). Compiled with the first database seen of each
 * flavor; the SQL text depends on nothing else.
 */
function uploadStatements(db: Db, flavor: Flavor) {
  const share = <T extends { forKeyShare(): T }>(q: T) => (flavor === 'postgres' ? q.forKeyShare() : q)
  return {
    findPackage: preparedOn(db, 3, (d, ownerId: number, type: string, lower: string) =>
      share(d.selectFrom('package').selectAll().where('owner_id', '=', ownerId).where('type', '=', type).where('lower_name', '=', lower))),
    findVersion: preparedOn(db, 2, (d, packageId: number, lower: string) =>
      share(d.selectFrom('package_version').selectAll().where('package_id', '=', packageId).where('lower_version', '=', lower))),
    insertBlob: preparedOn(db, 6, (d, size: number, md5: string, sha1: string, sha256: string, sha512: string, created: number) =>
      d.insertInto('package_blob').values({ size, hash_md5: md5, hash_sha1: sha1, hash_sha256: sha256, hash_sha512: sha512, created_unix: created })
        .onConflict((oc) => oc.column('hash_sha256').doNothing()).returningAll()),
    findBlob: preparedOn(db, 1, (d, sha256: string) => d.selectFrom('package_blob').selectAll().where('hash_sha256', '=', sha256)),
    insertFile: preparedOn(db, 6, (d, versionId: number, blobId: number, name: string, lower: string, isLead: number, created: number) =>
      d.insertInto('package_file').values({ version_id: versionId, blob_id: blobId, name, lower_name: lower, is_lead: isLead, created_unix: created })
        .returningAll()),
  }
}

const statementsByFlavor = new Map<Flavor, ReturnType<typeof uploadStatements>>()

function statements(db: Db, flavor: Flavor): ReturnType<typeof uploadStatements> {
  let s = statementsByFlavor.get(flavor)
  if (!s) statementsByFlavor.set(flavor, (s = uploadStatements(db, flavor)))
  return s
}

export async function findOrInsertPackage(db: Db, flavor: Flavor, ownerId: number, type: string, name: string): Promise<Package> {
  const lower = name.toLowerCase()
  const find = async () => (await statements(db, flavor).findPackage(db, ownerId, type, lower))[0]
  // Looked for first: most uploads go to a package that exists (one statement instead of two).
  const found = await find()
  if (found) return found
  const inserted = await db.insertInto('package')
    .values({ owner_id: ownerId, type, name, lower_name: lower, created_unix: nowUnix() })
    .onConflict((oc) => oc.columns(['owner_id', 'type', 'lower_name']).doNothing())
    .returningAll().executeTakeFirst()
  if (inserted) return inserted
  // Inserted meanwhile by a racing upload; a row deleted meanwhile makes the caller retry.
  const raced = await find()
  if (!raced) throw new NoResultError(db.selectFrom('package').selectAll().toOperationNode())
  return raced
}

/**
 * Before a delete decides that a version or package is empty: locks their rows (PostgreSQL), so
 * uploads adding to them finish first and the emptiness checks that follow see their rows.
 * Package first, then version: the order uploads take them in.
 */
export async function lockForDelete(db: Db, flavor: Flavor, packageId: number, versionId: number): Promise<void> {
  await lockRowForUpdate(db, flavor, 'package', packageId)
  await lockRowForUpdate(db, flavor, 'package_version', versionId)
}

export interface NewVersion {
  packageId: number
  version: string
  creatorId: number | null
  metadataJson?: string | null
}

/** Inserts the version; a unique violation (it exists) propagates to the caller. */
export async function insertVersion(db: Db, v: NewVersion): Promise<PackageVersion> {
  return db.insertInto('package_version')
    .values({
      package_id: v.packageId, creator_id: v.creatorId, version: v.version, lower_version: v.version.toLowerCase(),
      metadata_json: v.metadataJson ?? null, download_count: 0, created_unix: nowUnix(),
    })
    .returningAll().executeTakeFirstOrThrow()
}

/** The version row, and whether this call created it. */
export async function findOrInsertVersion(db: Db, flavor: Flavor, v: NewVersion): Promise<PackageVersion & { created: boolean }> {
  const lower = v.version.toLowerCase()
  const find = async () => (await statements(db, flavor).findVersion(db, v.packageId, lower))[0]
  // Looked for first: uploads often add files to a version that exists.
  const found = await find()
  if (found) return { ...found, created: false }
  const inserted = await db.insertInto('package_version')
    .values({
      package_id: v.packageId, creator_id: v.creatorId, version: v.version, lower_version: lower,
      metadata_json: v.metadataJson ?? null, download_count: 0, created_unix: nowUnix(),
    })
    .onConflict((oc) => oc.columns(['package_id', 'lower_version']).doNothing())
    .returningAll().executeTakeFirst()
  if (inserted) return { ...inserted, created: true }
  const raced = await find()
  if (!raced) throw new NoResultError(db.selectFrom('package_version').selectAll().toOperationNode())
  return { ...raced, created: false }
}

export async function versionExists(db: Db, packageId: number, version: string): Promise<boolean> {
  const r = await db.selectFrom('package_version').select('id')
    .where('package_id', '=', packageId).where('lower_version', '=', version.toLowerCase()).executeTakeFirst()
  return r !== undefined
}

export async function findOrInsertBlob(db: Db, flavor: Flavor, c: Checksums & { size: number }): Promise<PackageBlob> {
  const st = statements(db, flavor)
  const inserted = (await st.insertBlob(db, c.size, c.md5, c.sha1, c.sha256, c.sha512, nowUnix()))[0]
  if (inserted) return inserted
  const found = (await st.findBlob(db, c.sha256))[0]
  if (!found) throw new NoResultError(db.selectFrom('package_blob').selectAll().toOperationNode())
  return found
}

/** Inserts the file row; a unique violation (the name exists in the version) propagates. */
export async function insertFile(db: Db, flavor: Flavor, f: { versionId: number; blobId: number; name: string; isLead?: boolean }): Promise<PackageFile> {
  const row = (await statements(db, flavor).insertFile(db, f.versionId, f.blobId, f.name, f.name.toLowerCase(), f.isLead ? 1 : 0, nowUnix()))[0]
  if (!row) throw new NoResultError(db.insertInto('package_file').toOperationNode())
  return row
}

export function selectVersions(db: Db) {
  return db.selectFrom('package_version as v')
    .innerJoin('package as p', 'p.id', 'v.package_id')
    .select([
      'v.id as id', 'v.package_id as packageId', 'p.owner_id as ownerId', 'p.type as type', 'p.name as name',
      'v.version as version', 'v.creator_id as creatorId', 'v.metadata_json as metadataJson',
      'v.download_count as downloadCount', 'v.created_unix as createdUnix',
    ])
}

export function selectFiles(db: Db) {
  return db.selectFrom('package_file as f')
    .innerJoin('package_blob as b', 'b.id', 'f.blob_id')
    .select([
      'f.id as id', 'f.version_id as versionId', 'f.name as name', 'f.is_lead as isLead', 'f.created_unix as createdUnix',
      'b.size as size', 'b.hash_md5 as md5', 'b.hash_sha1 as sha1', 'b.hash_sha256 as sha256', 'b.hash_sha512 as sha512',
    ])
}

/**
 * Removes the version when it has no files left, and the package when it has no versions left.
 * Call lockForDelete first in the same transaction.
 */
export async function pruneEmpty(db: Db, versionId: number, packageId: number): Promise<void> {
  await db.deleteFrom('package_version').where('id', '=', versionId)
    .where(({ not, exists, selectFrom }) => not(exists(selectFrom('package_file').select(sql.lit(1).as('one')).where('version_id', '=', versionId))))
    .execute()
  await db.deleteFrom('package').where('id', '=', packageId)
    .where(({ not, exists, selectFrom }) => not(exists(selectFrom('package_version').select(sql.lit(1).as('one')).where('package_id', '=', packageId))))
    .execute()
}
