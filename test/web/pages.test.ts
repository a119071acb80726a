// Page behaviour over plain HTTP (no browser): security headers, odd input, CSRF, cookies, sessions.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import CsrfTokens from '@fastify/csrf'
import { startTestApp, testDatabases } from '../helpers/test-app.js'
import { PASSWORD, basic, makeToken, makeUser } from '../helpers/auth.js'
import { WebClient } from './web-client.js'
import { totp } from '../../src/auth/totp.js'
import { CSP } from '../../src/web/layout.js'

function assertSecurityHeaders(res: Response, where: string) {
  assert.equal(res.headers.get('content-security-policy'), CSP, where)
  assert.match(CSP, /script-src 'self';/)
  assert.match(CSP, /frame-ancestors 'none'/)
  assert.equal(res.headers.get('x-frame-options'), 'DENY', where)
  assert.equal(res.headers.get('referrer-policy'), 'same-origin', where)
  assert.equal(res.headers.get('x-content-type-options'), 'nosniff', where)
}

test('pages carry security headers and answer odd input with 4xx pages, never 500', async (t) => {
  const app = await startTestApp(t)
  await makeUser(app.services, 'alice')
  const web = new WebClient(app.url)
  const cases: Array<[string, number]> = [
    ['/', 200], ['/-/login', 200], ['/alice', 200], ['/alice/-/packages', 200],
    ['/nobody', 404], ['/nobody/-/packages', 404], ['/-/nothing', 404], ['/alice/-/teams', 404],
    ['/alice/-/packages?page=abc', 400], ['/alice/-/packages?page=0', 400], ['/?page=99999999999999999999', 400],
    ['/?page=-1', 400], ['/?type=%3Cx%3E', 400], ['/?page=7', 200],
    [`/?q=${'x'.repeat(8000)}`, 200], ['/?q=%00%01', 200], ['/?q[a]=1&page[]=2', 200], ['/?page=1&page=2&q=a&q=b', 400], ['/?q=&type=&page=', 200],
    ['/alice/-/packages/generic/nothing', 404], ['/alice/-/packages/generic/nothing/1.0', 404],
    ['/alice/-/packages/NOT_A_TYPE/x', 404], [`/alice/-/packages/generic/${'n'.repeat(3000)}`, 404],
    ['/%E0%A4%A', 400], ['/-/assets/nothing.css', 404], ['/-/assets/..%2Fhtml.ts', 404],
  ]
  for (const [path, status] of cases) {
    const { res, body } = await web.get(path)
    assert.equal(res.status, status, `${path.slice(0, 60)} → ${res.status}`)
    if (res.headers.get('content-type')?.startsWith('text/html')) {
      assertSecurityHeaders(res, path.slice(0, 60))
      assert.match(body, /^<!doctype html>/)
      assert.ok(body.length < 20_000, 'long input is not echoed in full')
    }
  }
  const css = await web.get('/-/assets/style.css')
  assert.equal(css.res.status, 200)
  assert.match(css.res.headers.get('content-type')!, /^text\/css/)
  const again = await web.get('/-/assets/style.css', { 'if-none-match': css.res.headers.get('etag')! })
  assert.equal(again.res.status, 304)
  // The API keeps its own error format.
  const api = await web.get('/api/packages/nobody/generic/a/1/a.bin')
  assert.match(api.res.headers.get('content-type')!, /^text\/plain/)
})

test('user input is escaped in pages', async (t) => {
  const app = await startTestApp(t)
  await makeUser(app.services, 'alice')
  const web = new WebClient(app.url)
  const { body } = await web.get('/?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E%22')
  assert.ok(!body.includes('<script>alert'))
  assert.match(body, /&lt;script&gt;alert\(1\)&lt;\/script&gt;&quot;/)
  assert.equal((await web.signIn('alice', PASSWORD)).status, 303)
  const _csrf = await web.csrf('/-/settings/tokens')
  const made = await web.post('/-/settings/tokens', { _csrf, name: '<img src=x onerror=alert(1)>', scopes: 'read:package' })
  assert.equal(made.res.status, 200)
  assert.ok(!made.body.includes('<img src=x'))
  assert.match(made.body, /&lt;img src=x onerror=alert\(1\)&gt;/)
})

