import type { ColumnDefinitionBuilder } from 'kysely'

export type Flavor = 'sqlite' | 'postgres'

/** An auto-increment integer primary key on both dialects. */
export const idColumn = (flavor: Flavor) => (c: ColumnDefinitionBuilder) =>
  flavor === 'sqlite' ? c.primaryKey().autoIncrement() : c.primaryKey().generatedByDefaultAsIdentity()

/** A 64-bit integer: sizes, counts and times. */
export const bigint = (flavor: Flavor) => (flavor === 'sqlite' ? 'integer' : 'bigint')
