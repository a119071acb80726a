// TOTP (RFC 6238 over RFC 4226 HOTP): HMAC-SHA1, 30-second steps, 6 digits, a base32 secret, and a
// window of one step either side for clock drift. Recovery codes are stored as SHA-256 digests.
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto'

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'
export const TOTP_STEP_SECONDS = 30
export const TOTP_DIGITS = 6

export function base32Encode(buf: Buffer): string {
  let bits = 0
  let value = 0
  let out = ''
  for (const byte of buf) {
    value = (value << 8) | byte
    bits += 8
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31]
      bits -= 5
    }
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31]
  return out
}

export function base32Decode(s: string): Buffer {
  const clean = s.toUpperCase().replace(/[\s=-]/g, '')
  let bits = 0
  let value = 0
  const out: number[] = []
  for (const c of clean) {
    const i = ALPHABET.indexOf(c)
    if (i < 0) throw new TypeError('not base32')
    value = ((value << 5) | i) & 0xffff
    bits += 5
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff)
      bits -= 8
    }
  }
  return Buffer.from(out)
}

/** A new 160-bit secret (RFC 4226's recommended length), base32. */
export const generateTotpSecret = (): string => base32Encode(randomBytes(20))

export function hotp(key: Buffer, counter: number): string {
  const msg = Buffer.alloc(8)
  msg.writeBigUInt64BE(BigInt(counter))
  const mac = createHmac('sha1', key).update(msg).digest()
  const offset = mac[mac.length - 1]! & 0x0f
  const code = (mac.readUInt32BE(offset) & 0x7fffffff) % 10 ** TOTP_DIGITS
  return code.toString().padStart(TOTP_DIGITS, '0')
}

export function totp(secret: string, atMs = Date.now()): string {
  return hotp(base32Decode(secret), Math.floor(atMs / 1000 / TOTP_STEP_SECONDS))
}

/** The time step `code` matches (the current one or one either side), else -1. */
export function matchTotp(secret: string, code: string, atMs = Date.now()): number {
  const given = code.replace(/\s/g, '')
  if (!/^\d{6}$/.test(given)) return -1
  const key = base32Decode(secret)
  const step = Math.floor(atMs / 1000 / TOTP_STEP_SECONDS)
  let hit = -1
  // No early return: every candidate is compared, so timing says nothing about which step matched.
  for (const d of [-1, 0, 1]) {
    if (timingSafeEqual(Buffer.from(hotp(key, step + d)), Buffer.from(given))) hit = step + d
  }
  return hit
}

export const verifyTotp = (secret: string, code: string, atMs = Date.now()): boolean => matchTotp(secret, code, atMs) >= 0

export function otpauthUri(secret: string, account: string, issuer: string): string {
  const label = encodeURIComponent(`${issuer}:${account}`)
  return `otpauth://totp/${label}?secret=${secret}&issuer=${encodeURIComponent(issuer)}&algorithm=SHA1&digits=${TOTP_DIGITS}&period=${TOTP_STEP_SECONDS}`
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