test('forms refuse a missing or wrong CSRF token', async (t) => {
  const app = await startTestApp(t)
  await makeUser(app.services, 'alice')
  const web = new WebClient(app.url)
  // Anonymous: double-submit cookie.
  assert.equal((await web.post('/-/login', { username: 'alice', password: PASSWORD })).res.status, 403)
  const token = await web.csrf('/-/login')
  assert.equal((await web.post('/-/login', { _csrf: 'x' + token, username: 'alice', password: PASSWORD })).res.status, 403)
  const stranger = new WebClient(app.url)
  assert.equal((await stranger.post('/-/login', { _csrf: token, username: 'alice', password: PASSWORD })).res.status, 403, 'a token without its cookie')
  // Signed in: the session's token; the anonymous one no longer counts.
  assert.equal((await web.signIn('alice', PASSWORD)).status, 303)
  const noToken = await web.post('/-/settings/tokens', { name: 'x', scopes: 'all' })
  assert.equal(noToken.res.status, 403)
  assertSecurityHeaders(noToken.res, 'csrf refusal')
  assert.equal((await web.post('/-/settings/tokens', { _csrf: token, name: 'x', scopes: 'all' })).res.status, 403)
  const logout = await web.post('/-/logout', {})
  assert.equal(logout.res.status, 403)
  const _csrf = await web.csrf('/-/settings/tokens')
  assert.equal((await web.post('/-/settings/tokens', { _csrf, name: 'x', scopes: 'all' })).res.status, 200)
})

test('CSRF (@fastify/csrf-protection): forged, missing and cross-session tokens are refused; the API needs none', async (t) => {
  const app = await startTestApp(t)
  const alice = await makeUser(app.services, 'alice')
  const refused = async (c: WebClient, form: Record<string, string>, why: string) => {
    const r = await c.post('/-/settings/tokens', { name: 'x', scopes: 'all', ...form })
    assert.equal(r.res.status, 403, why)
    assert.match(r.body, /did not come from this site/, why)
  }
  const a = new WebClient(app.url)
  assert.equal((await a.signIn('alice', PASSWORD)).status, 303)
  const secret = a.cookies.get('wharf_csrf')
  assert.ok(secret, 'the secret cookie')
  const tokenA = await a.csrf('/-/settings/tokens')
  await refused(a, {}, 'missing')
  await refused(a, { _csrf: '' }, 'empty')
  await refused(a, { _csrf: `${tokenA.slice(0, -2)}${tokenA.endsWith('AA') ? 'BB' : 'AA'}` }, 'tampered')
  await refused(a, { _csrf: 'made-up-token' }, 'made up')
  // Forged with the library itself and the (public) hmac key: right secret, but bound to "anonymous"
  // or to a session id the forger guessed, not to this session.
  const tokens = CsrfTokens({ userInfo: true, hmacKey: 'wharf-web-csrf-v1' }) as unknown as { create(secret: string, userInfo: string): string }
  await refused(a, { _csrf: tokens.create(secret, 'anonymous') }, 'an anonymous token while signed in')
  await refused(a, { _csrf: tokens.create(secret, 'session:guess') }, 'a guessed session')
  await refused(a, { _csrf: tokens.create('some-other-secret', 'anonymous') }, 'another secret')
  // Another session of the same user, even with the same secret cookie, does not take A's token.
  const b = new WebClient(app.url)
  b.cookies.set('wharf_csrf', secret)
  assert.equal((await b.signIn('alice', PASSWORD)).status, 303)
  assert.equal(b.cookies.get('wharf_csrf'), secret)
  await refused(b, { _csrf: tokenA }, 'a token of another session')
  assert.equal((await b.post('/-/settings/tokens', { _csrf: await b.csrf('/-/settings/tokens'), name: 'b', scopes: 'all' })).res.status, 200)
  assert.equal((await a.post('/-/settings/tokens', { _csrf: tokenA, name: 'a', scopes: 'all' })).res.status, 200, 'its own session takes it')
  // After signing out and in again (a new session) the old token is dead.
  assert.equal((await a.post('/-/logout', { _csrf: await a.csrf('/-/settings/tokens') })).res.status, 303)
  await refused(a, { _csrf: tokenA }, 'a token of the signed-out session')
  assert.equal((await a.signIn('alice', PASSWORD)).status, 303)
  await refused(a, { _csrf: tokenA }, 'a token of an earlier session')
  // No secret cookie at all.
  const bare = new WebClient(app.url)
  const r = await bare.post('/-/login', { _csrf: tokenA, username: 'alice', password: PASSWORD })
  assert.equal(r.res.status, 403)
  assert.match(r.body, /did not come from this site/)
  // The token-authenticated API takes neither token nor cookie.
  const token = await makeToken(app.services, alice)
  const up = await fetch(`${app.url}/api/packages/alice/generic/lib/1.0/a.txt`, { method: 'PUT', headers: { authorization: `token ${token}` }, body: 'hi' })
  assert.equal(up.status, 201)
  const del = await fetch(`${app.url}/api/packages/alice/generic/lib/1.0`, { method: 'DELETE', headers: { authorization: basic('alice', PASSWORD) } })
  assert.equal(del.status, 204)
})

