// Query strings are read through a schema, never by hand (docs/http.md "Query parameters"):
// - a parameter given twice (?page=1&page=2) is a 400 naming it: which value was meant is a guess;
// - an empty value (?q=&type=, as a search form sends) is the same as leaving the parameter out;
// - a value the schema refuses is a 400 naming the parameter and what it takes;
// - parameters a route does not know are ignored, as Gitea does.
// The 400 is a QueryError (a WharfError 'invalid'), so each surface answers it in its own format;
// /api/v1 keeps it a 400 (Gitea's 422 is for bodies it cannot process).
import { z } from 'zod'
import { WharfError } from '../errors.js'

export class QueryError extends WharfError {
  constructor(message: string) {
    super('invalid', message)
    this.name = 'QueryError'
  }
}
const invalid = (message: string) => new QueryError(message)

/** One parameter: a schema over its single string value. */
export type QueryShape = Record<string, z.ZodType<unknown, string>>
export type QueryOf<S extends QueryShape> = { [K in keyof S]: z.output<S[K]> | undefined }

export function parseQuery<S extends QueryShape>(raw: unknown, shape: S): QueryOf<S> {
  const given = (raw ?? {}) as Record<string, unknown>
  const out: Record<string, unknown> = {}
  for (const [name, schema] of Object.entries(shape)) {
    const v = Object.prototype.hasOwnProperty.call(given, name) ? given[name] : undefined
    if (Array.isArray(v)) throw invalid(`query parameter ${name} is given more than once`)
    if (v === undefined || v === '') {
      out[name] = undefined
      continue
    }
    if (typeof v !== 'string') throw invalid(`query parameter ${name} is not a string`)
    const r = schema.safeParse(v)
    if (!r.success) throw invalid(`query parameter ${name}: ${r.error.issues[0]?.message ?? 'invalid value'}`)
    out[name] = r.data
  }
  return out as QueryOf<S>
}

/** The schemas query parameters are built from. */
export const q = {
  /** A whole number in [min, max]. */
  int: (min: number, max: number) => z.string()
    .regex(/^\d{1,15}$/, { message: `expected a whole number from ${min} to ${max}` })
    .transform(Number)
    .refine((n) => n >= min && n <= max, { message: `expected a whole number from ${min} to ${max}` }),
  /** Free text up to max characters (after trimming); longer is a 400 unless cut is set. */
  text: (max: number, opts: { cut?: boolean } = {}) => z.string().transform((s) => s.trim()).transform((s, ctx) => {
    if (s.length <= max) return s
    if (opts.cut) return s.slice(0, max)
    ctx.addIssue({ code: 'custom', message: `at most ${max} characters` })
    return z.NEVER
  }),
  /** A token matching a pattern (a package type, a name). */
  pattern: (re: RegExp, what: string) => z.string().regex(re, { message: `expected ${what}` }),
  /** Go's strconv.ParseBool, which Gitea's FormBool uses. */
  bool: () => z.enum(['1', 't', 'T', 'true', 'TRUE', 'True', '0', 'f', 'F', 'false', 'FALSE', 'False'],
    { message: 'expected true or false' }).transform((s) => ['1', 't', 'T', 'true', 'TRUE', 'True'].includes(s)),
}

/** A package type in a filter: the shape of one (an unknown type simply matches nothing). */
export const PACKAGE_TYPE = q.pattern(/^[a-z0-9]{1,32}$/, 'a package type such as generic or go')
