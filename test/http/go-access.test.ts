// Go registry access: private owners (401/404/403 as docs/http.md says), organizations and teams,
// token scopes, and refusals sent before the upload body.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { startTestApp, testDatabases } from '../helpers/test-app.js'
import { PASSWORD, basic, makeOrg, makeTeam, makeToken, makeUser, tokenAuth } from '../helpers/auth.js'
import { request } from './generic-helpers.js'
import { goClient, moduleZip } from './go-helpers.js'

const MOD = 'example.com/secret'

for (const db of testDatabases()) {
  test(`[${db}] go: a private user's modules: 401 anonymous, 404 to others (as for no owner), 200 to self and admins`, async (t) => {
    const { url, services } = await startTestApp(t, { db })
    await makeUser(services, 'priv', { visibility: 'private' })
    await makeUser(services, 'bob')
    await makeUser(services, 'root', { admin: true })
    const priv = goClient(url, 'priv')
    const zip = await moduleZip(MOD, 'v1.0.0')
    assert.equal((await priv.upload(zip, basic('priv', PASSWORD))).status, 201)

    const paths = [`${MOD}/@v/list`, `${MOD}/@latest`, `${MOD}/@v/v1.0.0.info`, `${MOD}/@v/v1.0.0.mod`, `${MOD}/@v/v1.0.0.zip`,
      'example.com/unknown/@v/list', 'sumdb/sum.golang.org/supported']
    for (const p of paths) {
      const anon = await priv.get(p)
      assert.equal(anon.status, 401, p)
      assert.match(String(anon.headers['www-authenticate']), /^Basic realm="Wharf"/)
      const bob = await priv.get(p, basic('bob', PASSWORD))
      const nobody = await goClient(url, 'nobody').get(p, basic('bob', PASSWORD))
      assert.equal(bob.status, 404, p)
      assert.equal(nobody.status, 404, p)
      assert.equal(bob.body.toString(), nobody.body.toString().replace("'nobody'", "'priv'"), 'the same message shape')
    }
    for (const who of ['priv', 'root']) {
      assert.equal((await priv.get(`${MOD}/@v/list`, basic(who, PASSWORD))).body.toString(), 'v1.0.0\n', who)
      assert.equal((await priv.get('example.com/unknown/@v/list', basic(who, PASSWORD))).status, 404)
    }
    const token = await makeToken(services, (await services.users.findOwner('priv'))!, ['read:package'])
    // The forms the go command sends for GOPROXY=https://user:TOKEN@host/… and for .netrc.
    for (const auth of [basic('priv', token), basic(token, ''), tokenAuth(token), `Bearer ${token}`]) {
      assert.equal((await priv.get(`${MOD}/@v/list`, auth)).status, 200, auth)
    }
    assert.equal((await priv.get(`${MOD}/@v/list`, basic('priv', 'wrong-password'))).status, 401)
    assert.equal((await priv.get(`${MOD}/@v/list`, tokenAuth('0'.repeat(40)))).status, 401)

    // Uploads: anonymous 401, another user 404 (cannot even read), admin 201.
    const v2 = await moduleZip(MOD, 'v1.1.0')
    assert.equal((await priv.upload(v2)).status, 401)
    assert.equal((await priv.upload(v2, basic('bob', PASSWORD))).status, 404)
    assert.equal((await priv.upload(v2, basic('root', PASSWORD))).status, 201)
  })

  test(`[${db}] go: organization teams, public owners and token scopes`, async (t) => {
    const { url, services } = await startTestApp(t, { db })
    const alice = await makeUser(services, 'alice')
    const carol = await makeUser(services, 'carol')
    const dave = await makeUser(services, 'dave')
    await makeUser(services, 'eve')
    const acme = await makeOrg(services, 'acme', alice, 'private')
    await makeTeam(services, acme, 'readers', 'read', [carol])
    await makeTeam(services, acme, 'writers', 'write', [dave])
    const org = goClient(url, 'acme')

    assert.equal((await org.upload(await moduleZip(MOD, 'v1.0.0'), basic('alice', PASSWORD))).status, 201, 'org owner')
    assert.equal((await org.upload(await moduleZip(MOD, 'v1.1.0'), basic('dave', PASSWORD))).status, 201, 'write team')
    const readOnly = await org.upload(await moduleZip(MOD, 'v1.2.0'), basic('carol', PASSWORD))
    assert.equal(readOnly.status, 403, 'read team')
    assert.equal((await org.upload(await moduleZip(MOD, 'v1.2.0'), basic('eve', PASSWORD))).status, 404, 'outsider')
    for (const who of ['alice', 'carol', 'dave']) {
      assert.equal((await org.get(`${MOD}/@v/list`, basic(who, PASSWORD))).body.toString(), 'v1.0.0\nv1.1.0\n', who)
    }
    assert.equal((await org.get(`${MOD}/@v/list`, basic('eve', PASSWORD))).status, 404)

    // A public owner: anyone reads, only the owner writes.
    const pub = goClient(url, 'alice')
    assert.equal((await pub.upload(await moduleZip(MOD, 'v1.0.0'), basic('alice', PASSWORD))).status, 201)
    assert.equal((await pub.get(`${MOD}/@v/list`)).body.toString(), 'v1.0.0\n')
    assert.equal((await pub.upload(await moduleZip(MOD, 'v2.0.0+incompatible'))).status, 401)
    assert.equal((await pub.upload(await moduleZip(MOD, 'v2.0.0+incompatible'), basic('eve', PASSWORD))).status, 403)

    // Scopes come first: a token without the package scope it needs is 403, even where anonymous may read.
    const read = await makeToken(services, alice, ['read:package'])
    const write = await makeToken(services, alice, ['write:package'])
    const user = await makeToken(services, alice, ['read:user'])
    assert.equal((await pub.get(`${MOD}/@v/list`, tokenAuth(read))).status, 200)
    assert.equal((await pub.get(`${MOD}/@v/list`, tokenAuth(write))).status, 200, 'write implies read')
    assert.equal((await pub.get(`${MOD}/@v/list`, tokenAuth(user))).status, 403)
    const byRead = await pub.upload(await moduleZip(MOD, 'v1.1.0'), tokenAuth(read))
    assert.equal(byRead.status, 403)
    assert.match(byRead.body.toString(), /write:package/)
    assert.equal((await pub.upload(await moduleZip(MOD, 'v1.1.0'), tokenAuth(write))).status, 201)
    assert.equal((await pub.get(`${MOD}/@v/list`)).body.toString(), 'v1.0.0\nv1.1.0\n')
  })

  test(`[${db}] go: access refusals come before the body (Expect: 100-continue)`, async (t) => {
    const { url, services } = await startTestApp(t, { db })
    await makeUser(services, 'alice')
    await makeUser(services, 'bob')
    const zip = await moduleZip(MOD, 'v1.0.0')
    const put = (owner: string, auth?: string) => request({
      method: 'PUT', url: `${url}/api/packages/${owner}/go/upload`, expectContinue: true, body: zip,
      headers: { 'content-length': String(zip.length), ...(auth ? { authorization: auth } : {}) },
    })
    for (const [owner, auth, status] of [['alice', undefined, 401], ['alice', basic('bob', PASSWORD), 403], ['nobody', basic('bob', PASSWORD), 404]] as const) {
      const r = await put(owner, auth)
      assert.equal(r.status, status, `${owner} ${auth ?? 'anonymous'}`)
      assert.equal(r.bodySent, false, 'refused before the body was sent')
    }
    const ok = await put('alice', basic('alice', PASSWORD))
    assert.equal(ok.status, 201)
    assert.equal(ok.continued, true)
  })
}
