// Frozen once released: imports only kysely and ./flavor.js.
// Operations (issue 13): the audit log, package webhooks with their outbox of deliveries, OIDC
// trust policies, and short-lived owner-limited access tokens.
import type { Kysely } from 'kysely'
import { bigint, idColumn, type Flavor } from './flavor.js'

export async function up(db: Kysely<any>, flavor: Flavor): Promise<void> {
  const int8 = bigint(flavor)

  // Append-only. No foreign keys: an entry outlives the user, owner or token it names.
  await db.schema.createTable('audit_log')
    .addColumn('id', 'integer', idColumn(flavor))
    .addColumn('created_unix', int8, (c) => c.notNull())
    .addColumn('actor_id', 'integer')
    .addColumn('actor_name', 'text', (c) => c.notNull())
    /** password | token | session | job | cli | oidc | anonymous | system */
    .addColumn('actor_kind', 'text', (c) => c.notNull())
    .addColumn('token_name', 'text')
    .addColumn('client_ip', 'text')
    .addColumn('action', 'text', (c) => c.notNull())
    /** The owner (user or organization) the change belongs to, for owners' own view. */
    .addColumn('owner_id', 'integer')
    .addColumn('target_type', 'text', (c) => c.notNull())
    .addColumn('target', 'text', (c) => c.notNull())
    .addColumn('detail_json', 'text')
    .execute()
  await db.schema.createIndex('audit_log_created_idx').on('audit_log').column('created_unix').execute()
  await db.schema.createIndex('audit_log_owner_idx').on('audit_log').columns(['owner_id', 'id']).execute()
  await db.schema.createIndex('audit_log_action_idx').on('audit_log').columns(['action', 'id']).execute()
  await db.schema.createIndex('audit_log_actor_idx').on('audit_log').columns(['actor_name', 'id']).execute()

  await db.schema.createTable('webhook')
    .addColumn('id', 'integer', idColumn(flavor))
    .addColumn('owner_id', 'integer', (c) => c.notNull().references('user.id').onDelete('cascade'))
    .addColumn('type', 'text', (c) => c.notNull().defaultTo('gitea'))
    .addColumn('url', 'text', (c) => c.notNull())
    .addColumn('http_method', 'text', (c) => c.notNull().defaultTo('POST'))
    .addColumn('content_type', 'text', (c) => c.notNull().defaultTo('json'))
    /** Needed in the clear to sign deliveries (HMAC), as in Gitea; never shown again. */
    .addColumn('secret', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('authorization_header', 'text', (c) => c.notNull().defaultTo(''))
    /** JSON array of event names ("package"). */
    .addColumn('events', 'text', (c) => c.notNull())
    .addColumn('active', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('created_unix', int8, (c) => c.notNull())
    .addColumn('updated_unix', int8, (c) => c.notNull())
    .execute()
  await db.schema.createIndex('webhook_owner_idx').on('webhook').column('owner_id').execute()

  // The outbox: written in the transaction of the change, delivered (at least once) by the job.
  await db.schema.createTable('webhook_delivery')
    .addColumn('id', 'integer', idColumn(flavor))
    .addColumn('hook_id', 'integer', (c) => c.notNull().references('webhook.id').onDelete('cascade'))
    .addColumn('uuid', 'text', (c) => c.notNull().unique())
    .addColumn('event', 'text', (c) => c.notNull())
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('payload', 'text', (c) => c.notNull())
    .addColumn('is_test', 'integer', (c) => c.notNull().defaultTo(0))
    /** pending | delivered | failed */
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('pending'))
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('next_attempt_ms', int8, (c) => c.notNull())
    /** A claimed attempt: other instances leave the row alone until then. */
    .addColumn('lease_until_ms', int8, (c) => c.notNull().defaultTo(0))
    .addColumn('response_status', 'integer')
    .addColumn('error', 'text')
    .addColumn('duration_ms', 'integer')
    .addColumn('created_unix', int8, (c) => c.notNull())
    .addColumn('last_attempt_unix', int8)
    .execute()
  await db.schema.createIndex('webhook_delivery_due_idx').on('webhook_delivery').columns(['status', 'next_attempt_ms']).execute()
  await db.schema.createIndex('webhook_delivery_hook_idx').on('webhook_delivery').columns(['hook_id', 'id']).execute()

  await db.schema.createTable('oidc_policy')
    .addColumn('id', 'integer', idColumn(flavor))
    .addColumn('owner_id', 'integer', (c) => c.notNull().references('user.id').onDelete('cascade'))
    /** The writer who defined it: exchanged tokens act as this user, limited to the owner. */
    .addColumn('creator_id', 'integer', (c) => c.notNull().references('user.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('issuer', 'text', (c) => c.notNull())
    .addColumn('audience', 'text', (c) => c.notNull())
    /** JSON object: claim name → glob pattern. */
    .addColumn('claims_json', 'text', (c) => c.notNull())
    .addColumn('scopes', 'text', (c) => c.notNull())
    .addColumn('token_ttl_s', 'integer', (c) => c.notNull())
    .addColumn('created_unix', int8, (c) => c.notNull())
    .execute()
  await db.schema.createIndex('oidc_policy_issuer_idx').on('oidc_policy').column('issuer').execute()
  await db.schema.createIndex('oidc_policy_owner_idx').on('oidc_policy').column('owner_id').execute()

  // Exchanged (OIDC) tokens: they expire, and they work only on one owner's packages.
  await db.schema.alterTable('access_token').addColumn('expires_unix', int8).execute()
  await db.schema.alterTable('access_token').addColumn('only_owner_id', 'integer').execute()
}
