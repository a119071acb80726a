// The only reader of process.env. Every setting of docs/configuration.md is parsed here, once, into a frozen Config.
import path from 'node:path'
import { readFileSync } from 'node:fs'
import { isIP } from 'node:net'
import { packageTypes } from '../registries/index.js'
import { DEFAULT_PASSWORD_COST, MAX_PASSWORD_COST, MIN_PASSWORD_COST } from '../auth/passwords.js'
import { parseS3Url } from '../storage/blobs/s3-url.js'
import {
  SettingError, parseModuleGlobs, parseSumdbList, parseUpstreamList, type SumdbSetting, type UpstreamProxy,
} from '../registries/go/proxy/settings.js'
import os from 'node:os'

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent'
const LOG_LEVELS: readonly LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']

export interface Config {
  readonly host: string
  readonly port: number
  readonly dataDir: string
  readonly databaseUrl: string
  /** WHARF_DATABASE_POOL: PostgreSQL connections per process (SQLite: unused). */
  readonly databasePool: number
  readonly storageUrl: string
  /** For s3:// storage: from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, and AWS_REGION. */
  readonly storageOptions: { readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string; readonly sessionToken?: string }; readonly defaultRegion?: string }
  /**
   * WHARF_STORAGE_INLINE_MAX: blobs up to this size are kept in the database rather than the store
   * (storage/blobs/inline-blob-store.ts); 0 = never.
   */
  readonly storageInlineMax: number
  /** WHARF_STORAGE_SERVE_DIRECT: 'redirect' (true: 307 to a presigned S3 URL), 'x-accel' (nginx), or off. */
  readonly serveDirect: 'off' | 'redirect' | 'x-accel'
  readonly tls?: { readonly cert: Buffer; readonly key: Buffer }
  /** Set when WHARF_PUBLIC_URL is given; otherwise derived from the bound address after listen. */
  readonly publicUrl?: URL
  readonly requireSignInView: boolean
  readonly logLevel: LogLevel
  readonly bootstrapAdmin?: { readonly username: string; readonly password: string; readonly email?: string }
  /** Largest file accepted per package type (its RegistryModule.sizeLimitSetting); absent = no limit. */
  readonly limits: Readonly<Record<string, number | undefined>>
  /** Gitea's owner quotas (WHARF_LIMIT_TOTAL_OWNER_SIZE / _COUNT); undefined = no limit. */
  readonly quota: { readonly size?: number; readonly count?: number }
  /** How often enabled cleanup rules run (WHARF_CLEANUP_INTERVAL, default daily). */
  readonly cleanupIntervalMs: number
  readonly gc: { readonly intervalMs: number; readonly graceMs: number }
  readonly downloadFlushMs: number
  readonly shutdownGraceMs: number
  /** log2 of scrypt's N for new password hashes (WHARF_PASSWORD_HASH_COST, default 17: OWASP's N=2^17). */
  readonly passwordHashCost: number
  /** WHARF_METRICS: GET /metrics; WHARF_METRICS_TOKEN: the Bearer token it then needs. */
  readonly metrics: { readonly enabled: boolean; readonly token?: string }
  /** WHARF_AUDIT_RETENTION: audit entries older than this are removed; undefined = kept. */
  readonly auditRetentionMs?: number
  /** Package webhooks: WHARF_WEBHOOK_ALLOWED_HOSTS, WHARF_WEBHOOK_TIMEOUT, WHARF_WEBHOOK_BACKOFF. */
  readonly webhooks: { readonly allowedHosts: readonly string[]; readonly timeoutMs: number; readonly backoffMs: number }
  /** OIDC trusted publishing: WHARF_OIDC_ALLOWED_HOSTS (issuers reachable over http or on private addresses), WHARF_OIDC_JWKS_COOLDOWN. */
  readonly oidc: { readonly allowedHosts: readonly string[]; readonly jwksCooldownMs: number }
  readonly goProxy: GoProxyConfig
  /** Worker processes behind the one port (node:cluster); 1 = serve from this process. */
  readonly workers: number
}

