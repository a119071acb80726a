// User and organization name rules (Gitea's: alphanumerics with single - _ . between them).
import { invalid } from '../errors.js'

/** Top-level path segments of the API and web UI (its own pages live under /-/). */
const RESERVED = new Set([
  'api', 'assets', 'static', 'explore', 'favicon.ico', 'robots.txt', '-', '.', '..',
])

export function checkOwnerName(name: unknown, what = 'username'): string {
  if (typeof name !== 'string' || name.length === 0) throw invalid(`${what} is required`)
  if (name.length > 40) throw invalid(`${what} must be at most 40 characters`)
  if (!/^[A-Za-z0-9]+(?:[-_.][A-Za-z0-9]+)*$/.test(name)) {
    throw invalid(`${what} may contain only letters, digits and single - _ . between them`)
  }
  if (RESERVED.has(name.toLowerCase())) throw invalid(`${what} '${name}' is reserved`)
  return name
}

export function checkEmail(email: unknown): string {
  if (email === undefined || email === null || email === '') return ''
  if (typeof email !== 'string' || email.length > 254 || !/^[^\s@]+@[^\s@]+$/.test(email)) throw invalid('email is not a valid address')
  return email
}
