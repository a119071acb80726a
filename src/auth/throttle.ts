// Failed sign-in counts, in the database so every worker and instance agrees (docs/scale-out.md).
// Past a policy's free failures a key is delayed: answered "too many" (429 with Retry-After) until
// the delay ends, never held open (docs/http.md "Sign-in throttling"). The delay doubles with each
// further failure up to a cap, attempts during a delay are refused without counting (so hammering
// cannot stretch it), and the counts are forgotten after a quiet period: a slow-down, not a lock-out.
//
// Each failure is one atomic upsert of its keys (the database increments the counts; a delay can only
// grow), so instances failing the same key at once never lose a count. A lookup that finds no row for
// a key is remembered for a second (`clearForMs`): a client sending its right password on every
// request then costs no query per request. This instance's own failure of a key forgets that at once,
// so on one instance nothing is ever missed; another instance's failures are seen here within the
// second (each attempt here that fails is recorded and ends the local answer, so that second buys an
// attacker at most one extra guess per instance).
//
// The table is bounded: expired rows are pruned, and over `maxRows` the oldest rows go first —
// those of names that are no account first, then other rows; an existing account's own count
// (weight 2, at most one per account and policy) is never evicted, so made-up names cannot reset it.
import { hash } from 'node:crypto'
import type { Kysely } from 'kysely'
import type { Database } from '../storage/db/schema.js'

export interface ThrottlePolicy {
  /** Key prefix in the table. */
  readonly name: string
  /** Failures allowed before the first delay. */
  readonly free: number
  /** The delay after failure number `free + n` is min(maxDelayMs, baseDelayMs · 2ⁿ). */
  readonly baseDelayMs: number
  readonly maxDelayMs: number
  /** A key's count is forgotten this long after its last failure (at least maxDelayMs). */
  readonly forgetMs: number
}

const MINUTE = 60_000

/** The built-in policies; docs/http.md "Sign-in throttling" lists them. */
export const POLICIES = {
  /** One account from one address: 10 failures, then a minute (as a sliding minute before). */
  pair: { name: 'pair', free: 10, baseDelayMs: MINUTE, maxDelayMs: MINUTE, forgetMs: MINUTE },
  /** One account from any address: 20 failures, then 5 s doubling up to 15 min; forgotten after 30 quiet minutes. */
  account: { name: 'account', free: 20, baseDelayMs: 5_000, maxDelayMs: 15 * MINUTE, forgetMs: 30 * MINUTE },
  /** One address, any account (web sign-in form and 2FA codes): 30 failures, then a minute. */
  address: { name: 'address', free: 30, baseDelayMs: MINUTE, maxDelayMs: MINUTE, forgetMs: MINUTE },
  /** One pending 2FA sign-in: 5 wrong codes end it. */
  pending: { name: 'pending', free: 5, baseDelayMs: 10 * MINUTE, maxDelayMs: 10 * MINUTE, forgetMs: 10 * MINUTE },
  /** Wrong 2FA codes for one account across its pending sign-ins: 10, then 30 s doubling up to 15 min. */
  totp: { name: 'totp', free: 10, baseDelayMs: 30_000, maxDelayMs: 15 * MINUTE, forgetMs: 30 * MINUTE },
} as const satisfies Record<string, ThrottlePolicy>

/** Eviction weight: 0 (evicted first) for names that are no account, 1 otherwise, 2 never evicted. */
export type Weight = 0 | 1 | 2

export interface ThrottleKey {
  readonly policy: ThrottlePolicy
  /** What is counted: an account name, `account|address`, an address, a session id. Stored hashed. */
  readonly subject: string
}

export interface FailResult {
  count: number
  /** True for the failure that started the first delay (the audit log records it once). */
  crossed: boolean
  /** The delay this failure started, 0 if none. */
  delayMs: number
}

export interface ThrottleOptions {
  /** The clock (tests move it). */
  now?: () => number
  /** Rows kept at most, besides the never-evicted ones; default 100,000. */
  maxRows?: number
  /** Expired rows are pruned (and the bound enforced) every this many recorded failures; default 500. */
  pruneEvery?: number
  /** How long a key found without failures is answered without a query; default 1,000 ms, 0 for never. */
  clearForMs?: number
}

/** Keys remembered as clear at most; past it the oldest go first. */
const CLEAR_MAX = 10_000

export function throttleRowKey(k: ThrottleKey): string {
  return `${k.policy.name}:${hash('sha256', k.subject, 'base64url').slice(0, 32)}`
}

export function delayFor(policy: ThrottlePolicy, count: number): number {
  if (count < policy.free) return 0
  return Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.min(count - policy.free, 40))
}

export class SignInThrottle {
  readonly now: () => number
  private readonly maxRows: number
  private readonly pruneEvery: number
  private readonly clearForMs: number
  private failures = 0
  private pruning: Promise<unknown> | undefined
  /** Row key → until when it is known to have no row (see the top of the file). */
  private readonly clear = new Map<string, number>()
  /** Counts this instance's failures: a lookup that overlapped one does not remember its answer. */
  private failEpoch = 0

  constructor(private readonly db: Kysely<Database>, opts: ThrottleOptions = {}) {
    this.now = opts.now ?? Date.now
    this.maxRows = opts.maxRows ?? 100_000
    this.pruneEvery = opts.pruneEvery ?? 500
    this.clearForMs = opts.clearForMs ?? 1000
  }

