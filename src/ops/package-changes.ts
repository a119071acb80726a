// What a package change writes beside itself, in its transaction: one audit entry, and the webhook
// outbox rows of a `package` event (Gitea fires `created` when a version appears, `deleted` when one
// goes). PackageService calls record(); it knows nothing of audit or webhooks.
import type { Kysely } from 'kysely'
import type { Database } from '../storage/db/schema.js'
import type { PackageChange, PackageChangeSink } from '../packages/package-service.js'
import { recordAudit, type AuditBy } from './audit.js'

export interface PackageEventSink {
  packageEvent(trx: Kysely<Database>, by: AuditBy | undefined, e: {
    action: 'created' | 'deleted'
    ownerId: number
    versionId: number
    type: string
    name: string
    version: string
    creatorId: number | null
    createdUnix: number
  }): Promise<void>
}

export class PackageChangeRecorder implements PackageChangeSink {
  constructor(private readonly events?: PackageEventSink) {}

  async record(trx: Kysely<Database>, by: AuditBy | undefined, c: PackageChange): Promise<void> {
    const { ownerId, type, name, version } = c.ref
    const target = `${type}/${name}/${version}`
    switch (c.kind) {
      case 'file.create': {
        await recordAudit(trx, by, {
          action: c.replaced ? 'package.file.overwrite' : 'package.file.create', ownerId, targetType: 'package', target: `${target}/${c.ref.file}`,
          detail: { size: c.size, sha256: c.sha256, version_created: c.versionCreated },
        })
        if (c.versionCreated && this.events) {
          const v = await trx.selectFrom('package_version').select(['creator_id', 'created_unix']).where('id', '=', c.versionId).executeTakeFirstOrThrow()
          await this.events.packageEvent(trx, by, { action: 'created', ownerId, versionId: c.versionId, type, name, version, creatorId: v.creator_id, createdUnix: v.created_unix })
        }
        return
      }
      case 'file.delete':
        await recordAudit(trx, by, {
          action: 'package.file.delete', ownerId, targetType: 'package', target: `${target}/${c.ref.file}`,
          detail: { version_deleted: c.versionDeleted },
        })
        if (c.versionDeleted) await this.#deleted(trx, by, c.version)
        return
      case 'version.delete':
        await recordAudit(trx, by, { action: 'package.version.delete', ownerId, targetType: 'package', target, detail: { files: c.files } })
        await this.#deleted(trx, by, c.version)
    }
  }

  async #deleted(trx: Kysely<Database>, by: AuditBy | undefined, v: Extract<PackageChange, { kind: 'version.delete' }>['version']): Promise<void> {
    await this.events?.packageEvent(trx, by, {
      action: 'deleted', ownerId: v.ownerId, versionId: v.id, type: v.type, name: v.name, version: v.version, creatorId: v.creatorId, createdUnix: v.createdUnix,
    })
  }
}
