// Credentials → Actor. Password verifications are cached briefly (a busy client sends its password on
// every request) under a key that includes the stored hash, so a password change drops the entry.
// Failed passwords are throttled in the database (src/auth/throttle.ts) per account and address and
// per account from any address; a token is never throttled by them (docs/http.md "Sign-in throttling").
import { hash as hashOnce } from 'node:crypto'
import type { AccessToken, User } from '../storage/db/schema.js'
import type { Actor } from '../auth/permissions.js'
import { EVERY_SCOPE, expandScopes } from '../auth/scopes.js'
import { needsRehash, verifyPassword } from '../auth/passwords.js'
import { isTokenShaped } from '../auth/tokens.js'
import { WharfError } from '../errors.js'
import { POLICIES, throttleRowKey, type SignInThrottle, type ThrottleKey } from '../auth/throttle.js'
import { VerifiedPasswords } from '../auth/verified-passwords.js'
import { USER_TYPE_ORGANIZATION, type UserService } from './users.js'
import { tokenScopes, type TokenService } from './tokens.js'

/** A verified password is remembered while in use (idle at most a minute), and verified again hourly. */
const PASSWORD_IDLE_MS = 60_000
const PASSWORD_MAX_AGE_MS = 3_600_000
const CACHE_MAX = 10_000

/** `rate_limited` with the Retry-After to answer (whole seconds, at least 1). */
export function rateLimitedFor(waitMs: number): WharfError {
  const seconds = Math.max(1, Math.ceil(waitMs / 1000))
  return new WharfError('rate_limited', `too many failed sign-in attempts; try again in ${seconds} s`, { retryAfterSeconds: seconds })
}

export type Credentials =
  | { kind: 'basic'; username: string; password: string }
  | { kind: 'token'; token: string }

export class Authenticator {
  private readonly verified = new VerifiedPasswords({ idleMs: PASSWORD_IDLE_MS, maxAgeMs: PASSWORD_MAX_AGE_MS, max: CACHE_MAX })

  constructor(
    private readonly users: UserService,
    private readonly tokens: TokenService,
    /** Failed sign-ins, shared by every instance on the database (the web sign-in uses it too). */
    readonly throttle: SignInThrottle,
    /** Called once when an account+address, or an account from any address, starts being delayed (the audit log records it). */
    private readonly onThrottled?: (username: string, clientKey: string, scope: 'address' | 'account') => Promise<void>,
  ) {}

  /** Returns the actor, or throws `unauthenticated` (wrong credentials) / `rate_limited`. */
  async authenticate(creds: Credentials, clientKey = ''): Promise<{ actor: Actor; user: User }> {
    if (creds.kind === 'token') return this.byToken(creds.token)
    const { username, password } = creds
    // `TOKEN:` or `TOKEN:x-oauth-basic`: the username is the token.
    if ((password === '' || password === 'x-oauth-basic') && isTokenShaped(username)) return this.byToken(username)
    // `username:TOKEN`: a token may stand in for the password; then the token decides the user.
    if (isTokenShaped(password)) {
      const hit = await this.tokens.lookup(password)
      if (hit) return this.tokenActor(hit.user, hit.token)
    }
    return this.byPassword(username, password, clientKey)
  }

  /** The throttle keys of a password attempt: this account from this address, and this account from anywhere. */
  static passwordKeys(username: string, clientKey: string): { pair: ThrottleKey; account: ThrottleKey } {
    const name = username.toLowerCase()
    return { pair: { policy: POLICIES.pair, subject: `${name}\0${clientKey}` }, account: { policy: POLICIES.account, subject: name } }
  }

  async byPassword(username: string, password: string, clientKey = ''): Promise<{ actor: Actor; user: User }> {
    const { pair, account } = Authenticator.passwordKeys(username, clientKey)
    // Checked before the user is looked up and before the password, the same for names that are no
    // account: during a delay even the right password is refused (else the delay would be an oracle).
    const seen = await this.throttle.look([pair, account])
    let wait = 0
    for (const v of seen.values()) wait = Math.max(wait, v.retryAfterMs)
    if (wait > 0) throw rateLimitedFor(wait)
    const user = await this.users.findOwner(username)
    const cacheKey = user?.password_hash ? this.cacheKey(user.id, user.password_hash, password) : ''
    let ok = false
    if (user && user.type !== USER_TYPE_ORGANIZATION && user.password_hash) {
      const stored = user.password_hash
      ok = await this.verified.check(cacheKey, async () => {
        const good = await verifyPassword(password, stored)
        // A hash made at an older (lower) cost is re-made now, while the password is at hand.
        if (good && needsRehash(stored, this.users.passwordCost)) {
          const rehashed = await this.users.rehashPassword(user, password)
          if (rehashed) this.verified.remember(this.cacheKey(user.id, rehashed, password))
        }
        return good
      })
    }
    if (!ok || !user) {
      // Names that are no account count the same way; they only go first when the table is full.
      const [p, a] = await this.throttle.fail([pair, account], (k) => (!user ? 0 : k === account ? 2 : 1))
      const name = username.slice(0, 255)
      if (this.onThrottled && p!.crossed) await this.onThrottled(name, clientKey, 'address').catch(() => {})
      if (this.onThrottled && a!.crossed) await this.onThrottled(name, clientKey, 'account').catch(() => {})
      throw new WharfError('unauthenticated', 'invalid username or password')
    }
    // A success forgets this address's failures; the account's own count decays by itself (else an
    // attacker who also knows when the user signs in would get fresh free guesses each time).
    if (seen.has(throttleRowKey(pair))) await this.throttle.reset([pair])
    if (user.totp_secret) {
      throw new WharfError('unauthenticated', 'two-factor authentication is enabled for this account: use an access token instead of the password')
    }
    return { actor: { userId: user.id, name: user.name, isAdmin: !!user.is_admin, scopes: EVERY_SCOPE, viaToken: false }, user }
  }

  /** Checks a password without the 2FA refusal (the web sign-in asks for the code itself). */
  async checkPassword(username: string, password: string, clientKey = ''): Promise<User> {
    try {
      return (await this.byPassword(username, password, clientKey)).user
    } catch (err) {
      if (err instanceof WharfError && err.message.startsWith('two-factor')) {
        return (await this.users.findOwner(username))!
      }
      throw err
    }
  }

  private async byToken(token: string): Promise<{ actor: Actor; user: User }> {
    const hit = await this.tokens.lookup(token)
    if (!hit) throw new WharfError('unauthenticated', 'invalid or revoked access token')
    return this.tokenActor(hit.user, hit.token)
  }

  private tokenActor(user: User, token: AccessToken) {
    // An owner-limited (OIDC) token never carries its creator's site-admin powers.
    const limited = token.only_owner_id !== null
    const actor: Actor = {
      userId: user.id, name: user.name, isAdmin: !!user.is_admin && !limited, scopes: expandScopes(tokenScopes(token)), viaToken: true, tokenName: token.name,
      ...(limited ? { onlyOwnerId: token.only_owner_id! } : {}),
      ...(token.oidc_policy_id !== null ? { oidcPolicyId: token.oidc_policy_id } : {}),
    }
    return { actor, user }
  }

  private cacheKey(userId: number, hash: string, password: string): string {
    return hashOnce('sha256', `${userId}\0${hash}\0${password}`, 'hex')
  }

  /** Drop cached verifications for a user (password changed, user deleted). */
  forgetUser(_userId: number): void {
    this.verified.clear()
  }
}
