// Access tokens: 160 random bits shown once as 40 hex characters (Gitea's format), stored as SHA-256.
import { hash, randomBytes } from 'node:crypto'

export function generateToken(): string {
  return randomBytes(20).toString('hex')
}

/** The lookup key for a presented token; equality on a digest of a random secret is not a timing oracle. */
export function hashToken(token: string): string {
  return hash('sha256', token, 'hex')
}

export const lastEight = (token: string) => token.slice(-8)

/** Looks like a token (so `TOKEN:` in Basic auth can be told from `username:`). */
export const isTokenShaped = (s: string) => /^[0-9a-f]{40}$/.test(s)
