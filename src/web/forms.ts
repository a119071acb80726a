// Reading urlencoded form bodies (@fastify/formbody) without trusting their shape (the CSRF check is ./csrf.ts).
import type { FastifyRequest } from 'fastify'

export type Form = Record<string, string | string[] | undefined>

export const MAX_FIELD = 4096

export function formOf(req: FastifyRequest): Form {
  const b = req.body
  return b && typeof b === 'object' ? (b as Form) : {}
}

/** One text field, trimmed unless `keep` (passwords keep their spaces); long input is cut. */
export function field(form: Form, name: string, keep = false): string {
  const v = form[name]
  const s = Array.isArray(v) ? (v[0] ?? '') : (v ?? '')
  const cut = s.slice(0, MAX_FIELD)
  return keep ? cut : cut.trim()
}

export function fields(form: Form, name: string): string[] {
  const v = form[name]
  if (v === undefined) return []
  return (Array.isArray(v) ? v : [v]).slice(0, 50).map((s) => s.slice(0, 200))
}

/** A same-site path to go back to after signing in; anything else becomes "/". */
export function safeNext(next: string | undefined): string {
  if (!next || !next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\') || next.length > 2000) return '/'
  if (/[\r\n\t]/.test(next) || next.startsWith('/-/login') || next.startsWith('/-/logout')) return '/'
  return next
}
