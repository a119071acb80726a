// Issue 11, owner quotas: 403 before the body when the declared length tells, after it (nothing
// stored) when it does not, racing uploads that cannot together pass a limit, admin overrides.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Readable } from 'node:stream'
import { startTestApp, testDatabases } from '../helpers/test-app.js'
import { PASSWORD, basic, makeUser } from '../helpers/auth.js'
import { call } from '../helpers/http.js'
import { moduleZip } from './go-helpers.js'
import { listFiles, request } from './generic-helpers.js'

for (const db of testDatabases()) {
  test(`[${db}] quota: WHARF_LIMIT_TOTAL_OWNER_SIZE refuses before the body, or after it with nothing stored`, async (t) => {
    const { url, services, dataDir } = await startTestApp(t, { db, env: { WHARF_LIMIT_TOTAL_OWNER_SIZE: '1000' } })
    await makeUser(services, 'alice')
    await makeUser(services, 'root', { admin: true })
    const auth = { authorization: basic('alice', PASSWORD) }
    const api = `${url}/api/packages/alice/generic/tool`
    assert.equal((await request({ method: 'PUT', url: `${api}/1.0/a.bin`, headers: auth, body: Buffer.alloc(600, 1) })).status, 201)

    const early = await request({ method: 'PUT', url: `${api}/1.0/b.bin`, headers: auth, body: Buffer.alloc(600, 2), expectContinue: true })
    assert.equal(early.status, 403)
    assert.equal(early.continued, false, 'refused before the body was sent')
    assert.match(early.body.toString(), /quota/)
    assert.match(early.body.toString(), /WHARF_LIMIT_TOTAL_OWNER_SIZE/)

    const blobsBefore = (await listFiles(`${dataDir}/blobs`)).filter((f) => !f.startsWith('tmp/'))
    const chunked = await request({
      method: 'PUT', url: `${api}/2.0/c.bin`, headers: { ...auth, 'transfer-encoding': 'chunked' },
      body: () => Readable.from([Buffer.alloc(300, 3), Buffer.alloc(300, 4)]),
    })
    assert.equal(chunked.status, 403, 'no declared length: refused after the body')
    assert.match(chunked.body.toString(), /WHARF_LIMIT_TOTAL_OWNER_SIZE/)
    assert.equal((await request({ method: 'GET', url: `${api}/2.0/c.bin`, headers: auth })).status, 404)
    assert.equal(await services.packages.findVersion({ ownerId: (await services.users.findOwner('alice'))!.id, type: 'generic', name: 'tool', version: '2.0' }), undefined, 'nothing stored')
    assert.deepEqual((await listFiles(`${dataDir}/blobs`)).filter((f) => !f.startsWith('tmp/')), blobsBefore, 'no blob written either')

    // within the limit still works; site admins are not held to quotas (as in Gitea)
    assert.equal((await request({ method: 'PUT', url: `${api}/1.0/small.bin`, headers: auth, body: Buffer.alloc(400, 5) })).status, 201)
    assert.equal((await request({ method: 'PUT', url: `${api}/1.0/one-more.bin`, headers: auth, body: Buffer.alloc(1, 5) })).status, 403)
    assert.equal((await request({ method: 'PUT', url: `${api}/1.0/by-admin.bin`, headers: { authorization: basic('root', PASSWORD) }, body: Buffer.alloc(50) })).status, 201)

    const usage = await call(`${url}/api/v1/packages/alice/-/usage`, 'GET', auth.authorization)
    assert.deepEqual(usage.body, { size: { used: 1050, limit: 1000 }, count: { used: 1, limit: null } })

    // a site admin's override for this owner
    const q = `${url}/api/v1/admin/package-quotas/alice`
    assert.equal((await call(q, 'PUT', auth.authorization, { limit_total_size: -1 })).status, 403, 'site admins only')
    assert.equal((await call(q, 'PUT', basic('root', PASSWORD), { limit_total_size: '2KiB', limit_total_count: 2 })).status, 200)
    const shown = await call(q, 'GET', basic('root', PASSWORD))
    assert.deepEqual({ ...shown.body.effective }, { size: 2048, count: 2 })
    assert.equal((await request({ method: 'PUT', url: `${api}/1.0/more.bin`, headers: auth, body: Buffer.alloc(900) })).status, 201)
    assert.equal((await request({ method: 'PUT', url: `${api}/3.0/x.bin`, headers: auth, body: Buffer.alloc(1) })).status, 201, 'second version')
    const third = await request({ method: 'PUT', url: `${api}/4.0/x.bin`, headers: auth, body: Buffer.alloc(1), expectContinue: true })
    assert.equal(third.status, 403)
    assert.equal(third.continued, false)
    assert.match(third.body.toString(), /WHARF_LIMIT_TOTAL_OWNER_COUNT/)
    assert.equal((await request({ method: 'PUT', url: `${api}/3.0/y.bin`, headers: auth, body: Buffer.alloc(1) })).status, 201, 'a file in an existing version is no new version')
    assert.deepEqual((await call(`${url}/api/v1/admin/package-quotas`, 'GET', basic('root', PASSWORD))).body,
      [{ owner: 'alice', limit_total_size: 2048, limit_total_count: 2 }])
    assert.equal((await call(q, 'DELETE', basic('root', PASSWORD))).status, 204)
    assert.equal((await call(`${url}/api/v1/packages/alice/-/usage`, 'GET', auth.authorization)).body.size.limit, 1000, 'back to the site-wide limit')
    // Go uploads count too
    const zip = await moduleZip('example.com/q', 'v1.0.0')
    assert.equal((await request({ method: 'PUT', url: `${url}/api/packages/alice/go/upload`, headers: auth, body: zip, expectContinue: true })).status, 403)
  })

  test(`[${db}] quota: racing uploads cannot together pass the size or the count limit`, async (t) => {
    const { url, services } = await startTestApp(t, { db, env: { WHARF_LIMIT_TOTAL_OWNER_SIZE: '1000', WHARF_LIMIT_TOTAL_OWNER_COUNT: '5' } })
    const alice = await makeUser(services, 'alice')
    await makeUser(services, 'bob')
    const auth = { authorization: basic('alice', PASSWORD) }
    for (let round = 0; round < 2; round++) {
      // 10 × 300 bytes into one version: exactly 3 fit under 1000
      const results = await Promise.all(Array.from({ length: 10 }, (_, i) => request({
        method: 'PUT', url: `${url}/api/packages/alice/generic/size${round}/1.0/f${i}.bin`, headers: auth, body: Buffer.alloc(300, i + 16 * round),
      })))
      const ok = results.filter((r) => r.status === 201).length
      assert.deepEqual(results.map((r) => r.status).filter((s) => s !== 201 && s !== 403), [], 'only 201 or 403, never a 5xx')
      const usage = await services.quota.usage(alice.id)
      assert.ok(usage.size <= 1000, `usage ${usage.size} stays within the limit`)
      if (round === 0) assert.equal(ok, 3)
      else assert.equal(ok, 0, 'full already')
    }
    // count: bob, 12 new versions at once, limit 5
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => request({
      method: 'PUT', url: `${url}/api/packages/bob/generic/many/${i}.0/f.bin`, headers: { authorization: basic('bob', PASSWORD) }, body: Buffer.from(`v${i}`),
    })))
    assert.equal(results.filter((r) => r.status === 201).length, 5)
    assert.equal(results.filter((r) => r.status === 403).length, 7)
    const bob = (await services.users.findOwner('bob'))!
    assert.equal((await services.quota.usage(bob.id)).count, 5)
  })
}
