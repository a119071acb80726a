// scrypt with a per-user random salt, stored as "scrypt$N$r$p$salt$hash" (base64) so the cost can rise:
// a hash made with a lower cost still verifies, and is re-made at the current cost on the next
// successful sign-in (needsRehash). The current cost is OWASP's advice for scrypt, N=2^17, r=8, p=1
// (Password Storage Cheat Sheet); WHARF_PASSWORD_HASH_COST (log2 N) may change it, e.g. lower in tests.
import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto'

/** log2 of scrypt's N: 17 → N = 131072. */
export const DEFAULT_PASSWORD_COST = 17
export const MIN_PASSWORD_COST = 10
export const MAX_PASSWORD_COST = 20
const R = 8
const P = 1
const KEYLEN = 32

/** scrypt needs 128·N·r·p bytes; Node refuses past maxmem (32 MiB by default), so allow that plus slack. */
const maxmemFor = (n: number, r: number, p: number) => 128 * n * r * p + 16 * 1024 * 1024

/**
 * At most this many scrypt computations at once: each takes 128 MiB and a libuv thread for a few
 * hundred ms, so a burst of sign-ins (or of wrong passwords) queues here instead of asking for
 * gigabytes and starving file reads and writes of the thread pool.
 */
const MAX_CONCURRENT = 2
let running = 0
const waiting: (() => void)[] = []

async function scrypt(password: string, salt: Buffer, keylen: number, opts: ScryptOptions): Promise<Buffer> {
  if (running >= MAX_CONCURRENT) await new Promise<void>((resolve) => waiting.push(resolve))
  else running++
  try {
    return await new Promise((resolve, reject) =>
      scryptCb(password, salt, keylen, opts, (err, key) => (err ? reject(err) : resolve(key))))
  } finally {
    // Hand the slot straight to the next waiter (running stays the same), or free it.
    const next = waiting.shift()
    if (next) next()
    else running--
  }
}

export async function hashPassword(password: string, cost = DEFAULT_PASSWORD_COST): Promise<string> {
  const n = 2 ** cost
  const salt = randomBytes(16)
  const key = await scrypt(password, salt, KEYLEN, { N: n, r: R, p: P, maxmem: maxmemFor(n, R, P) })
  return `scrypt$${n}$${R}$${P}$${salt.toString('base64')}$${key.toString('base64')}`
}

interface Parsed { n: number; r: number; p: number; salt: Buffer; hash: Buffer }

function parse(stored: string | null): Parsed | undefined {
  if (stored === null) return undefined
  const parts = stored.split('$')
  if (parts.length !== 6 || parts[0] !== 'scrypt') return undefined
  const [, n, r, p, salt, hash] = parts as [string, string, string, string, string, string]
  const out = { n: Number(n), r: Number(r), p: Number(p), salt: Buffer.from(salt, 'base64'), hash: Buffer.from(hash, 'base64') }
  // Bounds keep a corrupt row from asking for gigabytes.
  if (![out.n, out.r, out.p].every(Number.isSafeInteger) || out.n < 2 || out.n > 2 ** MAX_PASSWORD_COST || out.r < 1 || out.r > 32 || out.p < 1 || out.p > 16) return undefined
  return out
}

export async function verifyPassword(password: string, stored: string | null): Promise<boolean> {
  const h = parse(stored)
  if (!h || h.hash.length === 0) return false
  const key = await scrypt(password, h.salt, h.hash.length, { N: h.n, r: h.r, p: h.p, maxmem: maxmemFor(h.n, h.r, h.p) })
  return key.length === h.hash.length && timingSafeEqual(key, h.hash)
}

/** Whether a stored hash was made with other parameters than the current ones (then re-hash it at sign-in). */
export function needsRehash(stored: string | null, cost = DEFAULT_PASSWORD_COST): boolean {
  const h = parse(stored)
  return !h || h.n !== 2 ** cost || h.r !== R || h.p !== P || h.hash.length !== KEYLEN
}

export const MIN_PASSWORD_LENGTH = 8
export const MAX_PASSWORD_LENGTH = 1024
