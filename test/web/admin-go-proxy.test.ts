// Issue 12 item 7: site admins list cached upstream Go modules (API and page) and purge them; a
// purged module is fetched from the upstream again. Others get 403, anonymous API callers 401.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { startTestApp, testDatabases } from '../helpers/test-app.js'
import { PASSWORD, basic, makeUser } from '../helpers/auth.js'
import { call } from '../helpers/http.js'
import { startTestUpstream } from '../helpers/go-upstream.js'
import { WebClient } from './web-client.js'

const MOD = 'example.org/up/one'
const OTHER = 'example.org/up/other'
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex')

for (const db of testDatabases()) {
  test(`[${db}] go proxy cache admin: listed by the API and the page, purged, fetched upstream again`, async (t) => {
    const up = await startTestUpstream(t)
    await up.add(MOD, 'v1.0.0', { files: { 'one.go': 'package one\n' } })
    await up.add(OTHER, 'v1.2.0', { files: { 'other.go': 'package other\n' } })
    const { url, services } = await startTestApp(t, { db, env: { WHARF_GO_UPSTREAM: up.url } })
    await makeUser(services, 'alice')
    await makeUser(services, 'root', { admin: true })
    const alice = basic('alice', PASSWORD)
    const root = basic('root', PASSWORD)
    const fetchZip = async (mod: string, v: string) => {
      const res = await fetch(`${url}/api/packages/alice/go/${mod}/@v/${v}.zip`, { headers: { authorization: alice } })
      assert.equal(res.status, 200)
      return Buffer.from(await res.arrayBuffer())
    }
    const zip = await fetchZip(MOD, 'v1.0.0')
    await fetchZip(OTHER, 'v1.2.0')
    assert.equal(up.count(`${MOD}/@v/v1.0.0.zip`), 1)

    const api = `${url}/api/v1/admin/go-proxy/modules`
    assert.equal((await call(api, 'GET')).status, 401)
    assert.equal((await call(api, 'GET', alice)).status, 403)
    assert.equal((await call(`${api}/${encodeURIComponent(MOD)}`, 'DELETE', alice)).status, 403)
    assert.equal((await call(`${api}?page=0`, 'GET', root)).status, 400)
    const all = await call(api, 'GET', root)
    assert.equal(all.status, 200)
    assert.equal(all.headers.get('x-total-count'), '2')
    assert.deepEqual(all.body.map((m: { module: string }) => m.module).sort(), [MOD, OTHER])
    const listed = await call(`${api}?q=ONE`, 'GET', root)
    assert.equal(listed.body.length, 1)
    assert.equal(listed.body[0].module, MOD)
    assert.equal(listed.body[0].versions, 1)
    assert.ok(listed.body[0].size >= zip.length, 'size counts the zip')
    assert.ok(!Number.isNaN(Date.parse(listed.body[0].last_used_at)))
    const paged = await call(`${api}?limit=1&page=2`, 'GET', root)
    assert.equal(paged.body.length, 1)
    assert.match(paged.headers.get('link') ?? '', /rel="prev"/)

    // The page lists both, purges one with the CSRF token.
    const web = new WebClient(url)
    assert.equal((await web.signIn('root', PASSWORD)).status, 303)
    assert.match((await web.get('/-/admin/users')).body, /href="\/-\/admin\/go-proxy"/)
    const page = await web.get('/-/admin/go-proxy')
    assert.equal(page.res.status, 200)
    assert.match(page.body, new RegExp(`<code>${MOD}</code>`))
    assert.match(page.body, new RegExp(`<code>${OTHER}</code>`))
    assert.doesNotMatch((await web.get('/-/admin/go-proxy?q=other')).body, new RegExp(`<code>${MOD}</code>`))
    assert.equal((await web.get('/-/admin/go-proxy?page=x')).res.status, 400)
    assert.equal((await web.post('/-/admin/go-proxy/purge', { module: OTHER })).res.status, 403, 'no CSRF token')
    const _csrf = await web.csrf('/-/admin/go-proxy')
    const purged = await web.post('/-/admin/go-proxy/purge', { _csrf, module: OTHER })
    assert.equal(purged.res.status, 200)
    assert.match(purged.body, /Purged example\.org\/up\/other/)
    assert.doesNotMatch(purged.body, new RegExp(`<code>${OTHER}</code>`))
    assert.deepEqual(await services.goProxy.versionsOf(OTHER), [])

    // The API purge; gone from the list; the next fetch goes upstream again, same bytes.
    assert.equal((await call(`${api}/${encodeURIComponent(MOD)}?version=v9.9.9`, 'DELETE', root)).status, 404)
    assert.equal((await call(`${api}/${encodeURIComponent(MOD)}?version=v1.0.0`, 'DELETE', root)).status, 204)
    assert.equal((await call(`${api}/${encodeURIComponent(MOD)}`, 'DELETE', root)).status, 404, 'nothing left to purge')
    assert.deepEqual((await call(api, 'GET', root)).body, [])
    assert.match((await web.get('/-/admin/go-proxy')).body, /No cached modules/)
    assert.equal(sha256(await fetchZip(MOD, 'v1.0.0')), sha256(zip))
    assert.equal(up.count(`${MOD}/@v/v1.0.0.zip`), 2, 'fetched from the upstream again')
    assert.equal((await call(api, 'GET', root)).body[0].module, MOD)
  })
}

test('go proxy cache page: not for other users', async (t) => {
  const { url, services } = await startTestApp(t)
  await makeUser(services, 'alice')
  const web = new WebClient(url)
  assert.equal((await web.get('/-/admin/go-proxy')).res.status, 303)
  assert.equal((await web.signIn('alice', PASSWORD)).status, 303)
  assert.equal((await web.get('/-/admin/go-proxy')).res.status, 403)
  const _csrf = await web.csrf('/-/settings')
  assert.equal((await web.post('/-/admin/go-proxy/purge', { _csrf, module: 'example.org/x' })).res.status, 403)
})
