// Issue 8, defect 7: scrypt at OWASP's cost (N=2^17, r=8, p=1), old hashes re-made at the next
// successful sign-in, the verification cache kept; Strict-Transport-Security under TLS.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { request as httpsRequest } from 'node:https'
import { startTestApp, testDatabases } from '../helpers/test-app.js'
import { PASSWORD, basic, makeUser } from '../helpers/auth.js'
import { DEFAULT_PASSWORD_COST, hashPassword, needsRehash, verifyPassword } from '../../src/auth/passwords.js'
import { loadConfig } from '../../src/config/config.js'
import { selfSignedCert } from '../helpers/go-command.js'

test("new hashes use OWASP's scrypt parameters by default, within Node's maxmem", async () => {
  assert.equal(DEFAULT_PASSWORD_COST, 17)
  assert.equal(loadConfig({}).passwordHashCost, 17)
  const hash = await hashPassword('a long enough password')
  assert.match(hash, /^scrypt\$131072\$8\$1\$/)
  assert.equal(await verifyPassword('a long enough password', hash), true)
  assert.equal(await verifyPassword('another password', hash), false)
  assert.equal(needsRehash(hash), false)
  assert.equal(needsRehash(await hashPassword('x', 14)), true, 'the old N=16384 hashes are re-made')
  assert.throws(() => loadConfig({ WHARF_PASSWORD_HASH_COST: '40' }), /WHARF_PASSWORD_HASH_COST/)
  assert.throws(() => loadConfig({ WHARF_PASSWORD_HASH_COST: 'x' }), /WHARF_PASSWORD_HASH_COST/)
})

for (const db of testDatabases()) {
  test(`[${db}] an old hash still signs in and is re-made at the current cost; the cache spares repeats`, async (t) => {
    const { url, services } = await startTestApp(t, { db, env: { WHARF_PASSWORD_HASH_COST: '11' } })
    const alice = await makeUser(services, 'alice')
    assert.match(alice.password_hash ?? '', /^scrypt\$2048\$/)
    // A hash from before the cost rose (Wharf 0.1 used N=16384), as a database upgraded in place holds it.
    const legacy = await hashPassword(PASSWORD, 14)
    await services.db.updateTable('user').set({ password_hash: legacy }).where('id', '=', alice.id).execute()

    const me = () => fetch(`${url}/api/v1/user`, { headers: { authorization: basic('alice', PASSWORD) } })
    assert.equal((await me()).status, 200, 'the old hash verifies')
    const after = (await services.users.findById(alice.id))!.password_hash!
    assert.match(after, /^scrypt\$2048\$8\$1\$/, 're-hashed at the configured cost')
    assert.notEqual(after, legacy)
    assert.equal(await verifyPassword(PASSWORD, after), true)
    for (let i = 0; i < 5; i++) assert.equal((await me()).status, 200)
    assert.equal((await services.users.findById(alice.id))!.password_hash, after, 'no re-hash once current')
    const wrong = await fetch(`${url}/api/v1/user`, { headers: { authorization: basic('alice', 'not the password') } })
    assert.equal(wrong.status, 401)
  })
}

test('Strict-Transport-Security: sent under TLS and for an https public URL, not over plain http', async (t) => {
  const plain = await startTestApp(t)
  assert.equal((await fetch(`${plain.url}/api/v1/version`)).headers.get('strict-transport-security'), null)
  const proxied = await startTestApp(t, { env: { WHARF_PUBLIC_URL: 'https://wharf.example/' } })
  assert.equal((await fetch(`${proxied.url}/`)).headers.get('strict-transport-security'), 'max-age=31536000')

  const pem = await selfSignedCert(t)
  if (!pem) return
  const { cert, key } = pem
  const tls = await startTestApp(t, { env: { WHARF_TLS_CERT: cert, WHARF_TLS_KEY: key } })
  assert.match(tls.url, /^https:/)
  const ca = await readFile(cert)
  for (const p of ['/api/v1/version', '/api/packages/nobody/generic/a/1/b', '/']) {
    const header = await new Promise<string | string[] | undefined>((resolve, reject) => {
      httpsRequest(`${tls.url}${p}`, { ca: [ca] }, (res) => { res.resume(); resolve(res.headers['strict-transport-security']) })
        .on('error', reject).end()
    })
    assert.equal(header, 'max-age=31536000', p)
  }
})