  /** The live counts of these keys (expired rows count as absent). */
  async look(keys: readonly ThrottleKey[]): Promise<Map<string, { count: number; retryAfterMs: number }>> {
    const out = new Map<string, { count: number; retryAfterMs: number }>()
    if (keys.length === 0) return out
    const now = this.now()
    const ids = keys.map(throttleRowKey)
    if (ids.every((id) => (this.clear.get(id) ?? 0) > now)) return out
    const epoch = this.failEpoch
    const rows = await this.db.selectFrom('signin_failure').select(['key', 'count', 'blocked_until_ms'])
      .where('key', 'in', ids).where('expires_ms', '>', now).execute()
    for (const r of rows) out.set(r.key, { count: Number(r.count), retryAfterMs: Math.max(0, Number(r.blocked_until_ms) - now) })
    if (this.clearForMs > 0 && epoch === this.failEpoch) {
      for (const id of ids) {
        if (out.has(id)) continue
        this.clear.delete(id)
        if (this.clear.size >= CLEAR_MAX) this.clear.delete(this.clear.keys().next().value!)
        this.clear.set(id, now + this.clearForMs)
      }
    }
    return out
  }

  /** How long until none of these keys is delayed; 0 when none is. */
  async retryAfterMs(keys: readonly ThrottleKey[]): Promise<number> {
    let wait = 0
    for (const v of (await this.look(keys)).values()) wait = Math.max(wait, v.retryAfterMs)
    return wait
  }

  /** Records one failure for each key, in one atomic upsert; `weight` orders eviction. */
  async fail(keys: readonly ThrottleKey[], weight: (k: ThrottleKey) => Weight = () => 1): Promise<FailResult[]> {
    if (keys.length === 0) return []
    const now = this.now()
    const ids = keys.map(throttleRowKey)
    this.failEpoch++
    for (const id of ids) this.clear.delete(id)
    // One statement may not upsert a row twice (PostgreSQL refuses it).
    if (new Set(ids).size !== ids.length) throw new Error('the same throttle key twice in one failure')
    const rows = await this.db.insertInto('signin_failure')
      .values(keys.map((k, i) => ({
        key: ids[i]!, count: 1, last_ms: now, blocked_until_ms: 0, expires_ms: now + Math.max(k.policy.forgetMs, k.policy.maxDelayMs), weight: weight(k),
      })))
      .onConflict((oc) => oc.column('key').doUpdateSet((eb) => {
        const expired = eb('signin_failure.expires_ms', '<=', now)
        return {
          count: eb.case().when(expired).then(1).else(eb('signin_failure.count', '+', 1)).end(),
          blocked_until_ms: eb.case().when(expired).then(0).else(eb.ref('signin_failure.blocked_until_ms')).end(),
          last_ms: now,
          expires_ms: eb.case().when('signin_failure.expires_ms', '>', eb.ref('excluded.expires_ms'))
            .then(eb.ref('signin_failure.expires_ms')).else(eb.ref('excluded.expires_ms')).end(),
          weight: eb.case().when('signin_failure.weight', '>', eb.ref('excluded.weight'))
            .then(eb.ref('signin_failure.weight')).else(eb.ref('excluded.weight')).end(),
        }
      }))
      .returning(['key', 'count']).execute()
    // Again after the commit: a lookup that ran while the upsert did may have remembered "clear".
    this.failEpoch++
    for (const id of ids) this.clear.delete(id)
    const counts = new Map(rows.map((r) => [r.key, Number(r.count)]))
    const out: FailResult[] = []
    for (const [i, k] of keys.entries()) {
      const key = ids[i]!
      const count = counts.get(key) ?? 1
      const delayMs = delayFor(k.policy, count)
      if (delayMs > 0) {
        const until = now + delayMs
        // Only ever lengthens a delay, so concurrent failures (other instances) cannot shorten it.
        await this.db.updateTable('signin_failure')
          .set((eb) => ({ blocked_until_ms: eb.case().when('blocked_until_ms', '<', until).then(until).else(eb.ref('blocked_until_ms')).end() }))
          .where('key', '=', key).execute()
      }
      out.push({ count, crossed: count === k.policy.free, delayMs })
    }
    this.failures += keys.length
    if (this.failures >= this.pruneEvery) {
      this.failures = 0
      // One prune at a time per instance; the request that triggers it waits for it.
      this.pruning ??= this.prune().finally(() => { this.pruning = undefined })
      await this.pruning
    }
    return out
  }

  /** Forgets these keys (a success). */
  async reset(keys: readonly ThrottleKey[]): Promise<void> {
    if (keys.length === 0) return
    await this.db.deleteFrom('signin_failure').where('key', 'in', keys.map(throttleRowKey)).execute()
  }

  /** Drops expired rows, then the oldest evictable ones over the bound; returns how many went. */
  async prune(): Promise<number> {
    const now = this.now()
    const expired = await this.db.deleteFrom('signin_failure').where('expires_ms', '<=', now).executeTakeFirst()
    let removed = Number(expired.numDeletedRows)
    const { n } = await this.db.selectFrom('signin_failure').select((eb) => eb.fn.countAll<number>().as('n'))
      .where('weight', '<', 2).executeTakeFirstOrThrow()
    const over = Number(n) - this.maxRows
    if (over > 0) {
      // Down to 90% of the bound, so that a full table is not pruned on every failure.
      const excess = over + Math.floor(this.maxRows / 10)
      const evicted = await this.db.deleteFrom('signin_failure').where('key', 'in', (eb) => eb.selectFrom('signin_failure')
        .select('key').where('weight', '<', 2).orderBy('weight').orderBy('last_ms').limit(excess)).executeTakeFirst()
      removed += Number(evicted.numDeletedRows)
    }
    return removed
  }
}
