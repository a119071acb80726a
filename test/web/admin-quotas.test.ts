// Issue 11 item 4: site admins set and clear per-owner quota overrides on /-/admin/quotas; the API
// shows what the page set and uploads past it are refused; others cannot reach the page.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { startTestApp, testDatabases } from '../helpers/test-app.js'
import { PASSWORD, basic, makeUser } from '../helpers/auth.js'
import { call } from '../helpers/http.js'
import { WebClient } from './web-client.js'

const upload = (url: string, file: string, bytes: number) => fetch(`${url}/api/packages/alice/generic/tool/1.0/${file}`, {
  method: 'PUT', headers: { authorization: basic('alice', PASSWORD) }, body: Buffer.alloc(bytes, 7),
})

for (const db of testDatabases()) {
  test(`[${db}] admin quotas page: set an override, the API shows it, an upload past it is refused, clear it`, async (t) => {
    const { url, services } = await startTestApp(t, { db })
    await makeUser(services, 'alice')
    await makeUser(services, 'root', { admin: true })
    assert.equal((await upload(url, 'a.bin', 600)).status, 201)

    const web = new WebClient(url)
    assert.equal((await web.signIn('root', PASSWORD)).status, 303)
    assert.match((await web.get('/-/admin/users')).body, /href="\/-\/admin\/quotas"/)
    const page = await web.get('/-/admin/quotas')
    assert.equal(page.res.status, 200)
    assert.match(page.body, /No owner has an override/)
    const _csrf = await web.csrf('/-/admin/quotas')
    const bad = await web.post('/-/admin/quotas', { _csrf, action: 'set', owner: 'alice', size: 'lots' })
    assert.equal(bad.res.status, 400)
    assert.match(bad.body, /Could not save/)
    assert.equal((await web.post('/-/admin/quotas', { _csrf, action: 'set', owner: 'nobody', size: '1' })).res.status, 400)
    assert.equal((await web.post('/-/admin/quotas', { action: 'set', owner: 'alice', size: '1' })).res.status, 403, 'no CSRF token')

    const set = await web.post('/-/admin/quotas', { _csrf, action: 'set', owner: 'alice', size: '1KiB', count: '' })
    assert.equal(set.res.status, 200)
    assert.match(set.body, /Saved the override of alice/)
    assert.match(set.body, /<td><a href="\/alice">alice<\/a><\/td>\s*<td>1\.0 KiB<\/td><td>default<\/td>\s*<td>600 B of 1\.0 KiB<\/td><td>1 of no limit<\/td>/)
    const q = await call(`${url}/api/v1/admin/package-quotas/alice`, 'GET', basic('root', PASSWORD))
    assert.equal(q.status, 200)
    assert.equal(q.body.limit_total_size, 1024)
    assert.equal(q.body.limit_total_count, null)
    const refused = await upload(url, 'b.bin', 600)
    assert.equal(refused.status, 403)
    assert.match(await refused.text(), /quota/)

    const cleared = await web.post('/-/admin/quotas', { _csrf, action: 'clear', owner: 'alice' })
    assert.equal(cleared.res.status, 200)
    assert.match(cleared.body, /No owner has an override/)
    assert.deepEqual((await call(`${url}/api/v1/admin/package-quotas`, 'GET', basic('root', PASSWORD))).body, [])
    assert.equal((await upload(url, 'b.bin', 600)).status, 201)
  })
}

test('admin quotas page: not for other users or anonymous visitors', async (t) => {
  const { url, services } = await startTestApp(t)
  await makeUser(services, 'alice')
  const anon = new WebClient(url)
  const r = await anon.get('/-/admin/quotas')
  assert.equal(r.res.status, 303)
  assert.match(r.res.headers.get('location')!, /^\/-\/login\?next=/)
  const web = new WebClient(url)
  assert.equal((await web.signIn('alice', PASSWORD)).status, 303)
  assert.equal((await web.get('/-/admin/quotas')).res.status, 403)
  const _csrf = await web.csrf('/-/settings')
  assert.equal((await web.post('/-/admin/quotas', { _csrf, action: 'set', owner: 'alice', size: '-1' })).res.status, 403)
  assert.deepEqual((await services.quota.limits((await services.users.findOwner('alice'))!.id)).override, { size: null, count: null })
})
