// Who may read or write an owner's packages: one pure function, facts in, decision out.
// The HTTP layer maps a Decision to 200 / 401 / 404 / 403 (docs/http.md "Owners and access").
import type { PackagesAccess, Visibility } from '../storage/db/schema.js'
import type { Scope } from './scopes.js'

export type Decision = 'allow' | 'challenge' | 'hide' | 'deny'
export type Need = 'read' | 'write'

export interface Actor {
  readonly userId: number
  readonly name: string
  readonly isAdmin: boolean
  /** Expanded: a password sign-in has every scope; write:X includes read:X. */
  readonly scopes: ReadonlySet<Scope>
  readonly viaToken: boolean
  /** The token's name, when signed in with one (for the audit log). */
  readonly tokenName?: string
  /** Exchanged by OIDC trusted publishing: the token works only on this owner's packages. */
  readonly onlyOwnerId?: number
  readonly oidcPolicyId?: number
}

export interface OwnerFacts {
  readonly visibility: Visibility
  /**
   * The actor's own access to this owner's packages: 'admin' for the user itself and an
   * organization's owners; a team member's best team level; 'none' otherwise.
   * `isMember` is true for any member of the organization (any team), who may always read.
   */
  readonly actorAccess: PackagesAccess
  readonly isMember: boolean
}

export interface Policy {
  readonly requireSignInView: boolean
}

export function decide(actor: Actor | null, owner: OwnerFacts, need: Need, policy: Policy = { requireSignInView: false }): Decision {
  if (actor && !actor.scopes.has(need === 'read' ? 'read:package' : 'write:package')) return 'deny'
  if (!actor && (policy.requireSignInView || need === 'write')) return 'challenge'
  if (actor?.isAdmin) return 'allow'
  const canRead = owner.visibility === 'public'
    || (actor !== null && (owner.visibility === 'limited' || owner.isMember || owner.actorAccess !== 'none'))
  if (!canRead) return actor ? 'hide' : 'challenge'
  if (need === 'read') return 'allow'
  return owner.actorAccess === 'write' || owner.actorAccess === 'admin' ? 'allow' : 'deny'
}
