// Every credential form of docs/http.md, wrong and revoked credentials, scopes, 2FA and slow-down.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { startTestApp, testDatabases } from '../helpers/test-app.js'
import { basic, makeToken, makeUser, PASSWORD, tokenAuth } from '../helpers/auth.js'
import { call } from '../helpers/http.js'

const CHALLENGE = 'Basic realm="Wharf"'

for (const db of testDatabases()) {
  test(`[${db}] every credential form signs in as the right user`, async (t) => {
    const { url, services } = await startTestApp(t, { db })
    const alice = await makeUser(services, 'alice')
    const bob = await makeUser(services, 'bob')
    const tok = await makeToken(services, bob)
    const me = async (auth: string) => {
      const r = await call(`${url}/api/v1/user`, 'GET', auth)
      assert.equal(r.status, 200, `${auth}: ${r.text}`)
      return r.body.login as string
    }
    assert.equal(await me(basic('alice', PASSWORD)), 'alice')
    assert.equal(await me(basic('ALICE', PASSWORD)), 'alice', 'user names match case-insensitively')
    assert.equal(await me(basic('alice', tok)), 'bob', 'username:TOKEN — the token decides the user')
    assert.equal(await me(basic(tok, '')), 'bob')
    assert.equal(await me(basic(tok, 'x-oauth-basic')), 'bob')
    assert.equal(await me(tokenAuth(tok)), 'bob')
    assert.equal(await me(`Bearer ${tok}`), 'bob')
    assert.equal(await me(`bearer ${tok}`), 'bob')
    assert.ok(alice.id !== bob.id)
  })

  test(`[${db}] wrong or missing credentials: 401 with the challenge, never anonymous`, async (t) => {
    const { url, services } = await startTestApp(t, { db })
    await makeUser(services, 'alice')
    for (const auth of [basic('alice', 'wrong-password'), basic('nobody', PASSWORD), tokenAuth('0'.repeat(40)),
      `Bearer ${'f'.repeat(40)}`, basic('0'.repeat(40), ''), 'Digest abc', undefined]) {
      // /api/v1/version is public, but wrong credentials are refused everywhere
      const r = await call(`${url}/api/v1/${auth ? 'version' : 'user'}`, 'GET', auth)
      assert.equal(r.status, 401, String(auth))
      assert.equal(r.headers.get('www-authenticate'), CHALLENGE)
      assert.equal(typeof r.body.message, 'string')
    }
  })

  test(`[${db}] a deleted token stops working at once`, async (t) => {
    const { url, services } = await startTestApp(t, { db })
    const alice = await makeUser(services, 'alice')
    const tok = await makeToken(services, alice, ['all'], 'ci')
    assert.equal((await call(`${url}/api/v1/user`, 'GET', tokenAuth(tok))).status, 200)
    const del = await call(`${url}/api/v1/users/alice/tokens/ci`, 'DELETE', basic('alice', PASSWORD))
    assert.equal(del.status, 204)
    const r = await call(`${url}/api/v1/user`, 'GET', tokenAuth(tok))
    assert.equal(r.status, 401)
    assert.equal(r.headers.get('www-authenticate'), CHALLENGE)
  })

  test(`[${db}] a token without the needed scope gets 403`, async (t) => {
    const { url, services } = await startTestApp(t, { db })
    const alice = await makeUser(services, 'alice')
    const pkgOnly = await makeToken(services, alice, ['write:package'])
    const r = await call(`${url}/api/v1/user`, 'GET', tokenAuth(pkgOnly))
    assert.equal(r.status, 403)
    assert.match(r.body.message, /read:user/)
    const userRead = await makeToken(services, alice, ['read:user'])
    assert.equal((await call(`${url}/api/v1/user`, 'GET', tokenAuth(userRead))).status, 200)
    const writeUser = await makeToken(services, alice, ['write:user'])
    assert.equal((await call(`${url}/api/v1/user`, 'GET', tokenAuth(writeUser))).status, 200, 'write:user implies read:user')
  })

  test(`[${db}] with two-factor enabled the password is refused over Basic auth, tokens still work`, async (t) => {
    const { url, services } = await startTestApp(t, { db })
    const alice = await makeUser(services, 'alice')
    const tok = await makeToken(services, alice)
    await services.users.setTotp(alice.id, 'JBSWY3DPEHPK3PXP', [])
    const r = await call(`${url}/api/v1/user`, 'GET', basic('alice', PASSWORD))
    assert.equal(r.status, 401)
    assert.equal(r.headers.get('www-authenticate'), CHALLENGE)
    assert.match(r.body.message, /token/)
    assert.equal((await call(`${url}/api/v1/user`, 'GET', tokenAuth(tok))).status, 200)
    assert.equal((await call(`${url}/api/v1/user`, 'GET', basic('alice', tok))).status, 200)
  })

  test(`[${db}] a changed password takes effect at once despite the verification cache`, async (t) => {
    const { url, services } = await startTestApp(t, { db })
    await makeUser(services, 'alice')
    await makeUser(services, 'root', { admin: true })
    assert.equal((await call(`${url}/api/v1/user`, 'GET', basic('alice', PASSWORD))).status, 200)
    const p = await call(`${url}/api/v1/admin/users/alice`, 'PATCH', basic('root', PASSWORD), { password: 'a-new-password-1' })
    assert.equal(p.status, 200, p.text)
    assert.equal((await call(`${url}/api/v1/user`, 'GET', basic('alice', PASSWORD))).status, 401)
    assert.equal((await call(`${url}/api/v1/user`, 'GET', basic('alice', 'a-new-password-1'))).status, 200)
  })
}

test('repeated failed sign-ins are answered 429 quickly, not held open', async (t) => {
  const { url, services } = await startTestApp(t)
  await makeUser(services, 'alice')
  const statuses: number[] = []
  for (let i = 0; i < 12; i++) statuses.push((await call(`${url}/api/v1/user`, 'GET', basic('alice', `wrong-${i}`))).status)
  assert.deepEqual(statuses.slice(0, 10), Array(10).fill(401))
  assert.equal(statuses[11], 429)
  const r = await call(`${url}/api/v1/user`, 'GET', basic('alice', PASSWORD))
  assert.equal(r.status, 429, 'the account stays locked for a while even with the right password')
  assert.ok(r.headers.get('retry-after'))
})

test('the Authorization header never reaches the log, and each request line has a request id', async (t) => {
  const lines: string[] = []
  const { url, services } = await startTestApp(t, { env: { WHARF_LOG_LEVEL: 'trace' }, ext: { logStream: { write: (l: string) => lines.push(l) } } })
  await makeUser(services, 'alice')
  await call(`${url}/api/v1/user`, 'GET', basic('alice', PASSWORD))
  await call(`${url}/api/v1/user`, 'GET', basic('alice', 'not-the-password'))
  const all = lines.join('')
  assert.ok(all.includes('incoming request'), 'request logging is on')
  const requestLines = lines.filter((l) => l.includes('"req"') || l.includes('"res"'))
  assert.ok(requestLines.length >= 4)
  for (const l of requestLines) assert.match(l, /"reqId":"[0-9a-f-]{36}"/)
  assert.ok(!all.includes(Buffer.from(`alice:${PASSWORD}`).toString('base64')))
  assert.ok(!all.includes(PASSWORD) && !all.includes('not-the-password'))
})
