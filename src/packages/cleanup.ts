// Cleanup rules, as Gitea has them (services/packages/cleanup): per owner and package type —
// keep the N newest versions of each package, keep versions matching a pattern, remove versions
// older than N days, remove only versions matching a pattern, matched against the version or
// "name/version". Patterns are regular expressions with RE2 semantics (re2js): matching takes
// linear time, so no pattern a user types can hang the server. Protected versions are never removed.
// preview() and run() share one plan, so a preview lists exactly what a run then removes.
import { jobActor } from '../ops/audit.js'
import type { Kysely } from 'kysely'
import { RE2JS } from 're2js'
import type { Database, PackageCleanupRule } from '../storage/db/schema.js'
import { WharfError, invalid, notFound } from '../errors.js'
import { nowUnix } from './package-rows.js'
import { isProtected, readSettings } from './package-settings.js'
import type { PackageService } from './package-service.js'

export const MAX_PATTERN = 1024
const MAX_LOGGED = 10_000

export interface CleanupRuleInput {
  enabled?: unknown
  keep_count?: unknown
  keep_pattern?: unknown
  remove_days?: unknown
  remove_pattern?: unknown
  match_full_name?: unknown
}

export interface CleanupRuleView {
  readonly id: number
  readonly ownerId: number
  readonly type: string
  readonly enabled: boolean
  readonly keepCount: number
  readonly keepPattern: string
  readonly removeDays: number
  readonly removePattern: string
  readonly matchFullName: boolean
  readonly createdUnix: number
  readonly updatedUnix: number
}

export interface CleanupCandidate {
  readonly name: string
  readonly version: string
  readonly createdUnix: number
}

export interface CleanupRunView {
  readonly id: number
  readonly type: string
  readonly trigger: string
  readonly removed: CleanupCandidate[]
  readonly removedCount: number
  readonly createdUnix: number
}

export interface CleanupLog {
  info?(obj: object, msg: string): void
}

/** A pattern compiled for a case-insensitive whole-string match (Gitea: `(?i)\A…\z`); undefined when empty. */
export function compilePattern(label: string, pattern: string): RE2JS | undefined {
  if (pattern === '') return undefined
  if (pattern.length > MAX_PATTERN) throw invalid(`${label}: at most ${MAX_PATTERN} characters`)
  try {
    return RE2JS.compile(pattern, RE2JS.CASE_INSENSITIVE)
  } catch (err) {
    throw invalid(`${label}: not a valid regular expression (RE2 syntax): ${(err as Error).message}`)
  }
}

function view(r: PackageCleanupRule): CleanupRuleView {
  return {
    id: r.id, ownerId: r.owner_id, type: r.type, enabled: !!r.enabled, keepCount: r.keep_count, keepPattern: r.keep_pattern,
    removeDays: r.remove_days, removePattern: r.remove_pattern, matchFullName: !!r.match_full_name,
    createdUnix: r.created_unix, updatedUnix: r.updated_unix,
  }
}

function validate(input: CleanupRuleInput, current?: CleanupRuleView) {
  const bool = (v: unknown, k: string, def: boolean) => {
    if (v === undefined || v === null) return def
    if (typeof v !== 'boolean') throw invalid(`${k} must be true or false`)
    return v
  }
  const int = (v: unknown, k: string, def: number) => {
    if (v === undefined || v === null) return def
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0 || v > 1_000_000) throw invalid(`${k} must be a whole number from 0 to 1000000`)
    return v
  }
  const str = (v: unknown, k: string, def: string) => {
    if (v === undefined || v === null) return def
    if (typeof v !== 'string') throw invalid(`${k} must be a string`)
    compilePattern(k, v.trim())
    return v.trim()
  }
  return {
    enabled: bool(input.enabled, 'enabled', current?.enabled ?? false) ? 1 : 0,
    keep_count: int(input.keep_count, 'keep_count', current?.keepCount ?? 0),
    keep_pattern: str(input.keep_pattern, 'keep_pattern', current?.keepPattern ?? ''),
    remove_days: int(input.remove_days, 'remove_days', current?.removeDays ?? 0),
    remove_pattern: str(input.remove_pattern, 'remove_pattern', current?.removePattern ?? ''),
    match_full_name: bool(input.match_full_name, 'match_full_name', current?.matchFullName ?? false) ? 1 : 0,
  }
}

export class CleanupService {
  constructor(private readonly db: Kysely<Database>, private readonly packages: PackageService) {}

  async list(ownerId: number): Promise<CleanupRuleView[]> {
    const rows = await this.db.selectFrom('package_cleanup_rule').selectAll().where('owner_id', '=', ownerId).orderBy('type').execute()
    return rows.map(view)
  }

  async find(ownerId: number, type: string): Promise<CleanupRuleView | undefined> {
    const r = await this.db.selectFrom('package_cleanup_rule').selectAll().where('owner_id', '=', ownerId).where('type', '=', type).executeTakeFirst()
    return r ? view(r) : undefined
  }

  async get(ownerId: number, type: string): Promise<CleanupRuleView> {
    const r = await this.find(ownerId, type)
    if (!r) throw notFound(`cleanup rule for ${type} packages`)
    return r
  }

