// Gitea's token scope names. write:X implies read:X; `all` implies everything.
import { invalid } from '../errors.js'

export const SCOPE_CATEGORIES = ['package', 'user', 'organization', 'admin'] as const
export type ScopeCategory = (typeof SCOPE_CATEGORIES)[number]
export type Scope = `read:${ScopeCategory}` | `write:${ScopeCategory}` | 'all'

export const ALL_SCOPES: readonly Scope[] = [
  'all',
  ...SCOPE_CATEGORIES.flatMap((c) => [`read:${c}`, `write:${c}`] as Scope[]),
]

const KNOWN = new Set<string>(ALL_SCOPES)

/** Parses a comma/space separated list or array; unknown names are an `invalid` error. */
export function parseScopes(input: string | readonly string[]): Scope[] {
  const items = (typeof input === 'string' ? input.split(/[\s,]+/) : [...input]).map((s) => s.trim()).filter(Boolean)
  if (items.length === 0) throw invalid('at least one token scope is required')
  const out: Scope[] = []
  for (const s of items) {
    if (!KNOWN.has(s)) throw invalid(`unknown token scope '${s}' (known: ${ALL_SCOPES.join(', ')})`)
    if (!out.includes(s as Scope)) out.push(s as Scope)
  }
  return out
}

/** The full set of scopes a list grants, with implications applied. */
export function expandScopes(scopes: readonly Scope[]): ReadonlySet<Scope> {
  if (scopes.includes('all')) return new Set(ALL_SCOPES)
  const out = new Set<Scope>(scopes)
  for (const c of SCOPE_CATEGORIES) if (out.has(`write:${c}`)) out.add(`read:${c}`)
  return out
}

export const EVERY_SCOPE: ReadonlySet<Scope> = new Set(ALL_SCOPES)
