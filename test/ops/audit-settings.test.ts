// Package settings changes (issue 11's overwrite policy and protected versions) are audited in the
// transaction that stores them (issue 13): one entry with the actor and before/after; a refused
// change leaves none.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { startTestApp, testDatabases } from '../helpers/test-app.js'
import { PASSWORD, basic, makeToken, makeUser, tokenAuth } from '../helpers/auth.js'

for (const db of testDatabases()) {
  test(`[${db}] a package settings change leaves one audit entry with its actor; a refused one none`, async (t) => {
    const app = await startTestApp(t, { db })
    const alice = await makeUser(app.services, 'alice')
    const token = await makeToken(app.services, alice, ['write:package'], 'ci')
    const put = await fetch(`${app.url}/api/packages/alice/generic/tool/1.0/a.bin`, { method: 'PUT', headers: { authorization: basic('alice', PASSWORD) }, body: 'x' })
    assert.equal(put.status, 201)
    const count = async () => (await app.services.audit.list({ limit: 100 })).filter((r) => r.action === 'package.settings.change')
    const settings = (body: unknown) => fetch(`${app.url}/api/v1/packages/alice/generic/tool/-/settings`, {
      method: 'PUT', headers: { authorization: tokenAuth(token), 'content-type': 'application/json' }, body: JSON.stringify(body),
    })
    assert.equal((await settings({ overwrite: 'overwrite', overwrite_versions: 'nightly*' })).status, 200)
    const rows = await count()
    assert.equal(rows.length, 1)
    const e = rows[0]!
    assert.equal(e.actor_name, 'alice')
    assert.equal(e.token_name, 'ci')
    assert.equal(e.owner_id, alice.id)
    assert.equal(e.target, 'generic/tool')
    const detail = JSON.parse(e.detail_json ?? '{}') as { before: { overwrite: string }; after: { overwrite: string; overwriteVersions: string } }
    assert.equal(detail.before.overwrite, 'immutable')
    assert.equal(detail.after.overwriteVersions, 'nightly*')
    const refused = await settings({ overwrite: 'sometimes' })
    assert.ok(refused.status >= 400 && refused.status < 500, `refused with ${refused.status}`)
    assert.equal((await count()).length, 1, 'a refused change is not recorded')
  })
}