  /** Creates or changes the owner's rule for `type`; fields left out keep their value (or Gitea's default). */
  async put(ownerId: number, type: string, input: CleanupRuleInput): Promise<{ before?: CleanupRuleView; after: CleanupRuleView }> {
    return this.db.transaction().execute(async (trx) => {
      const r = await trx.selectFrom('package_cleanup_rule').selectAll().where('owner_id', '=', ownerId).where('type', '=', type).executeTakeFirst()
      const before = r ? view(r) : undefined
      const row = { ...validate(input, before), updated_unix: nowUnix() }
      await trx.insertInto('package_cleanup_rule').values({ owner_id: ownerId, type, ...row, created_unix: nowUnix() })
        .onConflict((oc) => oc.columns(['owner_id', 'type']).doUpdateSet(row)).execute()
      const after = view(await trx.selectFrom('package_cleanup_rule').selectAll().where('owner_id', '=', ownerId).where('type', '=', type).executeTakeFirstOrThrow())
      return { before, after }
    })
  }

  async delete(ownerId: number, type: string): Promise<void> {
    const r = await this.db.deleteFrom('package_cleanup_rule').where('owner_id', '=', ownerId).where('type', '=', type).executeTakeFirst()
    if (Number(r.numDeletedRows) === 0) throw notFound(`cleanup rule for ${type} packages`)
  }

  /** What a run of `rule` would remove now, package by package (Gitea's ExecuteCleanupRules). */
  async preview(rule: CleanupRuleView, now = Date.now()): Promise<CleanupCandidate[]> {
    const keep = compilePattern('keep_pattern', rule.keepPattern)
    const remove = compilePattern('remove_pattern', rule.removePattern)
    const olderThan = Math.floor(now / 1000) - rule.removeDays * 86_400
    const pkgs = await this.db.selectFrom('package').select(['id', 'name'])
      .where('owner_id', '=', rule.ownerId).where('type', '=', rule.type).orderBy('lower_name').execute()
    const out: CleanupCandidate[] = []
    for (const p of pkgs) {
      const settings = await readSettings(this.db, { ownerId: rule.ownerId, type: rule.type, name: p.name })
      const versions = await this.db.selectFrom('package_version').select(['version', 'lower_version', 'created_unix'])
        .where('package_id', '=', p.id).orderBy('created_unix', 'desc').orderBy('id', 'desc').execute()
      for (const [i, v] of versions.entries()) {
        if (i < rule.keepCount) continue
        const subject = rule.matchFullName ? `${p.name.toLowerCase()}/${v.lower_version}` : v.lower_version
        if (keep?.matches(subject)) continue
        if (v.created_unix > olderThan) continue
        if (remove && !remove.matches(subject)) continue
        if (isProtected(settings, v.version)) continue
        out.push({ name: p.name, version: v.version, createdUnix: v.created_unix })
      }
    }
    return out
  }

  /**
   * Removes what preview() lists, each version through PackageService.deleteVersion (one
   * transaction each, which refuses protected versions again), and records the run.
   */
  async run(rule: CleanupRuleView, trigger: 'schedule' | 'manual', log?: CleanupLog, signal?: AbortSignal): Promise<CleanupCandidate[]> {
    const removed: CleanupCandidate[] = []
    for (const c of await this.preview(rule)) {
      if (signal?.aborted) break
      try {
        await this.packages.deleteVersion({ ownerId: rule.ownerId, type: rule.type, name: c.name, version: c.version }, jobActor(`cleanup-rule ${rule.id}`))
        removed.push(c)
      } catch (err) {
        // Gone meanwhile, or protected since the plan was made: not removed, not an error.
        if (err instanceof WharfError && (err.kind === 'not_found' || err.kind === 'forbidden')) continue
        throw err
      }
    }
    await this.db.insertInto('package_cleanup_run').values({
      owner_id: rule.ownerId, type: rule.type, trigger, removed_count: removed.length,
      removed_json: JSON.stringify(removed.slice(0, MAX_LOGGED).map((c) => ({ name: c.name, version: c.version }))),
      created_unix: nowUnix(),
    }).execute()
    if (removed.length > 0) {
      log?.info?.({ job: 'cleanup-rules', ownerId: rule.ownerId, type: rule.type, trigger, removed: removed.map((c) => `${c.name} ${c.version}`) }, 'cleanup rule removed package versions')
    }
    return removed
  }

  /** Every enabled rule, one after the other (the daily job). */
  async runEnabled(log?: CleanupLog, signal?: AbortSignal): Promise<{ rules: number; removed: number }> {
    const rules = (await this.db.selectFrom('package_cleanup_rule').selectAll().where('enabled', '=', 1).orderBy('id').execute()).map(view)
    let removed = 0
    for (const r of rules) {
      if (signal?.aborted) break
      removed += (await this.run(r, 'schedule', log, signal)).length
    }
    return { rules: rules.length, removed }
  }

  /** The owner's last runs, newest first. */
  async runs(ownerId: number, limit = 20): Promise<CleanupRunView[]> {
    const rows = await this.db.selectFrom('package_cleanup_run').selectAll().where('owner_id', '=', ownerId)
      .orderBy('created_unix', 'desc').orderBy('id', 'desc').limit(limit).execute()
    return rows.map((r) => ({
      id: r.id, type: r.type, trigger: r.trigger, removedCount: r.removed_count, createdUnix: r.created_unix,
      removed: (JSON.parse(r.removed_json) as Array<{ name: string; version: string }>).map((x) => ({ ...x, createdUnix: 0 })),
    }))
  }
}
