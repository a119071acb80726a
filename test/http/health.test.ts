import { test } from 'node:test'
import assert from 'node:assert/strict'
import { startTestApp, testMatrix } from '../helpers/test-app.js'

for (const { db, storage, label } of testMatrix()) {
  test(`[${label}] healthz passes and version answers anonymously`, async (t) => {
    const { url } = await startTestApp(t, { db, storage })
    const h = await fetch(`${url}/api/healthz`)
    assert.equal(h.status, 200)
    const body = await h.json() as { status: string; checks: Record<string, Array<{ status: string }>> }
    assert.equal(body.status, 'pass')
    assert.equal(body.checks['database:ping']?.[0]?.status, 'pass')
    const v = await fetch(`${url}/api/v1/version`)
    assert.equal(v.status, 200)
    assert.match((await v.json() as { version: string }).version, /^\d+\.\d+\.\d+/)
  })

  test(`[${label}] healthz answers 503 fail when the database is gone`, async (t) => {
    const { url, services } = await startTestApp(t, { db, storage })
    await services.db.destroy()
    const h = await fetch(`${url}/api/healthz`)
    assert.equal(h.status, 503)
    assert.equal((await h.json() as { status: string }).status, 'fail')
  })
}
