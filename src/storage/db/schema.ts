// Kysely's view of the schema created by ./migrations. Times are integer seconds (created_unix …).
import type { Generated, Insertable, Selectable } from 'kysely'

export type Visibility = 'public' | 'limited' | 'private'
export type PackagesAccess = 'none' | 'read' | 'write' | 'admin'

export interface UserTable {
  id: Generated<number>
  name: string
  lower_name: string
  full_name: string
  email: string
  /** 0 = individual, 1 = organization (Gitea's UserType). */
  type: number
  password_hash: string | null
  must_change_password: number
  is_admin: number
  visibility: Visibility
  totp_secret: string | null
  /** JSON array of SHA-256 hex digests of unused recovery codes. */
  recovery_codes: string | null
  created_unix: number
  updated_unix: number
}

export interface TeamTable {
  id: Generated<number>
  org_id: number
  name: string
  lower_name: string
  description: string
  packages_access: PackagesAccess
  /** 1 for the organization's Owners team: full rights over the organization. */
  is_owner_team: number
  created_unix: number
}

export interface TeamUserTable {
  team_id: number
  user_id: number
}

export interface AccessTokenTable {
  id: Generated<number>
  user_id: number
  name: string
  lower_name: string
  token_hash: string
  token_last_eight: string
  scopes: string
  created_unix: number
  last_used_unix: number | null
  /** Exchanged (OIDC) tokens expire; null = never. */
  expires_unix: Generated<number | null>
  /** When set, the token works only on this owner's packages. */
  only_owner_id: Generated<number | null>
  /** The trust policy an exchanged (OIDC) token came from (migration 0011). */
  oidc_policy_id: Generated<number | null>
}

export interface PackageTable {
  id: Generated<number>
  owner_id: number
  type: string
  name: string
  lower_name: string
  created_unix: number
}

export interface PackageVersionTable {
  id: Generated<number>
  package_id: number
  creator_id: number | null
  version: string
  lower_version: string
  metadata_json: string | null
  download_count: number
  created_unix: number
}

export interface PackageFileTable {
  id: Generated<number>
  version_id: number
  blob_id: number
  name: string
  lower_name: string
  is_lead: number
  created_unix: number
}

export interface PackageBlobTable {
  id: Generated<number>
  size: number
  hash_md5: string
  hash_sha1: string
  hash_sha256: string
  hash_sha512: string
  created_unix: number
}

export interface SessionTable {
  id_hash: string
  user_id: number
  /** Unused since the CSRF tokens come from @fastify/csrf-protection (web/csrf.ts); kept (no migration), written ''. */
  csrf_token: string
  /** 1 while the password was right but the second factor is still to be given. */
  pending_2fa: number
  created_unix: number
  expires_unix: number
}

export interface GoProxyVersionTable {
  id: Generated<number>
  module_path: string
  version: string
  info_json: string
  /** The .info Time, when it parsed. */
  time_unix: number | null
  mod_blob_id: number
  zip_blob_id: number
  mod_h1: string
  zip_h1: string
  /** Bytes of .mod and .zip together. */
  size: number
  created_unix: number
  last_used_unix: number
}

export interface GoProxyAnswerTable {
  key: string
  body: Buffer
  fetched_unix: number
}

/** A small blob's bytes, kept in the database (storage/blobs/inline-blob-store.ts). */
export interface BlobInlineTable {
  key: string
  data: Buffer
  size: number
  modified_ms: number
}

export interface GoProxyLeaseTable {
  key: string
  holder: string
  expires_unix: number
}

export type AuditActorKind = 'password' | 'token' | 'session' | 'job' | 'cli' | 'oidc' | 'anonymous' | 'system'

export interface AuditLogTable {
  id: Generated<number>
  created_unix: number
  actor_id: number | null
  actor_name: string
  actor_kind: AuditActorKind
  token_name: string | null
  client_ip: string | null
  action: string
  owner_id: number | null
  target_type: string
  target: string
  detail_json: string | null
}

export interface WebhookTable {
  id: Generated<number>
  owner_id: number
  type: string
  url: string
  http_method: string
  content_type: string
  secret: string
  authorization_header: string
  events: string
  active: number
  created_unix: number
  updated_unix: number
}

export type DeliveryStatus = 'pending' | 'delivered' | 'failed'

