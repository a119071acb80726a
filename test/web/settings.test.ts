// Settings over plain HTTP: tokens, password, two-factor enrolment, recovery codes, turning 2FA off.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { startTestApp } from '../helpers/test-app.js'
import { PASSWORD, basic, makeUser } from '../helpers/auth.js'
import { WebClient } from './web-client.js'
import { totp } from '../../src/auth/totp.js'

test('tokens: create with chosen scopes, shown once, delete; form errors are clear', async (t) => {
  const app = await startTestApp(t)
  await makeUser(app.services, 'alice')
  const web = new WebClient(app.url)
  await web.signIn('alice', PASSWORD)
  const _csrf = await web.csrf('/-/settings/tokens')
  const made = await web.post('/-/settings/tokens', { _csrf, name: 'reader', scopes: ['read:package', 'read:user'] })
  const token = /id="new-token">([0-9a-f]{40})</.exec(made.body)?.[1]
  assert.ok(token)
  assert.equal((await fetch(`${app.url}/api/v1/user`, { headers: { authorization: `token ${token}` } })).status, 200)
  const listed = await web.get('/-/settings/tokens')
  assert.ok(!listed.body.includes(token), 'never shown again')
  assert.ok(listed.body.includes(`…${token.slice(-8)}`))
  for (const [form, msg] of [
    [{ name: '', scopes: 'all' }, /Give the token a name/],
    [{ name: 'x' }, /Choose at least one scope/],
    [{ name: 'x', scopes: 'root:everything' }, /unknown token scope/],
    [{ name: 'reader', scopes: 'all' }, /already used/],
  ] as const) {
    const r = await web.post('/-/settings/tokens', { _csrf, ...form })
    assert.equal(r.res.status, 400)
    assert.match(r.body, msg)
  }
  const id = /action="\/-\/settings\/tokens\/(\d+)\/delete"/.exec(listed.body)![1]
  assert.equal((await web.post(`/-/settings/tokens/${id}/delete`, { _csrf })).res.status, 303)
  assert.equal((await fetch(`${app.url}/api/v1/user`, { headers: { authorization: `token ${token}` } })).status, 401)
  assert.equal((await web.post('/-/settings/tokens/999/delete', { _csrf })).res.status, 404)
  assert.equal((await web.post('/-/settings/tokens/abc/delete', { _csrf })).res.status, 404)
})

test('password change: checks the current one, signs out other sessions', async (t) => {
  const app = await startTestApp(t)
  await makeUser(app.services, 'alice')
  const web = new WebClient(app.url)
  const other = new WebClient(app.url)
  await web.signIn('alice', PASSWORD)
  await other.signIn('alice', PASSWORD)
  const _csrf = await web.csrf('/-/settings')
  assert.match((await web.post('/-/settings/password', { _csrf, current: 'wrong-one!', new: 'new-password-1', confirm: 'new-password-1' })).body, /current password is wrong/)
  assert.match((await web.post('/-/settings/password', { _csrf, current: PASSWORD, new: 'new-password-1', confirm: 'other' })).body, /differ/)
  assert.match((await web.post('/-/settings/password', { _csrf, current: PASSWORD, new: 'short', confirm: 'short' })).body, /at least 8/)
  await app.services.users.update('alice', { mustChangePassword: true })
  assert.match((await web.get('/')).body, /asked you to choose a new password/)
  const ok = await web.post('/-/settings/password', { _csrf, current: PASSWORD, new: 'new-password-1', confirm: 'new-password-1' })
  assert.doesNotMatch((await web.get('/')).body, /asked you to choose a new password/)
  assert.equal(ok.res.status, 200)
  assert.match(ok.body, /Password changed/)
  assert.equal((await web.get('/-/settings')).res.status, 200)
  assert.equal((await other.get('/-/settings')).res.status, 303, 'the other session is gone')
  assert.equal((await fetch(`${app.url}/api/v1/user`, { headers: { authorization: basic('alice', 'new-password-1') } })).status, 200)
})

test('two-factor: enrol, sign in with a recovery code once, regenerate, turn off', async (t) => {
  const app = await startTestApp(t)
  await makeUser(app.services, 'alice')
  const web = new WebClient(app.url)
  await web.signIn('alice', PASSWORD)
  const enrol = await web.get('/-/settings/security/enroll')
  const secret = /data-secret="([A-Z2-7]{32})"/.exec(enrol.body)![1]!
  assert.match(enrol.body, /<img class="qr" src="data:image\/svg\+xml;base64,/)
  const _csrf = /name="_csrf" value="([^"]+)"/.exec(enrol.body)![1]!
  const wrong = await web.post('/-/settings/security/confirm', { _csrf, secret, code: totp(secret, Date.now() - 300_000) })
  assert.equal(wrong.res.status, 400)
  assert.match(wrong.body, /not valid/)
  assert.equal((await web.post('/-/settings/security/confirm', { _csrf, secret: 'short', code: '123456' })).res.status, 400)
  const on = await web.post('/-/settings/security/confirm', { _csrf, secret, code: totp(secret) })
  const codes = [...on.body.matchAll(/<li>([0-9a-f]{5}-[0-9a-f]{5})<\/li>/g)].map((m) => m[1]!)
  assert.equal(codes.length, 10)
  const user = await app.services.users.findOwner('alice')
  assert.equal(user?.totp_secret, secret)
  assert.ok(!user.recovery_codes!.includes(codes[0]!), 'recovery codes are stored hashed')

  // A recovery code signs in once.
  const b = new WebClient(app.url)
  await b.signIn('alice', PASSWORD)
  const c = await b.csrf('/-/login/2fa')
  assert.equal((await b.post('/-/login/2fa', { _csrf: c, code: codes[3]!.toUpperCase() })).res.status, 303)
  assert.equal((await b.get('/-/settings')).res.status, 200)
  const again = new WebClient(app.url)
  await again.signIn('alice', PASSWORD)
  const c2 = await again.csrf('/-/login/2fa')
  assert.equal((await again.post('/-/login/2fa', { _csrf: c2, code: codes[3]! })).res.status, 401)
  // Five wrong codes end the pending sign-in.
  let last = 0
  for (let i = 0; i < 6 && last !== 429; i++) last = (await again.post('/-/login/2fa', { _csrf: c2, code: `00000${i}` })).res.status
  assert.equal(last, 429)
  assert.equal((await again.get('/-/login/2fa')).res.status, 303)

  // New recovery codes replace the old ones; then 2FA goes off with the password.
  const s = await web.csrf('/-/settings/security')
  assert.equal((await web.post('/-/settings/security/recovery', { _csrf: s, code: '000000' === totp(secret) ? '111111' : '000000' })).res.status, 400)
  const regen = await web.post('/-/settings/security/recovery', { _csrf: s, code: totp(secret) })
  assert.equal([...regen.body.matchAll(/<li>([0-9a-f]{5}-[0-9a-f]{5})<\/li>/g)].length, 10)
  assert.equal((await web.post('/-/settings/security/disable', { _csrf: s, password: 'wrong-password' })).res.status, 400)
  const off = await web.post('/-/settings/security/disable', { _csrf: s, password: PASSWORD })
  assert.match(off.body, /is off/)
  assert.equal((await app.services.users.findOwner('alice'))?.totp_secret, null)
  assert.equal((await fetch(`${app.url}/api/v1/user`, { headers: { authorization: basic('alice', PASSWORD) } })).status, 200)
})
