// The audit log: an append-only record of every change. Mutations call recordAudit(trx, by, entry)
// inside the transaction that makes the change, so a change that commits is recorded and one that
// fails leaves nothing. Details are small JSON objects and never hold secrets.
import { sql, type Kysely } from 'kysely'
import type { AuditActorKind, AuditLog, Database } from '../storage/db/schema.js'

/** Who made a change: a user (and how they signed in), a background job, the CLI. */
export interface AuditBy {
  readonly userId: number | null
  readonly name: string
  readonly kind: AuditActorKind
  readonly tokenName?: string | null
  readonly ip?: string | null
}

export const jobActor = (job: string): AuditBy => ({ userId: null, name: job, kind: 'job' })
export const CLI_ACTOR: AuditBy = { userId: null, name: 'cli', kind: 'cli' }
export const SYSTEM_ACTOR: AuditBy = { userId: null, name: 'system', kind: 'system' }

export type AuditAction =
  | 'package.file.create' | 'package.file.overwrite' | 'package.file.delete'
  | 'package.version.create' | 'package.version.delete' | 'package.settings.change'
  | 'user.create' | 'user.change' | 'user.delete' | 'user.password.change'
  | 'user.2fa.enable' | 'user.2fa.disable' | 'user.2fa.recovery_codes'
  | 'org.create' | 'org.change' | 'org.delete'
  | 'team.create' | 'team.change' | 'team.delete' | 'team.member.add' | 'team.member.remove'
  | 'token.create' | 'token.delete' | 'token.exchange'
  | 'auth.throttled'
  | 'webhook.create' | 'webhook.change' | 'webhook.delete'
  | 'oidc.policy.create' | 'oidc.policy.delete'
  | (string & { readonly __auditAction?: never })

export interface AuditEntry {
  readonly action: AuditAction
  /** The owner whose data changed: its owners see the entry. */
  readonly ownerId?: number | null
  readonly targetType: string
  readonly target: string
  readonly detail?: Readonly<Record<string, unknown>>
}

const MAX_DETAIL = 4000

export async function recordAudit(trx: Kysely<Database>, by: AuditBy | undefined, entry: AuditEntry): Promise<void> {
  const who = by ?? SYSTEM_ACTOR
  let detail = entry.detail && Object.keys(entry.detail).length > 0 ? JSON.stringify(entry.detail) : null
  if (detail && detail.length > MAX_DETAIL) detail = JSON.stringify({ truncated: true })
  await trx.insertInto('audit_log').values({
    created_unix: Math.floor(Date.now() / 1000), actor_id: who.userId, actor_name: who.name.slice(0, 255), actor_kind: who.kind,
    token_name: who.tokenName ?? null, client_ip: who.ip ?? null, action: entry.action, owner_id: entry.ownerId ?? null,
    target_type: entry.targetType, target: entry.target.slice(0, 1000), detail_json: detail,
  }).execute()
}

export interface AuditFilter {
  readonly actor?: string
  readonly action?: string
  /** Substring of the target. */
  readonly target?: string
  readonly ownerId?: number
  readonly sinceUnix?: number
  readonly untilUnix?: number
  readonly page?: number
  readonly limit?: number
}

export class AuditService {
  constructor(private readonly db: Kysely<Database>) {}

  record(trx: Kysely<Database>, by: AuditBy | undefined, entry: AuditEntry): Promise<void> {
    return recordAudit(trx, by, entry)
  }

  #filtered(f: AuditFilter) {
    let q = this.db.selectFrom('audit_log')
    if (f.actor) q = q.where('actor_name', '=', f.actor)
    if (f.action) {
      // An exact name, or a prefix: "package" matches package.file.create, package.version.delete …
      const action = f.action.replace(/\.$/, '')
      const prefix = `${likeEscape(action)}.%`
      q = q.where((eb) => eb.or([eb('action', '=', action), sql<boolean>`action like ${prefix} escape '\\'`]))
    }
    if (f.target) q = q.where(sql<boolean>`lower(target) like ${`%${likeEscape(f.target.toLowerCase())}%`} escape '\\'`)
    if (f.ownerId !== undefined) q = q.where('owner_id', '=', f.ownerId)
    if (f.sinceUnix !== undefined) q = q.where('created_unix', '>=', f.sinceUnix)
    if (f.untilUnix !== undefined) q = q.where('created_unix', '<=', f.untilUnix)
    return q
  }

  /** Newest first. */
  async list(f: AuditFilter = {}): Promise<AuditLog[]> {
    const limit = f.limit ?? 50
    const page = Math.max(1, f.page ?? 1)
    return this.#filtered(f).selectAll().orderBy('id', 'desc').limit(limit).offset((page - 1) * limit).execute()
  }

  async count(f: AuditFilter = {}): Promise<number> {
    const r = await this.#filtered(f).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()
    return Number(r.n)
  }

  /** WHARF_AUDIT_RETENTION: removes entries older than `ms`; returns how many. */
  async prune(ms: number): Promise<number> {
    const cutoff = Math.floor((Date.now() - ms) / 1000)
    const r = await this.db.deleteFrom('audit_log').where('created_unix', '<', cutoff).executeTakeFirst()
    return Number(r.numDeletedRows)
  }
}

function likeEscape(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`)
}

export function auditJson(e: AuditLog) {
  let detail: unknown
  try {
    detail = e.detail_json ? JSON.parse(e.detail_json) : null
  } catch {
    detail = null
  }
  return {
    id: e.id,
    created_at: new Date(e.created_unix * 1000).toISOString(),
    actor: { id: e.actor_id, name: e.actor_name, kind: e.actor_kind, token_name: e.token_name },
    client_ip: e.client_ip,
    action: e.action,
    owner_id: e.owner_id,
    target_type: e.target_type,
    target: e.target,
    detail,
  }
}
