// Frozen once released: imports only kysely and ./flavor.js.
// OIDC trusted publishing (issue 13): an exchanged token remembers the trust policy it came from,
// so the audit log can name the policy and deleting a policy can revoke its tokens.
import type { Kysely } from 'kysely'
import type { Flavor } from './flavor.js'

export async function up(db: Kysely<any>, _flavor: Flavor): Promise<void> {
  await db.schema.alterTable('access_token').addColumn('oidc_policy_id', 'integer').execute()
  await db.schema.createIndex('access_token_expires_idx').on('access_token').column('expires_unix').execute()
}
