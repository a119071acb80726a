// The composition root: everything HTTP, the CLI and jobs share, built once from a Config.
import path from 'node:path'
import type { Kysely } from 'kysely'
import { ConfigError, type Config } from './config/config.js'
import type { Database } from './storage/db/schema.js'
import type { Flavor } from './storage/db/migrations/flavor.js'
import { openDatabase, ensurePostgresSchema, pingDatabase } from './storage/db/open.js'
import { migrateToLatest } from './storage/db/migrate.js'
import { UserService } from './accounts/users.js'
import { OrgService } from './accounts/orgs.js'
import { TokenService } from './accounts/tokens.js'
import { Authenticator } from './accounts/authenticate.js'
import { SignInThrottle } from './auth/throttle.js'
import { OwnerAccess } from './accounts/owner-access.js'
import { AccountCache } from './accounts/account-cache.js'
import type { BlobStore } from './storage/blobs/blob-store.js'
import { openBlobStore } from './storage/blobs/open.js'
import { InlineBlobStore } from './storage/blobs/inline-blob-store.js'
import { PackageService } from './packages/package-service.js'
import { PackageCatalogue } from './packages/catalogue.js'
import { AccountSecurity } from './accounts/account-security.js'
import { every, type JobLogger } from './jobs/schedule.js'
import { gcBlobs } from './jobs/gc-blobs.js'
import type { Metrics } from './ops/metrics.js'
import { GoProxyCache } from './registries/go/proxy/cache.js'
import { AuditService, recordAudit } from './ops/audit.js'
import { PackageChangeRecorder } from './ops/package-changes.js'
import { WebhookService } from './ops/webhooks.js'
import { OidcService } from './ops/oidc.js'
import { PackageSettingsService } from './packages/package-settings.js'
import { QuotaService } from './packages/quota.js'
import { CleanupService } from './packages/cleanup.js'
import { runCleanupRules } from './jobs/cleanup-rules.js'

export interface Services {
  readonly config: Config
  readonly db: Kysely<Database>
  readonly flavor: Flavor
  readonly users: UserService
  readonly orgs: OrgService
  readonly tokens: TokenService
  readonly auth: Authenticator
  readonly access: OwnerAccess
  readonly blobs: BlobStore
  readonly packages: PackageService
  /** Read-only listings and search across owners, for the web UI. */
  readonly catalogue: PackageCatalogue
  /** Password change, two-factor, sessions, and the cache invalidation they need. */
  readonly security: AccountSecurity
  /** Per-package overwrite policy and protected versions (issue 11). */
  readonly packageSettings: PackageSettingsService
  /** Owner quotas: limits, overrides, usage. */
  readonly quota: QuotaService
  /** Cleanup rules, their preview and runs. */
  readonly cleanup: CleanupService
  readonly tmpDir: string
  /** Set when WHARF_METRICS is on; nothing is measured otherwise. */
  readonly metrics?: Metrics
  /** The Go proxy cache of upstream modules and checksum database answers (issue 12). */
  readonly goProxy: GoProxyCache
  readonly audit: AuditService
  readonly webhooks: WebhookService
  /** OIDC trusted publishing: trust policies and the ID-token exchange. */
  readonly oidc: OidcService
  /** Starts the blob GC job (`wharf web`); it stops on close(). Download counts flush regardless. */
  startJobs(log: JobLogger): void
  /** WHARF_PUBLIC_URL, else the address the server listens on (set by `wharf web` after listen). */
  publicUrl(): URL
  setListenUrl(url: URL): void
  /** Called by close(), last registered first (blob store, job runners, …). */
  onClose(fn: () => Promise<void>): void
  /** Round trips to every backing store; throws when one does not answer. */
  health(): Promise<Record<string, boolean>>
  close(): Promise<void>
}