/** The Go proxy cache and checksum database pass-through (docs/go.md). */
export interface GoProxyConfig {
  /** WHARF_GO_UPSTREAM; empty = no upstream (hosted modules only). */
  readonly upstream: readonly UpstreamProxy[]
  /** WHARF_GO_PRIVATE: module path globs never requested upstream. */
  readonly private: readonly string[]
  /** WHARF_GO_UPSTREAM_MIN_AGE: upstream versions younger than this are held back. */
  readonly minAgeMs?: number
  /** WHARF_GO_UPSTREAM_ANONYMOUS: anonymous reads of a public owner may reach the upstream. */
  readonly anonymous: boolean
  /** WHARF_GO_UPSTREAM_LIST_TTL: how long @v/list, @latest and sumdb `latest` answers are reused. */
  readonly listTtlMs: number
  /** WHARF_GO_UPSTREAM_TIMEOUT: the longest wait for an upstream's headers or its next bytes. */
  readonly timeoutMs: number
  /** WHARF_GO_UPSTREAM_CACHE_UNUSED: cached versions unused this long are evicted; undefined = kept. */
  readonly cacheUnusedMs?: number
  /** WHARF_GO_SUMDB: checksum databases served under /sumdb/<name>/. */
  readonly sumdb: readonly SumdbSetting[]
}

export class ConfigError extends Error {
  constructor(readonly variable: string, problem: string) {
    super(`${variable}: ${problem}`)
    this.name = 'ConfigError'
  }
}

export type Env = Readonly<Record<string, string | undefined>>

