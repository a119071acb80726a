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

// Kysely's own PostgreSQL introspector resolves every table of every schema by name, so a schema
// dropped meanwhile by another process (a parallel test run, another app) failed the migration with
// 'relation "t_….x" does not exist'. Ours looks at the current schema only.
test('[postgres] migrating is not disturbed by other schemas being dropped meanwhile', { skip: !testDatabases().includes('postgres') }, async (t) => {
  const base = process.env.WHARF_TEST_DATABASE_URL!
  const schemaUrl = (name: string) => { const u = new URL(base); u.searchParams.set('schema', name); return u.toString() }
  const churnSchema = `t_churn_${randomBytes(4).toString('hex')}`
  let churning = true
  const churn = (async () => {
    const { openDatabase, ensurePostgresSchema } = await import('../../src/storage/db/open.js')
    const { sql } = await import('kysely')
    const { db } = openDatabase(schemaUrl(churnSchema))
    try {
      for (let i = 0; churning && i < 2000; i++) {
        await ensurePostgresSchema(schemaUrl(churnSchema))
        const cols = Array.from({ length: 8 }, (_, c) => `c${c} bigserial`).join(', ')
        for (let k = 0; k < 6; k++) await sql.raw(`create table if not exists ${churnSchema}.tab${k} (${cols})`).execute(db)
        await dropPostgresSchema(schemaUrl(churnSchema))
      }
    } finally {
      await db.destroy()
    }
  })()
  const dirs: string[] = []
  const schemas: string[] = []
  t.after(async () => {
    churning = false
    await churn
    for (const s of schemas) await dropPostgresSchema(schemaUrl(s))
    await dropPostgresSchema(schemaUrl(churnSchema))
    for (const d of dirs) await rm(d, { recursive: true, force: true })
  })
  for (let round = 0; round < 8; round++) {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'wharf-mig-'))
    dirs.push(dataDir)
    const schema = `t_${randomBytes(6).toString('hex')}`
    schemas.push(schema)
    const services = await openServices(loadConfig({ WHARF_DATA: dataDir, WHARF_DATABASE_URL: schemaUrl(schema) }))
    await services.close()
  }
  churning = false
  await churn
})