test('sign-in: cookie flags, a new session id, generic errors, slow-down', async (t) => {
  const app = await startTestApp(t)
  await makeUser(app.services, 'alice')
  const web = new WebClient(app.url)
  web.cookies.set('wharf_session', 'planted-by-an-attacker')
  const _csrf = await web.csrf('/-/login')
  const wrong = await web.post('/-/login', { _csrf, username: 'alice', password: 'nope-nope-nope' })
  const unknown = await web.post('/-/login', { _csrf, username: 'nobody', password: 'nope-nope-nope' })
  assert.equal(wrong.res.status, 401)
  assert.equal(unknown.res.status, 401)
  assert.equal(wrong.res.headers.get('www-authenticate'), null, 'no browser Basic dialog')
  const msg = (b: string) => /class="flash error"[^>]*>([^<]*)</.exec(b)?.[1]
  assert.equal(msg(wrong.body), 'Wrong username or password.')
  assert.equal(msg(unknown.body), msg(wrong.body))
  const ok = await web.post('/-/login', { _csrf, username: 'alice', password: PASSWORD, next: '/-/settings' })
  assert.equal(ok.res.status, 303)
  assert.equal(ok.res.headers.get('location'), '/-/settings')
  const cookie = ok.res.headers.getSetCookie().find((c) => c.startsWith('wharf_session='))!
  assert.match(cookie, /; HttpOnly/)
  assert.match(cookie, /; SameSite=Lax/)
  assert.match(cookie, /; Path=\//)
  assert.doesNotMatch(cookie, /; Secure/)
  assert.notEqual(web.cookies.get('wharf_session'), 'planted-by-an-attacker')
  assert.equal((await web.get('/-/settings')).res.status, 200)
  // An open redirect through next= is not possible.
  const evil = new WebClient(app.url)
  const c2 = await evil.csrf('/-/login')
  const r = await evil.post('/-/login', { _csrf: c2, username: 'alice', password: PASSWORD, next: '//evil.example/' })
  assert.equal(r.res.headers.get('location'), '/')

  const bad = new WebClient(app.url)
  const c3 = await bad.csrf('/-/login')
  let last = 0
  for (let i = 0; i < 25 && last !== 429; i++) last = (await bad.post('/-/login', { _csrf: c3, username: 'alice', password: `wrong-${i}-password` })).res.status
  assert.equal(last, 429)
})

test('cookies are Secure when the public URL is https', async (t) => {
  const app = await startTestApp(t, { env: { WHARF_PUBLIC_URL: 'https://wharf.example/' } })
  await makeUser(app.services, 'alice')
  const web = new WebClient(app.url)
  const _csrf = await web.csrf('/-/login')
  const ok = await web.post('/-/login', { _csrf, username: 'alice', password: PASSWORD })
  assert.match(ok.res.headers.getSetCookie().find((c) => c.startsWith('wharf_session='))!, /; Secure/)
})

for (const db of testDatabases()) {
  test(`sessions (${db}): stored hashed, API reads only, sign-out, two-factor`, async (t) => {
    const app = await startTestApp(t, { db })
    const s = app.services
    const alice = await makeUser(s, 'alice')
    const web = new WebClient(app.url)
    assert.equal((await web.signIn('alice', PASSWORD)).status, 303)
    const id = web.cookies.get('wharf_session')!
    const rows = await s.db.selectFrom('session').selectAll().where('user_id', '=', alice.id).execute()
    assert.equal(rows.length, 1)
    assert.equal(rows[0]!.id_hash, createHash('sha256').update(id).digest('hex'))
    assert.ok(!JSON.stringify(rows).includes(id))

    // A session cookie may read the API but not change it (no CSRF token there).
    const me = await web.get('/api/v1/user')
    assert.equal(me.res.status, 200)
    assert.equal(JSON.parse(me.body).login, 'alice')
    const post = await fetch(`${app.url}/api/v1/orgs`, {
      method: 'POST', headers: { cookie: web.cookieHeader, 'content-type': 'application/json' }, body: JSON.stringify({ username: 'acme' }),
    })
    assert.equal(post.status, 401)

    // Sign out removes the row.
    const _csrf = await web.csrf('/-/settings')
    assert.equal((await web.post('/-/logout', { _csrf })).res.status, 303)
    assert.equal((await s.db.selectFrom('session').selectAll().where('user_id', '=', alice.id).execute()).length, 0)
    assert.equal((await web.get('/-/settings')).res.status, 303)

    // Two-factor: the password alone gives only a pending session, which resolves to nobody.
    const secret = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP'
    await s.users.setTotp(alice.id, secret, [])
    const token = await makeToken(s, alice, ['read:user'])
    const pw = await fetch(`${app.url}/api/v1/user`, { headers: { authorization: basic('alice', PASSWORD) } })
    assert.equal(pw.status, 401)
    assert.match((await pw.json() as { message: string }).message, /token/)
    assert.equal((await fetch(`${app.url}/api/v1/user`, { headers: { authorization: basic('alice', token) } })).status, 200)

    assert.equal((await web.signIn('alice', PASSWORD)).headers.get('location'), '/-/login/2fa?next=%2F')
    assert.equal((await web.get('/-/settings')).res.status, 303, 'a pending session is not signed in')
    assert.equal((await web.get('/api/v1/user')).res.status, 401)
    const c = await web.csrf('/-/login/2fa')
    assert.equal((await web.post('/-/login/2fa', { _csrf: c, code: '000000' === totp(secret) ? '111111' : '000000' })).res.status, 401)
    const done = await web.post('/-/login/2fa', { _csrf: c, code: totp(secret), next: '/' })
    assert.equal(done.res.status, 303)
    assert.equal((await web.get('/-/settings')).res.status, 200)
    const sessions = await s.db.selectFrom('session').selectAll().where('user_id', '=', alice.id).execute()
    assert.deepEqual(sessions.map((r) => Number(r.pending_2fa)), [0], 'the pending session was replaced')
  })
}

test('WHARF_REQUIRE_SIGNIN_VIEW: visitors see nothing but the sign-in page', async (t) => {
  const app = await startTestApp(t, { env: { WHARF_REQUIRE_SIGNIN_VIEW: 'true' } })
  await makeUser(app.services, 'alice')
  const web = new WebClient(app.url)
  const home = await web.get('/')
  assert.equal(home.res.status, 200)
  assert.match(home.body, /This registry is private/)
  assert.equal((await web.get('/alice')).res.status, 401)
  assert.equal((await web.get('/nobody')).res.status, 401, 'no hint whether an owner exists')
  assert.equal((await web.get('/-/login')).res.status, 200)
  await web.signIn('alice', PASSWORD)
  assert.equal((await web.get('/alice')).res.status, 200)
  assert.doesNotMatch((await web.get('/')).body, /This registry is private/)
})
