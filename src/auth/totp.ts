// TOTP (RFC 6238): HMAC-SHA1, 30-second steps, 6 digits, a base32 secret, and a window of one step
// either side for clock drift, computed by the otpauth library. Recovery codes are SHA-256 digests.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import { Secret, TOTP } from 'otpauth'

export const TOTP_STEP_SECONDS = 30
export const TOTP_DIGITS = 6

const totpOf = (secret: string, label = '', issuer = '') =>
  new TOTP({ secret: Secret.fromBase32(secret), algorithm: 'SHA1', digits: TOTP_DIGITS, period: TOTP_STEP_SECONDS, label, issuer })

export const base32Encode = (buf: Buffer): string => new Secret({ buffer: new Uint8Array(buf).buffer }).base32
export const base32Decode = (s: string): Buffer => Buffer.from(Secret.fromBase32(s.replace(/[\s=-]/g, '')).bytes)

/** A new 160-bit secret (RFC 4226's recommended length), base32. */
export const generateTotpSecret = (): string => new Secret({ size: 20 }).base32

export function totp(secret: string, atMs = Date.now()): string {
  return totpOf(secret).generate({ timestamp: atMs })
}

/** The time step `code` matches (the current one or one either side), else -1. */
export function matchTotp(secret: string, code: string, atMs = Date.now()): number {
  const given = code.replace(/\s/g, '')
  if (!/^\d{6}$/.test(given)) return -1
  // otpauth compares every candidate in constant time and answers the matching step's offset.
  const delta = totpOf(secret).validate({ token: given, timestamp: atMs, window: 1 })
  return delta === null ? -1 : Math.floor(atMs / 1000 / TOTP_STEP_SECONDS) + delta
}

export const verifyTotp = (secret: string, code: string, atMs = Date.now()): boolean => matchTotp(secret, code, atMs) >= 0

export function otpauthUri(secret: string, account: string, issuer: string): string {
  return totpOf(secret, account, issuer).toString()
}

/** Ten codes like "a1b2c-3d4e5" (50 random bits each). */
export function generateRecoveryCodes(n = 10): string[] {
  return Array.from({ length: n }, () => {
    const h = randomBytes(5).toString('hex')
    return `${h.slice(0, 5)}-${h.slice(5)}`
  })
}

export const normalizeRecoveryCode = (code: string): string => code.trim().toLowerCase().replace(/[^0-9a-f]/g, '')
export const hashRecoveryCode = (code: string): string => createHash('sha256').update(normalizeRecoveryCode(code)).digest('hex')

/** Returns the remaining hashes when `code` is one of them (it is used up), else undefined. */
export function useRecoveryCode(storedJson: string | null, code: string): string[] | undefined {
  if (!storedJson) return undefined
  let hashes: unknown
  try {
    hashes = JSON.parse(storedJson)
  } catch {
    return undefined
  }
  if (!Array.isArray(hashes) || normalizeRecoveryCode(code).length !== 10) return undefined
  const given = Buffer.from(hashRecoveryCode(code), 'hex')
  let hit = -1
  hashes.forEach((h, i) => {
    if (typeof h === 'string' && /^[0-9a-f]{64}$/.test(h) && timingSafeEqual(Buffer.from(h, 'hex'), given)) hit = i
  })
  return hit < 0 ? undefined : hashes.filter((_, i) => i !== hit) as string[]
}
