// Two instances starting at once against one database both come up, and the schema is applied once.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { randomBytes } from 'node:crypto'
import { loadConfig } from '../../src/config/config.js'
import { openServices } from '../../src/services.js'
import { dropPostgresSchema } from '../../src/storage/db/open.js'
import { migrations } from '../../src/storage/db/migrations/index.js'
import { testDatabases } from '../helpers/test-app.js'
import { makeUser } from '../helpers/auth.js'

for (const db of testDatabases()) {
  test(`[${db}] concurrent start-ups migrate once and share the schema`, async (t) => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'wharf-mig-'))
    const env: Record<string, string> = { WHARF_DATA: dataDir }
    if (db === 'postgres') {
      const u = new URL(process.env.WHARF_TEST_DATABASE_URL!)
      u.searchParams.set('schema', `t_${randomBytes(6).toString('hex')}`)
      env.WHARF_DATABASE_URL = u.toString()
    }
    t.after(async () => {
      if (env.WHARF_DATABASE_URL) await dropPostgresSchema(env.WHARF_DATABASE_URL)
      await rm(dataDir, { recursive: true, force: true })
    })
    const config = loadConfig(env)
    const all = await Promise.all([openServices(config), openServices(config), openServices(config)])
    try {
      await makeUser(all[0], 'alice')
      for (const s of all) assert.equal((await s.users.findOwner('alice'))?.name, 'alice')
      const applied = await all[1].db.selectFrom('kysely_migration' as never).selectAll().execute()
      assert.equal(applied.length, Object.keys(migrations).length)
    } finally {
      for (const s of all) await s.close()
    }
  })
}
