// Per-package release policy (issue 11): whether files of existing versions may be replaced
// (`overwrite` for versions matching a glob; Gitea's `immutable` 409 otherwise), and which
// versions are protected: never overwritten or deleted, not even by cleanup rules.
import { recordAudit, type AuditBy } from '../ops/audit.js'
import type { Kysely } from 'kysely'
import type { Database, OverwritePolicy } from '../storage/db/schema.js'
import { forbidden, invalid } from '../errors.js'
import { checkGlob, globMatches } from './version-glob.js'
import { nowUnix } from './package-rows.js'

export interface PackageKey {
  readonly ownerId: number
  readonly type: string
  readonly name: string
}

export interface PackageSettings {
  readonly overwrite: OverwritePolicy
  /** Glob of versions whose files may be replaced (with overwrite); '' = none. */
  readonly overwriteVersions: string
  /** Glob of protected versions; '' = none. */
  readonly protectedVersions: string
}

export const DEFAULT_SETTINGS: PackageSettings = Object.freeze({ overwrite: 'immutable', overwriteVersions: '', protectedVersions: '' })

export const isProtected = (s: PackageSettings, version: string) => globMatches(s.protectedVersions, version)

/** May an existing file of `version` be replaced? Never for a protected version. */
export const mayOverwrite = (s: PackageSettings, version: string) =>
  s.overwrite === 'overwrite' && globMatches(s.overwriteVersions, version) && !isProtected(s, version)

/** Package types whose versions can never be overwritten (a Go module version is immutable by design). */
const IMMUTABLE_TYPES = new Set(['go'])

/** The settings row of a package (PackageService prepares it once for its uploads). */
export const settingsQuery = (db: Kysely<Database>, ownerId: number, type: string, lowerName: string) =>
  db.selectFrom('package_setting').select(['overwrite', 'overwrite_versions', 'protected_versions'])
    .where('owner_id', '=', ownerId).where('type', '=', type).where('lower_name', '=', lowerName)

export function toSettings(r: { overwrite: OverwritePolicy; overwrite_versions: string; protected_versions: string } | undefined): PackageSettings {
  return r ? { overwrite: r.overwrite, overwriteVersions: r.overwrite_versions, protectedVersions: r.protected_versions } : DEFAULT_SETTINGS
}

export async function readSettings(db: Kysely<Database>, key: PackageKey): Promise<PackageSettings> {
  return toSettings(await settingsQuery(db, key.ownerId, key.type, key.name.toLowerCase()).executeTakeFirst())
}

/** Validates a change: the full new settings, with missing fields kept from `current`. */
export function mergeSettings(type: string, current: PackageSettings, change: Partial<Record<keyof PackageSettings, unknown>>): PackageSettings {
  const str = (k: keyof PackageSettings, label: string): string => {
    const v = change[k]
    if (v === undefined || v === null) return current[k]
    if (typeof v !== 'string') throw invalid(`${label} must be a string`)
    return checkGlob(label, v)
  }
  const overwrite = str('overwrite', 'overwrite')
  if (overwrite !== 'immutable' && overwrite !== 'overwrite') throw invalid("overwrite must be 'immutable' or 'overwrite'")
  const next: PackageSettings = {
    overwrite,
    overwriteVersions: str('overwriteVersions', 'overwrite_versions'),
    protectedVersions: str('protectedVersions', 'protected_versions'),
  }
  if (next.overwrite === 'overwrite' && IMMUTABLE_TYPES.has(type)) throw invalid(`${type} package versions are immutable and cannot be overwritten`)
  if (next.overwrite === 'overwrite' && next.overwriteVersions === '') throw invalid('overwrite_versions: name the versions that may be overwritten (* for all)')
  return next
}

export class PackageSettingsService {
  constructor(private readonly db: Kysely<Database>) {}

  get(key: PackageKey): Promise<PackageSettings> {
    return readSettings(this.db, key)
  }

  /**
   * Stores new settings in one transaction. Only someone who may administer the owner
   * (`mayUnprotect`: the user itself, an organization owner, a site admin) may change or lift an
   * existing protection; anyone with write access may protect versions that were not.
   * Returns the settings before and after (for the audit log).
   */
  async update(key: PackageKey, change: Partial<Record<keyof PackageSettings, unknown>>, opts: { mayUnprotect: boolean; by?: AuditBy }): Promise<{ before: PackageSettings; after: PackageSettings }> {
    return this.db.transaction().execute(async (trx) => {
      const before = await readSettings(trx, key)
      const after = mergeSettings(key.type, before, change)
      if (before.protectedVersions !== '' && after.protectedVersions !== before.protectedVersions && !opts.mayUnprotect) {
        throw forbidden('only an owner of the package\'s owner or a site admin may change which versions are protected')
      }
      const row = {
        overwrite: after.overwrite, overwrite_versions: after.overwriteVersions, protected_versions: after.protectedVersions,
        updated_unix: nowUnix(),
      }
      await trx.insertInto('package_setting')
        .values({ owner_id: key.ownerId, type: key.type, lower_name: key.name.toLowerCase(), ...row })
        .onConflict((oc) => oc.columns(['owner_id', 'type', 'lower_name']).doUpdateSet(row))
        .execute()
      await recordAudit(trx, opts.by, {
        action: 'package.settings.change', ownerId: key.ownerId, targetType: 'package', target: `${key.type}/${key.name}`,
        detail: { before, after },
      })
      return { before, after }
    })
  }
}
