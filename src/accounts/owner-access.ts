// (actor, owner name, need) → the owner row, or the error docs/http.md prescribes (401/403/404).
import type { Config } from '../config/config.js'
import type { User } from '../storage/db/schema.js'
import { decide, type Actor, type Need, type OwnerFacts } from '../auth/permissions.js'
import { WharfError, forbidden, notFound } from '../errors.js'
import { USER_TYPE_ORGANIZATION, type UserService } from './users.js'
import type { OrgService } from './orgs.js'

/**
 * Which owners an actor may read, in a form a listing query can use: everything (site admins),
 * nothing (anonymous under WHARF_REQUIRE_SIGNIN_VIEW), or public owners plus, for a signed-in
 * actor, limited ones and the listed ids (itself and its organizations).
 */
export type ReadScope = { all: true } | { none: true } | { ids: number[]; limited: boolean }

export class OwnerAccess {
  constructor(private readonly users: UserService, private readonly orgs: OrgService, private readonly config: Config) {}

  async facts(actor: Actor | null, owner: User): Promise<OwnerFacts> {
    if (!actor) return { visibility: owner.visibility, actorAccess: 'none', isMember: false }
    // An owner-limited (OIDC) token is a stranger to every other owner.
    if (actor.onlyOwnerId !== undefined && actor.onlyOwnerId !== owner.id) return { visibility: owner.visibility, actorAccess: 'none', isMember: false }
    if (owner.type !== USER_TYPE_ORGANIZATION) {
      const self = owner.id === actor.userId
      return { visibility: owner.visibility, actorAccess: self ? 'admin' : 'none', isMember: self }
    }
    const m = await this.orgs.membership(owner.id, actor.userId)
    return { visibility: owner.visibility, actorAccess: m.access, isMember: m.isMember }
  }

  /** Can the actor `need` this owner's packages? Throws the right error when not. */
  async require(actor: Actor | null, ownerName: string, need: Need): Promise<User> {
    const owner = await this.users.findOwner(ownerName)
    if (actor && !actor.scopes.has(need === 'read' ? 'read:package' : 'write:package')) {
      throw forbidden(`the access token does not have the ${need}:package scope`)
    }
    if (!owner) {
      if (!actor && (need === 'write' || this.config.requireSignInView)) throw new WharfError('unauthenticated', 'authentication required')
      throw notFound(`owner '${ownerName}'`)
    }
    const decision = decide(actor, await this.facts(actor, owner), need, { requireSignInView: this.config.requireSignInView })
    switch (decision) {
      case 'allow': return owner
      case 'challenge': throw new WharfError('unauthenticated', 'authentication required')
      case 'hide': throw notFound(`owner '${ownerName}'`)
      case 'deny': throw forbidden(`you may not ${need === 'write' ? 'change' : 'read'} the packages of '${owner.name}'`)
    }
  }

  /** The set-wise form of decide(…, 'read') for listings; rows are still re-checked with canRead. */
  async readScope(actor: Actor | null): Promise<ReadScope> {
    if (actor?.isAdmin) return { all: true }
    if (!actor && this.config.requireSignInView) return { none: true }
    if (!actor) return { ids: [], limited: false }
    if (actor.onlyOwnerId !== undefined) return { ids: [actor.onlyOwnerId], limited: true }
    const orgs = await this.orgs.listOrgsOf(actor.userId)
    return { ids: [actor.userId, ...orgs.map((o) => o.id)], limited: true }
  }

  /** True when the actor may read the owner's packages (listing pages, search). */
  async canRead(actor: Actor | null, owner: User): Promise<boolean> {
    return decide(actor, await this.facts(actor, owner), 'read', { requireSignInView: this.config.requireSignInView }) === 'allow'
  }

  /**
   * May the actor administer the owner's packages (lift protections, manage cleanup rules)? The user
   * itself, an organization's owners (and teams with admin access to packages), site admins.
   */
  async canAdminister(actor: Actor | null, owner: User): Promise<boolean> {
    if (!actor || !actor.scopes.has('write:package')) return false
    return actor.isAdmin || (await this.facts(actor, owner)).actorAccess === 'admin'
  }

  async canWrite(actor: Actor | null, owner: User): Promise<boolean> {
    return decide(actor, await this.facts(actor, owner), 'write', { requireSignInView: this.config.requireSignInView }) === 'allow'
  }
}
