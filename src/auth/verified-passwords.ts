// Remembers which (user, stored hash, password) triples verified, so a busy Basic-auth client does not
// pay scrypt (N=2^17: ~128 MiB and a few hundred ms of a thread) on every request. Three properties
// matter under load:
//  - one verification at a time per triple: when an entry is missing or expired, the concurrent
//    requests of a client share one scrypt instead of each starting their own (32 connections once
//    meant 32 scrypts, 4 GiB asked for and requests stalled past 2 s every minute);
//  - a sliding expiry: an entry in use is renewed, so a steady client never falls out of it; it still
//    goes after `maxAgeMs` so a verification is redone now and then;
//  - bounded: past `max` entries the least recently used goes, never the whole cache.
// The key includes the stored hash, so a password change makes every old entry unreachable.

export interface VerifiedPasswordsOptions {
  /** Idle time after which an entry is forgotten. */
  readonly idleMs: number
  /** Age after which an entry is verified again, however busy. */
  readonly maxAgeMs: number
  readonly max: number
  readonly now?: () => number
}

interface Entry { idleUntil: number; verifiedAt: number }

export class VerifiedPasswords {
  readonly #entries = new Map<string, Entry>()
  readonly #inFlight = new Map<string, Promise<boolean>>()
  readonly #now: () => number

  constructor(private readonly opts: VerifiedPasswordsOptions) {
    this.#now = opts.now ?? Date.now
  }

  /** True when `key` verified recently; else runs `verify` (once for all concurrent callers of a key). */
  async check(key: string, verify: () => Promise<boolean>): Promise<boolean> {
    const t = this.#now()
    const e = this.#entries.get(key)
    if (e && e.idleUntil > t && t - e.verifiedAt < this.opts.maxAgeMs) {
      // Move to the most recently used end of the Map's order.
      this.#entries.delete(key)
      e.idleUntil = t + this.opts.idleMs
      this.#entries.set(key, e)
      return true
    }
    if (e) this.#entries.delete(key)
    const pending = this.#inFlight.get(key)
    if (pending) return pending
    const p = verify().then((ok) => {
      if (ok) this.remember(key)
      return ok
    }).finally(() => this.#inFlight.delete(key))
    this.#inFlight.set(key, p)
    return p
  }

  /** Records a verification done elsewhere (a re-hash made a new stored hash for the same password). */
  remember(key: string): void {
    const t = this.#now()
    this.#entries.delete(key)
    while (this.#entries.size >= this.opts.max) {
      const oldest = this.#entries.keys().next()
      if (oldest.done) break
      this.#entries.delete(oldest.value)
    }
    this.#entries.set(key, { idleUntil: t + this.opts.idleMs, verifiedAt: t })
  }

  clear(): void {
    this.#entries.clear()
  }

  get size(): number {
    return this.#entries.size
  }
}