export function loadConfig(env: Env, flags: { host?: string; port?: string | number } = {}): Config {
  const dataDir = path.resolve(nonEmpty(env, 'WHARF_DATA') ?? './data')
  const databaseUrl = parseDatabaseUrl('WHARF_DATABASE_URL', nonEmpty(env, 'WHARF_DATABASE_URL') ?? `sqlite:${path.join(dataDir, 'wharf.db')}`)
  const defaultRegion = nonEmpty(env, 'AWS_REGION') ?? nonEmpty(env, 'AWS_DEFAULT_REGION')
  const storageUrl = parseStorageUrl('WHARF_STORAGE_URL', nonEmpty(env, 'WHARF_STORAGE_URL') ?? `file:${path.join(dataDir, 'blobs')}`, defaultRegion)
  const storageOptions = { credentials: awsCredentials(env), defaultRegion }
  const serveDirect = parseServeDirect('WHARF_STORAGE_SERVE_DIRECT', nonEmpty(env, 'WHARF_STORAGE_SERVE_DIRECT') ?? 'false', storageUrl)
  const host = flags.host ?? nonEmpty(env, 'WHARF_HOST') ?? '127.0.0.1'
  const port = flags.port !== undefined ? parsePort('--port', String(flags.port)) : parsePort('WHARF_PORT', nonEmpty(env, 'WHARF_PORT') ?? '3000')
  const publicUrlRaw = nonEmpty(env, 'WHARF_PUBLIC_URL')
  let publicUrl: URL | undefined
  if (publicUrlRaw !== undefined) {
    try {
      publicUrl = new URL(publicUrlRaw.endsWith('/') ? publicUrlRaw : `${publicUrlRaw}/`)
    } catch {
      throw new ConfigError('WHARF_PUBLIC_URL', `not a URL: '${publicUrlRaw}'`)
    }
    if (publicUrl.protocol !== 'http:' && publicUrl.protocol !== 'https:') {
      throw new ConfigError('WHARF_PUBLIC_URL', `expected an http:// or https:// URL, got '${publicUrlRaw}'`)
    }
  }
  const certPath = nonEmpty(env, 'WHARF_TLS_CERT')
  const keyPath = nonEmpty(env, 'WHARF_TLS_KEY')
  let tls: Config['tls']
  if (certPath !== undefined || keyPath !== undefined) {
    if (certPath === undefined) throw new ConfigError('WHARF_TLS_CERT', 'must be set together with WHARF_TLS_KEY')
    if (keyPath === undefined) throw new ConfigError('WHARF_TLS_KEY', 'must be set together with WHARF_TLS_CERT')
    tls = { cert: readPem('WHARF_TLS_CERT', certPath), key: readPem('WHARF_TLS_KEY', keyPath) }
  }
  const adminName = nonEmpty(env, 'WHARF_ADMIN_USERNAME')
  const adminPassword = nonEmpty(env, 'WHARF_ADMIN_PASSWORD')
  const adminEmail = nonEmpty(env, 'WHARF_ADMIN_EMAIL')
  return Object.freeze({
    host,
    port,
    dataDir,
    databaseUrl,
    databasePool: parseIntIn('WHARF_DATABASE_POOL', nonEmpty(env, 'WHARF_DATABASE_POOL') ?? String(defaultDatabasePool()), 1, 1000),
    storageUrl,
    storageOptions: Object.freeze(storageOptions),
    storageInlineMax: parseInlineMax('WHARF_STORAGE_INLINE_MAX', nonEmpty(env, 'WHARF_STORAGE_INLINE_MAX') ?? String(INLINE_MAX_DEFAULT)),
    serveDirect,
    tls,
    publicUrl,
    requireSignInView: parseBool('WHARF_REQUIRE_SIGNIN_VIEW', nonEmpty(env, 'WHARF_REQUIRE_SIGNIN_VIEW') ?? 'false'),
    logLevel: parseLogLevel('WHARF_LOG_LEVEL', nonEmpty(env, 'WHARF_LOG_LEVEL') ?? 'info'),
    bootstrapAdmin: adminName !== undefined && adminPassword !== undefined
      ? { username: adminName, password: adminPassword, email: adminEmail }
      : undefined,
    limits: Object.freeze(Object.fromEntries(packageTypes.map((t) =>
      [t.name, optionalSize(t.sizeLimitSetting, nonEmpty(env, t.sizeLimitSetting))]))),
    quota: Object.freeze({
      size: optionalLimit('WHARF_LIMIT_TOTAL_OWNER_SIZE', nonEmpty(env, 'WHARF_LIMIT_TOTAL_OWNER_SIZE'), parseSize),
      count: optionalLimit('WHARF_LIMIT_TOTAL_OWNER_COUNT', nonEmpty(env, 'WHARF_LIMIT_TOTAL_OWNER_COUNT'), parseCount),
    }),
    cleanupIntervalMs: parseDuration('WHARF_CLEANUP_INTERVAL', nonEmpty(env, 'WHARF_CLEANUP_INTERVAL') ?? '24h'),
    gc: Object.freeze({
      intervalMs: parseDuration('WHARF_GC_INTERVAL', nonEmpty(env, 'WHARF_GC_INTERVAL') ?? '1h'),
      graceMs: parseDuration('WHARF_GC_GRACE', nonEmpty(env, 'WHARF_GC_GRACE') ?? '1h'),
    }),
    downloadFlushMs: parseDuration('WHARF_DOWNLOAD_FLUSH_INTERVAL', nonEmpty(env, 'WHARF_DOWNLOAD_FLUSH_INTERVAL') ?? '5s'),
    shutdownGraceMs: parseDuration('WHARF_SHUTDOWN_GRACE', nonEmpty(env, 'WHARF_SHUTDOWN_GRACE') ?? '10s'),
    passwordHashCost: parseIntIn('WHARF_PASSWORD_HASH_COST', nonEmpty(env, 'WHARF_PASSWORD_HASH_COST') ?? String(DEFAULT_PASSWORD_COST), MIN_PASSWORD_COST, MAX_PASSWORD_COST),
    metrics: Object.freeze({
      enabled: parseBool('WHARF_METRICS', nonEmpty(env, 'WHARF_METRICS') ?? 'false'),
      token: metricsToken(nonEmpty(env, 'WHARF_METRICS_TOKEN')),
    }),
    auditRetentionMs: optionalRetention(nonEmpty(env, 'WHARF_AUDIT_RETENTION')),
    webhooks: Object.freeze({
      allowedHosts: Object.freeze(parseAllowedHosts(nonEmpty(env, 'WHARF_WEBHOOK_ALLOWED_HOSTS'))),
      timeoutMs: positiveDuration('WHARF_WEBHOOK_TIMEOUT', nonEmpty(env, 'WHARF_WEBHOOK_TIMEOUT') ?? '10s'),
      backoffMs: positiveDuration('WHARF_WEBHOOK_BACKOFF', nonEmpty(env, 'WHARF_WEBHOOK_BACKOFF') ?? '10s'),
    }),
    oidc: Object.freeze({
      allowedHosts: Object.freeze(parseAllowedHosts(nonEmpty(env, 'WHARF_OIDC_ALLOWED_HOSTS'), 'WHARF_OIDC_ALLOWED_HOSTS')),
      jwksCooldownMs: parseDuration('WHARF_OIDC_JWKS_COOLDOWN', nonEmpty(env, 'WHARF_OIDC_JWKS_COOLDOWN') ?? '30s'),
    }),
    goProxy: loadGoProxy(env),
    workers: parseWorkers('WHARF_WORKERS', nonEmpty(env, 'WHARF_WORKERS') ?? '1'),
  })
}

