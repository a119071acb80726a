// Zero-config `go get`: GET /{owner}/{path…}?go-get=1 answers the go-import meta tag of the hosted
// module root (or the owner-level prefix), with the owner's access rules.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { startTestApp, testDatabases } from '../helpers/test-app.js'
import { PASSWORD, basic, makeUser } from '../helpers/auth.js'
import { request } from './generic-helpers.js'
import { goClient, moduleZip } from './go-helpers.js'

const HOST = 'wharf.example.com'
const meta = (body: string) => /<meta name="go-import" content="([^"]*)">/.exec(body)?.[1]

for (const db of testDatabases()) {
  test(`[${db}] go-get=1: go-import meta tags for hosted module roots, owner prefixes, access rules`, async (t) => {
    const { url, services } = await startTestApp(t, { db, env: { WHARF_PUBLIC_URL: `https://${HOST}` } })
    await makeUser(services, 'alice')
    await makeUser(services, 'priv', { visibility: 'private' })
    for (const [owner, mod] of [['alice', `${HOST}/alice/lib`], ['priv', `${HOST}/priv/secret`]] as const) {
      const r = await goClient(url, owner).upload(await moduleZip(mod, 'v1.0.0'), basic(owner, PASSWORD))
      assert.equal(r.status, 201, r.body.toString())
    }
    const get = (path: string, auth?: string) => request({ method: 'GET', url: `${url}${path}`, headers: auth ? { authorization: auth } : {} })

    for (const path of ['/alice/lib?go-get=1', '/alice/lib/sub/pkg?go-get=1']) {
      const r = await get(path)
      assert.equal(r.status, 200, path)
      assert.match(String(r.headers['content-type']), /^text\/html/)
      assert.equal(meta(r.body.toString()), `${HOST}/alice/lib mod https://${HOST}/api/packages/alice/go`, path)
    }
    for (const path of ['/alice/other/x?go-get=1', '/alice?go-get=1']) {
      assert.equal(meta((await get(path)).body.toString()), `${HOST}/alice mod https://${HOST}/api/packages/alice/go`, path)
    }
    // Without go-get=1 the path is an ordinary (missing) web page; the owner page is unchanged.
    assert.equal((await get('/alice/lib')).status, 404)
    assert.equal(meta((await get('/alice')).body.toString()), undefined)

    // A private owner: 401 with the Basic challenge (the go command answers it from .netrc).
    const anon = await get('/priv/secret?go-get=1')
    assert.equal(anon.status, 401)
    assert.match(String(anon.headers['www-authenticate']), /^Basic /)
    assert.doesNotMatch(anon.body.toString(), /go-import/)
    const other = await get('/priv/secret?go-get=1', basic('alice', PASSWORD))
    assert.ok([403, 404].includes(other.status), `another user: ${other.status}`)
    const ok = await get('/priv/secret/sub?go-get=1', basic('priv', PASSWORD))
    assert.equal(ok.status, 200)
    assert.equal(meta(ok.body.toString()), `${HOST}/priv/secret mod https://${HOST}/api/packages/priv/go`)
    assert.equal((await get('/nobody/x?go-get=1')).status, 404)
  })
}

test('go-get=1: the version page of a module named after the server shows the zero-config way', async (t) => {
  const { url, services } = await startTestApp(t, { env: { WHARF_PUBLIC_URL: `https://${HOST}` } })
  await makeUser(services, 'alice')
  const r = await goClient(url, 'alice').upload(await moduleZip(`${HOST}/alice/lib`, 'v1.0.0'), basic('alice', PASSWORD))
  assert.equal(r.status, 201)
  const page = await request({ method: 'GET', url: `${url}/alice/-/packages/go/${encodeURIComponent(`${HOST}/alice/lib`)}/v1.0.0`, headers: {} })
  assert.equal(page.status, 200)
  assert.match(page.body.toString(), new RegExp(`GOPRIVATE=${HOST} go get ${HOST}/alice/lib@v1\\.0\\.0`))
})
