// Generic registry: who may do what, and every refusal before the upload body is sent.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { startTestApp, testDatabases } from '../helpers/test-app.js'
import { PASSWORD, basic, makeOrg, makeTeam, makeToken, makeUser, tokenAuth } from '../helpers/auth.js'
import { listFiles, request } from './generic-helpers.js'

for (const db of testDatabases()) {
  test(`[${db}] generic: private owners answer 401 anonymous, 404 other users, 403 readers`, async (t) => {
    const { url, services } = await startTestApp(t, { db })
    const alice = await makeUser(services, 'alice', { visibility: 'private' })
    const bob = await makeUser(services, 'bob')
    const carol = await makeUser(services, 'carol')
    const acme = await makeOrg(services, 'acme', alice, 'private')
    await makeTeam(services, acme, 'readers', 'read', [bob])
    const asAlice = { authorization: basic('alice', PASSWORD) }
    const asBob = { authorization: basic('bob', PASSWORD) }
    const asCarol = { authorization: basic('carol', PASSWORD) }
    const body = Buffer.from('secret')
    for (const owner of ['alice', 'acme']) {
      const file = `${url}/api/packages/${owner}/generic/tool/1.0/a.bin`
      assert.equal((await request({ method: 'PUT', url: file, headers: asAlice, body })).status, 201, owner)

      const anon = await request({ method: 'GET', url: file })
      assert.equal(anon.status, 401)
      assert.equal(anon.headers['www-authenticate'], 'Basic realm="Wharf"')
      const missing = await request({ method: 'GET', url: `${url}/api/packages/nobody/generic/tool/1.0/a.bin`, headers: asCarol })
      const hidden = await request({ method: 'GET', url: file, headers: asCarol })
      assert.equal(hidden.status, 404, 'another user cannot tell a private owner exists')
      assert.equal(hidden.headers['content-type'], missing.headers['content-type'])
      assert.equal((await request({ method: 'PUT', url: file.replace('a.bin', 'c.bin'), headers: asCarol, body })).status, 404)
      assert.equal((await request({ method: 'DELETE', url: file, headers: asCarol })).status, 404)
    }
    void carol
    void bob

    const orgFile = `${url}/api/packages/acme/generic/tool/1.0/a.bin`
    assert.equal((await request({ method: 'GET', url: orgFile, headers: asBob })).status, 200, 'a team reader may read')
    assert.equal((await request({ method: 'PUT', url: orgFile.replace('a.bin', 'b.bin'), headers: asBob, body })).status, 403)
    assert.equal((await request({ method: 'DELETE', url: orgFile, headers: asBob })).status, 403)

    const readToken = await makeToken(services, alice, ['read:package'])
    const userToken = await makeToken(services, alice, ['read:user'])
    const aliceFile = `${url}/api/packages/alice/generic/tool/1.0/a.bin`
    assert.equal((await request({ method: 'GET', url: aliceFile, headers: { authorization: tokenAuth(readToken) } })).status, 200)
    assert.equal((await request({ method: 'PUT', url: aliceFile.replace('a.bin', 'd.bin'), headers: { authorization: tokenAuth(readToken) }, body })).status, 403)
    assert.equal((await request({ method: 'GET', url: aliceFile, headers: { authorization: tokenAuth(userToken) } })).status, 403)
    assert.equal((await request({ method: 'GET', url: aliceFile, headers: { authorization: basic('alice', 'wrong') } })).status, 401)
  })

  test(`[${db}] generic: Expect: 100-continue gets every refusal without sending the body`, async (t) => {
    const { url, services, dataDir } = await startTestApp(t, { db, env: { WHARF_LIMIT_SIZE_GENERIC: '1MiB' } })
    const alice = await makeUser(services, 'alice')
    await makeUser(services, 'bob')
    await makeUser(services, 'carol', { visibility: 'private' })
    const readToken = await makeToken(services, alice, ['read:package'])
    const api = `${url}/api/packages/alice/generic/tool/1.0`
    const data = Buffer.alloc(4096, 7)
    const send = (path: string, headers: Record<string, string>, body: Buffer = data) =>
      request({ method: 'PUT', url: path, headers, body, expectContinue: true })

    const created = await send(`${api}/a.bin`, { authorization: basic('alice', PASSWORD) })
    assert.equal(created.status, 201)
    assert.ok(created.continued && created.bodySent, 'an allowed upload gets 100 Continue, then 201')

    const refusals: Array<[string, string, Record<string, string>, number, Buffer?]> = [
      ['anonymous', `${api}/b.bin`, {}, 401],
      ['wrong password', `${api}/b.bin`, { authorization: basic('alice', 'nope') }, 401],
      ['token without write:package', `${api}/b.bin`, { authorization: tokenAuth(readToken) }, 403],
      ['unknown owner', `${url}/api/packages/nobody/generic/tool/1.0/b.bin`, { authorization: basic('alice', PASSWORD) }, 404],
      ['private owner', `${url}/api/packages/carol/generic/tool/1.0/b.bin`, { authorization: basic('bob', PASSWORD) }, 404],
      ['other user', `${api}/b.bin`, { authorization: basic('bob', PASSWORD) }, 403],
      ['invalid file name', `${api}/%20b.bin`, { authorization: basic('alice', PASSWORD) }, 400],
      ['malformed X-Checksum-Sha256', `${api}/b.bin`, { authorization: basic('alice', PASSWORD), 'x-checksum-sha256': 'xyz' }, 400],
      ['duplicate', `${api}/A.BIN`, { authorization: basic('alice', PASSWORD) }, 409],
      ['declared too large', `${api}/big.bin`, { authorization: basic('alice', PASSWORD) }, 413, Buffer.alloc(2 * 1024 * 1024)],
    ]
    for (const [what, target, headers, status, body] of refusals) {
      const r = await send(target, headers, body)
      assert.equal(r.status, status, what)
      assert.equal(r.continued, false, `${what}: no 100 Continue`)
      assert.equal(r.bodySent, false, `${what}: the body was never sent`)
    }
    assert.deepEqual(await listFiles(`${dataDir}/tmp`), [])
  })

  test(`[${db}] generic: a client that disconnects mid-upload leaves nothing behind`, async (t) => {
    const { url, services, dataDir } = await startTestApp(t, { db })
    await makeUser(services, 'alice')
    const http = await import('node:http')
    const port = Number(new URL(url).port)
    await new Promise<void>((resolve) => {
      const req = http.request({
        host: '127.0.0.1', port, method: 'PUT', path: '/api/packages/alice/generic/tool/1.0/cut.bin',
        headers: { authorization: basic('alice', PASSWORD), 'content-length': String(8 * 1024 * 1024) },
      })
      req.on('error', () => resolve())
      req.write(Buffer.alloc(1024 * 1024, 1), () => {
        setTimeout(() => {
          req.destroy()
          resolve()
        }, 200)
      })
    })
    // the server notices the disconnect asynchronously: poll, bounded
    let spool: string[] = ['?']
    for (let i = 0; i < 100 && spool.length > 0; i++) {
      await new Promise((r) => setTimeout(r, 50))
      spool = await listFiles(`${dataDir}/tmp`)
    }
    assert.deepEqual(spool, [])
    assert.deepEqual((await listFiles(`${dataDir}/blobs`)).filter((f) => !f.startsWith('tmp/')), [])
    const files = await services.db.selectFrom('package_file').selectAll().execute()
    assert.equal(files.length, 0)
    const get = await request({ method: 'GET', url: `${url}/api/packages/alice/generic/tool/1.0/cut.bin` })
    assert.equal(get.status, 404)
    // and the server still serves
    const put = await request({ method: 'PUT', url: `${url}/api/packages/alice/generic/tool/1.0/cut.bin`, headers: { authorization: basic('alice', PASSWORD) }, body: Buffer.from('ok') })
    assert.equal(put.status, 201)
  })
}