function loadGoProxy(env: Env): GoProxyConfig {
  const setting = <T>(name: string, parse: (raw: string) => T): T | undefined => {
    const raw = nonEmpty(env, name)
    if (raw === undefined) return undefined
    try {
      return parse(raw)
    } catch (err) {
      if (err instanceof SettingError) throw new ConfigError(name, err.message)
      throw err
    }
  }
  const positive = (name: string, fallback?: string): number | undefined => {
    const raw = nonEmpty(env, name) ?? fallback
    if (raw === undefined) return undefined
    const ms = parseDuration(name, raw)
    if (ms <= 0) throw new ConfigError(name, `expected a duration above zero, got '${raw}'`)
    return ms
  }
  return Object.freeze({
    upstream: Object.freeze(setting('WHARF_GO_UPSTREAM', parseUpstreamList) ?? []),
    private: Object.freeze(setting('WHARF_GO_PRIVATE', parseModuleGlobs) ?? []),
    minAgeMs: positive('WHARF_GO_UPSTREAM_MIN_AGE'),
    anonymous: parseBool('WHARF_GO_UPSTREAM_ANONYMOUS', nonEmpty(env, 'WHARF_GO_UPSTREAM_ANONYMOUS') ?? 'false'),
    listTtlMs: positive('WHARF_GO_UPSTREAM_LIST_TTL', '1m')!,
    timeoutMs: positive('WHARF_GO_UPSTREAM_TIMEOUT', '30s')!,
    cacheUnusedMs: positive('WHARF_GO_UPSTREAM_CACHE_UNUSED'),
    sumdb: Object.freeze(setting('WHARF_GO_SUMDB', parseSumdbList) ?? []),
  })
}

/** Host names, IP addresses, CIDRs (or `*`), separated by commas or spaces. */
function parseAllowedHosts(raw: string | undefined, name = 'WHARF_WEBHOOK_ALLOWED_HOSTS'): string[] {
  if (raw === undefined) return []
  const out: string[] = []
  for (const item of raw.split(/[\s,]+/).filter(Boolean)) {
    const [addr, bits, extra] = item.split('/')
    const family = isIP(addr!)
    const okCidr = bits === undefined || (family !== 0 && /^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128))
    if (extra !== undefined || !okCidr || (family === 0 && item !== '*' && !/^[A-Za-z0-9.-]{1,253}$/.test(item))) {
      throw new ConfigError(name, `expected host names, IP addresses or CIDRs, got '${item}'`)
    }
    out.push(item)
  }
  return out
}

function positiveDuration(name: string, raw: string): number {
  const ms = parseDuration(name, raw)
  if (ms <= 0) throw new ConfigError(name, `expected a duration above zero, got '${raw}'`)
  return ms
}

function optionalRetention(raw: string | undefined): number | undefined {
  if (raw === undefined || raw.trim().toLowerCase() === 'keep') return undefined
  const ms = parseDuration('WHARF_AUDIT_RETENTION', raw)
  if (ms < 3_600_000) throw new ConfigError('WHARF_AUDIT_RETENTION', `expected at least 1h (or "keep"), got '${raw}'`)
  return ms
}

function metricsToken(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined
  if (!/^[\x21-\x7e]{1,512}$/.test(raw)) throw new ConfigError('WHARF_METRICS_TOKEN', 'expected 1-512 printable characters without spaces')
  return raw
}