export interface WebhookDeliveryTable {
  id: Generated<number>
  hook_id: number
  uuid: string
  event: string
  action: string
  payload: string
  is_test: number
  status: DeliveryStatus
  attempts: number
  next_attempt_ms: number
  lease_until_ms: number
  response_status: number | null
  error: string | null
  duration_ms: number | null
  created_unix: number
  last_attempt_unix: number | null
}

export interface OidcPolicyTable {
  id: Generated<number>
  owner_id: number
  creator_id: number
  name: string
  issuer: string
  audience: string
  claims_json: string
  scopes: string
  token_ttl_s: number
  created_unix: number
}

export type OverwritePolicy = 'immutable' | 'overwrite'

export interface PackageSettingTable {
  owner_id: number
  type: string
  lower_name: string
  overwrite: OverwritePolicy
  /** Glob of the versions whose files may be replaced when `overwrite` is 'overwrite'. */
  overwrite_versions: string
  /** Glob of the versions that are never overwritten or deleted ('' = none). */
  protected_versions: string
  updated_unix: number
}

export interface OwnerQuotaTable {
  owner_id: number
  /** null: the site-wide limit; -1: none. */
  limit_total_size: number | null
  limit_total_count: number | null
  updated_unix: number
}

export interface PackageCleanupRuleTable {
  id: Generated<number>
  owner_id: number
  type: string
  enabled: number
  keep_count: number
  keep_pattern: string
  remove_days: number
  remove_pattern: string
  match_full_name: number
  created_unix: number
  updated_unix: number
}

export interface PackageCleanupRunTable {
  id: Generated<number>
  owner_id: number
  type: string
  trigger: string
  removed_count: number
  removed_json: string
  created_unix: number
}

export interface JobLeaseTable {
  name: string
  holder: string
  lease_until_unix: number
  last_run_unix: number
}

/** Who runs a background job (SQLite; PostgreSQL uses advisory locks): see jobs/lock.ts. */
export interface JobLockTable {
  name: string
  holder: string
  expires_ms: number
}

/** The last TOTP step a user signed in with: a code is accepted once, on every instance. */
export interface TotpUsedStepTable {
  user_id: number
  step: number
}

/** Failed sign-ins per throttled key (src/auth/throttle.ts), shared by every instance. */
export interface SigninFailureTable {
  /** `policy:hash` — the hash of the account, address or pending sign-in, never the name itself. */
  key: string
  count: number
  last_ms: number
  /** 0 when no delay runs. */
  blocked_until_ms: number
  /** The row counts as absent from then on (and is pruned). */
  expires_ms: number
  /** Eviction order over the bound: 0 (unknown names) first, then 1; 2 (real accounts) never. */
  weight: number
}

export interface Database {
  user: UserTable
  team: TeamTable
  team_user: TeamUserTable
  access_token: AccessTokenTable
  package: PackageTable
  package_version: PackageVersionTable
  package_file: PackageFileTable
  package_blob: PackageBlobTable
  blob_inline: BlobInlineTable
  session: SessionTable
  go_proxy_version: GoProxyVersionTable
  go_proxy_answer: GoProxyAnswerTable
  go_proxy_lease: GoProxyLeaseTable
  audit_log: AuditLogTable
  webhook: WebhookTable
  webhook_delivery: WebhookDeliveryTable
  oidc_policy: OidcPolicyTable
  package_setting: PackageSettingTable
  owner_quota: OwnerQuotaTable
  package_cleanup_rule: PackageCleanupRuleTable
  package_cleanup_run: PackageCleanupRunTable
  job_lease: JobLeaseTable
  job_lock: JobLockTable
  totp_used_step: TotpUsedStepTable
  signin_failure: SigninFailureTable
}

export type User = Selectable<UserTable>
export type NewUser = Insertable<UserTable>
export type Team = Selectable<TeamTable>
export type AccessToken = Selectable<AccessTokenTable>
export type Package = Selectable<PackageTable>
export type PackageVersion = Selectable<PackageVersionTable>
export type PackageFile = Selectable<PackageFileTable>
export type PackageBlob = Selectable<PackageBlobTable>
export type Session = Selectable<SessionTable>
export type AuditLog = Selectable<AuditLogTable>
export type Webhook = Selectable<WebhookTable>
export type WebhookDelivery = Selectable<WebhookDeliveryTable>
export type OidcPolicy = Selectable<OidcPolicyTable>
export type PackageSetting = Selectable<PackageSettingTable>
export type PackageCleanupRule = Selectable<PackageCleanupRuleTable>