export async function openServices(config: Config, opts: { migrate?: boolean } = {}): Promise<Services> {
  if (config.databaseUrl.startsWith('postgres')) await ensurePostgresSchema(config.databaseUrl)
  // prom-client is loaded only when metrics are on (idle memory).
  const metrics = config.metrics.enabled ? new (await import('./ops/metrics.js')).Metrics() : undefined
  const { db: base, flavor } = openDatabase(config.databaseUrl, {
    pool: config.databasePool,
    ...(metrics ? { log: (e) => (e.level === 'query' ? metrics.dbQuery(e.queryDurationMillis / 1000) : metrics.dbError()) } : {}),
  })
  try {
    if (opts.migrate !== false) {
      const sqliteFile = flavor === 'sqlite' ? config.databaseUrl.slice('sqlite:'.length) : undefined
      await migrateToLatest(base, flavor, { sqliteFile })
    }
  } catch (err) {
    await base.destroy()
    throw err
  }
  // Every statement goes through the account cache's plugin, so any write to an account table
  // (whoever makes it) empties the cached owner, membership and token lookups at once.
  const accounts = new AccountCache()
  const db = base.withPlugin(accounts.plugin())
  const users = new UserService(db, flavor, accounts, config.passwordHashCost)
  const orgs = new OrgService(db, flavor, accounts)
  const tokens = new TokenService(db, accounts)
  const auth = new Authenticator(users, tokens, new SignInThrottle(db), (name, ip, scope) => recordAudit(db, { userId: null, name: 'anonymous', kind: 'anonymous', ip },
    { action: 'auth.throttled', targetType: 'user', target: name,
      detail: { reason: scope === 'address' ? 'too many failed sign-ins' : 'too many failed sign-ins from any address' } }))
  const access = new OwnerAccess(users, orgs, config)
  let blobs: BlobStore
  try {
    blobs = await openBlobStore(config.storageUrl, config.storageOptions)
    // Always in front, also with WHARF_STORAGE_INLINE_MAX=0: blobs kept inline before stay readable.
    blobs = new InlineBlobStore(db, blobs, config.storageInlineMax)
    if (metrics) blobs = metrics.instrumentBlobs(blobs)
  } catch (err) {
    await db.destroy()
    // One line a user can act on (missing bucket, refused credentials, unreachable endpoint), not a stack.
    throw new ConfigError('WHARF_STORAGE_URL', err instanceof Error ? err.message : String(err))
  }
  const tmpDir = path.join(config.dataDir, 'tmp')
  const audit = new AuditService(db)
  const quota = new QuotaService(db, flavor, config.quota)
  const oidc = new OidcService(db, tokens, config.oidc)
  const webhooks = new WebhookService(db, config.webhooks, () => config.publicUrl ?? listenUrl)
  const packages = new PackageService(db, flavor, blobs, tmpDir, config.limits, new PackageChangeRecorder(webhooks), quota)
  const catalogue = new PackageCatalogue(db, users, access)
  const security = new AccountSecurity(db, users, tokens, auth)
  const packageSettings = new PackageSettingsService(db)
  const cleanup = new CleanupService(db, packages)
  const goProxy = new GoProxyCache({ db, flavor, blobs, tmpDir, config: config.goProxy })
  const closers: Array<() => Promise<void>> = []
  const consoleLog: JobLogger = { error: (obj, msg) => console.error(msg, obj) }
  // Registered first so it runs last: counts gathered until the very end still get written.
  closers.push(async () => {
    await flush.stop()
    await packages.downloads.flush().catch((err: unknown) => consoleLog.error({ err }, 'download count flush failed'))
    await blobs.close()
  })
  let flushLog: JobLogger = consoleLog
  const timed = <T>(job: string, run: () => Promise<T>): Promise<T> => (metrics ? metrics.timeJob(job, run) : run())
  const flush = every(config.downloadFlushMs, 'flush-downloads', () => timed('flush-downloads', () => packages.downloads.flush()), { error: (o, m) => flushLog.error(o, m) })
  let jobsStarted = false
  let listenUrl = new URL(`http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${config.port}/`)
  return {
    config, db, flavor, users, orgs, tokens, auth, access, blobs, packages, catalogue, security, packageSettings, quota, cleanup, tmpDir, metrics, goProxy, audit, webhooks, oidc,
    startJobs(log) {
      if (jobsStarted) return
      jobsStarted = true
      flushLog = log
      const gc = every(config.gc.intervalMs, 'gc-blobs', async (signal) => {
        const r = await timed('gc-blobs', () => gcBlobs({ db, flavor, blobs, tmpDir, graceMs: config.gc.graceMs }, signal))
        metrics?.jobRemoved('gc-blobs', 'blob_rows', r.blobRows)
        metrics?.jobRemoved('gc-blobs', 'blob_files', r.blobFiles)
        metrics?.jobRemoved('gc-blobs', 'tmp_files', r.tmpFiles)
        if (r.blobRows + r.blobFiles + r.tmpFiles > 0) log.info?.({ job: 'gc-blobs', ...r }, 'removed unreferenced blobs and leftovers')
      }, log)
      closers.push(() => gc.stop())
      const unusedMs = config.goProxy.cacheUnusedMs
      if (unusedMs !== undefined) {
        // Each instance may run it: the delete is idempotent, and the blob GC (locked) frees the bytes.
        const evict = every(Math.min(unusedMs, 3_600_000), 'go-proxy-evict', async () => {
          const n = await goProxy.evictUnused(unusedMs)
          if (n > 0) log.info?.({ job: 'go-proxy-evict', versions: n }, 'evicted unused upstream module versions')
        }, log)
        closers.push(() => evict.stop())
      }
      const deliver = every(1000, 'webhook-delivery', async () => {
        await timed('webhook-delivery', () => webhooks.deliverDue())
      }, log)
      closers.push(() => deliver.stop())
      const retention = config.auditRetentionMs
      if (retention !== undefined) {
        const prune = every(Math.min(retention, 3_600_000), 'prune-audit', async () => {
          const n = await timed('prune-audit', () => audit.prune(retention))
          metrics?.jobRemoved('prune-audit', 'audit_entries', n)
          if (n > 0) log.info?.({ job: 'prune-audit', removed: n }, 'removed audit entries past WHARF_AUDIT_RETENTION')
        }, log)
        closers.push(() => prune.stop())
      }
      if (config.cleanupIntervalMs > 0) {
        // Ticks at least hourly; the lease makes one instance run the rules once per interval.
        const cleanupJob = every(Math.min(config.cleanupIntervalMs, 3_600_000), 'cleanup-rules', async (signal) => {
          await runCleanupRules({ db, cleanup, intervalMs: config.cleanupIntervalMs }, log, signal)
        }, log)
        closers.push(() => cleanupJob.stop())
      }
    },
    publicUrl: () => config.publicUrl ?? listenUrl,
    setListenUrl(url: URL) {
      listenUrl = url
    },
    onClose(fn) {
      closers.push(fn)
    },
    async health() {
      let database = true
      try {
        await pingDatabase(db)
      } catch {
        database = false
      }
      let storage = true
      try {
        await blobs.ping()
      } catch {
        storage = false
      }
      return { database, blobs: storage }
    },
    async close() {
      for (const c of closers.reverse()) await c()
      await db.destroy()
    },
  }
}