function nonEmpty(env: Env, name: string): string | undefined {
  const v = env[name]
  return v === undefined || v === '' ? undefined : v
}

export function parsePort(name: string, raw: string): number {
  if (!/^\d{1,5}$/.test(raw) || Number(raw) > 65535) throw new ConfigError(name, `expected a port number 0-65535, got '${raw}'`)
  return Number(raw)
}

/**
 * Enough PostgreSQL connections that requests rarely queue for one (a request holds one only for
 * its queries, never while a body streams), few enough that several instances fit in the server's
 * default max_connections of 100: 8 per core, from 10 to 32.
 */
export function defaultDatabasePool(): number {
  return Math.min(32, Math.max(10, 8 * os.availableParallelism()))
}

function parseIntIn(name: string, raw: string, min: number, max: number): number {
  const v = raw.trim()
  if (!/^\d{1,4}$/.test(v) || Number(v) < min || Number(v) > max) throw new ConfigError(name, `expected a whole number from ${min} to ${max}, got '${raw}'`)
  return Number(v)
}

export function parseBool(name: string, raw: string): boolean {
  const v = raw.trim().toLowerCase()
  if (['true', '1', 'yes', 'on'].includes(v)) return true
  if (['false', '0', 'no', 'off'].includes(v)) return false
  throw new ConfigError(name, `expected true or false, got '${raw}'`)
}

const MAX_WORKERS = 256

/** A count of worker processes, or `auto` (one per core). */
export function parseWorkers(name: string, raw: string): number {
  const v = raw.trim().toLowerCase()
  if (v === 'auto') return Math.max(1, os.availableParallelism())
  if (!/^\d{1,3}$/.test(v) || Number(v) < 1 || Number(v) > MAX_WORKERS) {
    throw new ConfigError(name, `expected a number of workers 1-${MAX_WORKERS} or 'auto', got '${raw}'`)
  }
  return Number(v)
}

function parseLogLevel(name: string, raw: string): LogLevel {
  const v = raw.trim().toLowerCase() as LogLevel
  if (!LOG_LEVELS.includes(v)) throw new ConfigError(name, `expected one of ${LOG_LEVELS.join(', ')}, got '${raw}'`)
  return v
}

const SIZE_UNITS: Record<string, number> = {
  '': 1, b: 1,
  k: 1e3, kb: 1e3, m: 1e6, mb: 1e6, g: 1e9, gb: 1e9, t: 1e12, tb: 1e12,
  kib: 2 ** 10, mib: 2 ** 20, gib: 2 ** 30, tib: 2 ** 40,
}

/** "500MiB", "5GiB", "1048576", "10 MB" → bytes. */
export function parseSize(name: string, raw: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(raw)
  const unit = m ? SIZE_UNITS[m[2]!.toLowerCase()] : undefined
  if (!m || unit === undefined) throw new ConfigError(name, `expected a size like 1048576, 500MiB or 5GiB, got '${raw}'`)
  const bytes = Math.floor(Number(m[1]) * unit)
  if (!Number.isSafeInteger(bytes)) throw new ConfigError(name, `size too large: '${raw}'`)
  return bytes
}

/** WHARF_STORAGE_INLINE_MAX's default: the size of the small files (Go .mod, checksums, scripts) most uploads are. */
export const INLINE_MAX_DEFAULT = 64 * 1024
/** Its upper bound: bodies up to 256 KiB are read into memory (packages/upload.ts), larger ones spooled. */
export const INLINE_MAX_LIMIT = 256 * 1024

function parseInlineMax(name: string, raw: string): number {
  const bytes = parseSize(name, raw)
  if (bytes > INLINE_MAX_LIMIT) throw new ConfigError(name, `at most 256KiB (${INLINE_MAX_LIMIT} bytes), got '${raw}'`)
  return bytes
}

function optionalSize(name: string, raw: string | undefined): number | undefined {
  return raw === undefined ? undefined : parseSize(name, raw)
}

