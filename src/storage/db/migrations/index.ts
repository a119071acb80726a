// The ordered list of migrations. Append only; never edit a released one.
import type { Kysely } from 'kysely'
import type { Flavor } from './flavor.js'
import * as m0001 from './0001-initial.js'
import * as m0002 from './0002-signin-throttle.js'
import * as m0003 from './0003-shared-state.js'
import * as m0004 from './0004-lifecycle.js'
import * as m0005 from './0005-go-proxy.js'
import * as m0006 from './0006-ops.js'
import * as m0011 from './0011-oidc.js'
import * as m0012 from './0012-inline-blobs.js'

export interface WharfMigration { up(db: Kysely<any>, flavor: Flavor): Promise<void> }

export const migrations: Record<string, WharfMigration> = {
  '0001-initial': m0001,
  '0002-signin-throttle': m0002,
  '0003-shared-state': m0003,
  '0004-lifecycle': m0004,
  '0005-go-proxy': m0005,
  '0006-ops': m0006,
  '0011-oidc': m0011,
  '0012-inline-blobs': m0012,
}
