// A query built and compiled once, executed many times with new parameter values: for the few
// queries on every download's path, where building and compiling a Kysely query each time cost more
// server CPU than SQLite running it. The query is built with placeholder objects standing in for the
// arguments; their positions in the compiled parameter list are remembered and filled per call.
import { CompiledQuery, type Compilable, type Kysely } from 'kysely'

class Arg {
  constructor(readonly index: number) {}
}

/**
 * `build` receives placeholders for its arguments; use each only as a plain value (`where(col, '=',
 * arg)`), never in JavaScript expressions (`arg.toLowerCase()` must happen before the call).
 */
export function prepared<D, A extends readonly unknown[], R>(
  db: Kysely<D>,
  arity: A['length'],
  build: (db: Kysely<D>, ...args: A) => Compilable<R>,
): (...args: A) => Promise<R[]> {
  const run = preparedOn(db, arity, build)
  return async (...args: A) => run(db, ...args)
}

/** prepared(), run on the Kysely instance given with each call: the database or a transaction of it. */
export function preparedOn<D, A extends readonly unknown[], R>(
  db: Kysely<D>,
  arity: A['length'],
  build: (db: Kysely<D>, ...args: A) => Compilable<R>,
): (on: Kysely<D>, ...args: A) => Promise<R[]> {
  let compiled: { sql: string; slots: Array<number | undefined>; fixed: readonly unknown[] } | undefined
  const compile = () => {
    const args = Array.from({ length: arity }, (_, i) => new Arg(i)) as unknown as A
    const q = build(db, ...args).compile()
    return { sql: q.sql, slots: q.parameters.map((p) => (p instanceof Arg ? p.index : undefined)), fixed: q.parameters }
  }
  return async (on: Kysely<D>, ...args: A) => {
    compiled ??= compile()
    const { sql, slots, fixed } = compiled
    const params = slots.map((s, k) => (s === undefined ? fixed[k] : args[s]))
    return (await on.executeQuery(CompiledQuery.raw(sql, params))).rows as R[]
  }
}