/** Gitea writes "no limit" as -1: that and unset mean no limit. */
function optionalLimit(name: string, raw: string | undefined, parse: (name: string, raw: string) => number): number | undefined {
  if (raw === undefined || raw.trim() === '-1') return undefined
  return parse(name, raw)
}

function parseCount(name: string, raw: string): number {
  if (!/^\s*\d{1,15}\s*$/.test(raw)) throw new ConfigError(name, `expected a whole number (or -1 for no limit), got '${raw}'`)
  return Number(raw)
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }

/** "500ms", "5s", "10m", "1h" (a bare number is seconds). */
export function parseDuration(name: string, raw: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(raw)
  if (!m) throw new ConfigError(name, `expected a duration like 500ms, 30s, 10m or 1h, got '${raw}'`)
  return Math.round(Number(m[1]) * DURATION_UNITS[m[2] ?? 's']!)
}

function parseDatabaseUrl(name: string, raw: string): string {
  if (raw.startsWith('sqlite:')) {
    if (raw.length === 'sqlite:'.length) throw new ConfigError(name, 'sqlite: needs a file path, e.g. sqlite:./data/wharf.db')
    return raw
  }
  if (raw.startsWith('postgres://') || raw.startsWith('postgresql://')) {
    try {
      new URL(raw)
    } catch {
      throw new ConfigError(name, 'not a valid postgres:// URL')
    }
    return raw
  }
  throw new ConfigError(name, `unknown scheme in '${redact(raw)}': expected sqlite:PATH or postgres://user:pass@host:port/db`)
}

function parseStorageUrl(name: string, raw: string, defaultRegion?: string): string {
  if (raw.startsWith('file:')) {
    if (raw.length === 'file:'.length) throw new ConfigError(name, 'file: needs a folder, e.g. file:./data/blobs')
    return raw
  }
  if (raw.startsWith('s3://')) {
    try {
      parseS3Url(raw, defaultRegion)
    } catch (err) {
      throw new ConfigError(name, (err as Error).message)
    }
    return raw
  }
  throw new ConfigError(name, `unknown scheme in '${raw}': expected file:PATH or s3://bucket?…`)
}

/** The usual AWS variables; unset = the SDK's own chain (~/.aws, instance role …). */
export function awsCredentials(env: Env): Config['storageOptions']['credentials'] {
  const accessKeyId = nonEmpty(env, 'AWS_ACCESS_KEY_ID')
  const secretAccessKey = nonEmpty(env, 'AWS_SECRET_ACCESS_KEY')
  if (accessKeyId === undefined && secretAccessKey === undefined) return undefined
  if (accessKeyId === undefined) throw new ConfigError('AWS_ACCESS_KEY_ID', 'must be set together with AWS_SECRET_ACCESS_KEY')
  if (secretAccessKey === undefined) throw new ConfigError('AWS_SECRET_ACCESS_KEY', 'must be set together with AWS_ACCESS_KEY_ID')
  return Object.freeze({ accessKeyId, secretAccessKey, sessionToken: nonEmpty(env, 'AWS_SESSION_TOKEN') })
}

function parseServeDirect(name: string, raw: string, storageUrl: string): Config['serveDirect'] {
  const v = raw.trim().toLowerCase()
  if (v === 'x-accel') {
    if (!storageUrl.startsWith('file:')) throw new ConfigError(name, 'x-accel serves a file: store through nginx; with s3:// use true')
    return 'x-accel'
  }
  let on: boolean
  try {
    on = parseBool(name, v)
  } catch {
    throw new ConfigError(name, `expected true, false or x-accel, got '${raw}'`)
  }
  if (on && !storageUrl.startsWith('s3://')) throw new ConfigError(name, 'true needs s3:// storage (presigned URLs); for a file: store behind nginx use x-accel')
  return on ? 'redirect' : 'off'
}

function readPem(name: string, file: string): Buffer {
  let data: Buffer
  try {
    data = readFileSync(file)
  } catch (err) {
    throw new ConfigError(name, `cannot read '${file}': ${(err as NodeJS.ErrnoException).code ?? String(err)}`)
  }
  if (!data.toString('latin1').includes('-----BEGIN')) throw new ConfigError(name, `'${file}' is not a PEM file`)
  return data
}

function redact(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@')
}
