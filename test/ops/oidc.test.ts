// OIDC trusted publishing: the test serves its own issuer (discovery + JWKS of keys it generates)
// on 127.0.0.1 and signs ID tokens. A matching token is exchanged for an owner-limited Wharf token
// that can upload to that owner only; forged, expired, misdirected or non-matching tokens get 401
// with a reason; exchanged tokens expire; a key added to the JWKS (rotation) is honoured.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import { createHash, randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { SignJWT, exportJWK, exportSPKI, generateKeyPair, type CryptoKey, type JWK } from 'jose'
import { startTestApp, testDatabases } from '../helpers/test-app.js'
import { makeOrg, makeToken, makeUser, tokenAuth } from '../helpers/auth.js'

interface Key { kid: string; alg: string; privateKey: CryptoKey; publicKey: CryptoKey; jwk: JWK }

async function newKey(kid: string, alg = 'RS256'): Promise<Key> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true })
  return { kid, alg, privateKey, publicKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } }
}

/** An OIDC issuer on 127.0.0.1: discovery and a JWKS holding `keys` (change the array to rotate). */
async function issuer(t: { after(fn: () => Promise<void>): void }) {
  const keys: Key[] = []
  let base = ''
  const server = http.createServer((req, res) => {
    const json = (v: unknown) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(v))
    if (req.url === '/.well-known/openid-configuration') {
      return json({ issuer: base, jwks_uri: `${base}/jwks`, id_token_signing_alg_values_supported: ['RS256', 'ES256'] })
    }
    if (req.url === '/jwks') return json({ keys: keys.map((k) => k.jwk) })
    res.writeHead(404).end()
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`
  t.after(async () => {
    server.closeAllConnections()
    await new Promise((r) => server.close(r))
  })
  return { keys, url: base }
}

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url')
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex')

for (const db of testDatabases()) {
  test(`[${db}] oidc: trust policies, the exchange, owner limits, rejections with reasons, expiry, key rotation`, async (t) => {
    const iss = await issuer(t)
    const k1 = await newKey('k1')
    iss.keys.push(k1)
    const app = await startTestApp(t, { db, env: { WHARF_OIDC_ALLOWED_HOSTS: '127.0.0.1', WHARF_OIDC_JWKS_COOLDOWN: '0s' } })
    const s = app.services
    const alice = await makeUser(s, 'alice')
    await makeOrg(s, 'acme', alice)
    await makeOrg(s, 'other', alice)
    const mallory = await makeUser(s, 'mallory')
    const aliceAuth = { authorization: tokenAuth(await makeToken(s, alice)), 'content-type': 'application/json' }
    const policies = `${app.url}/api/v1/packages/acme/-/oidc-policies`
    const policy = { name: 'release', issuer: iss.url, audience: 'wharf', claims: { repository: 'acme/*', ref: 'refs/heads/main' }, scopes: ['write:package'] }

    // Policies: writers only; validated; listed; the default lifetime is 15 minutes.
    const asMallory = await fetch(policies, { method: 'POST', headers: { authorization: tokenAuth(await makeToken(s, mallory)), 'content-type': 'application/json' }, body: JSON.stringify(policy) })
    assert.equal(asMallory.status, 403)
    const wide = await fetch(policies, { method: 'POST', headers: aliceAuth, body: JSON.stringify({ ...policy, claims: { repository: '*' } }) })
    assert.equal(wide.status, 422, 'a policy must narrow the issuer down')
    const plain = await fetch(policies, { method: 'POST', headers: aliceAuth, body: JSON.stringify({ ...policy, issuer: 'http://issuer.example' }) })
    assert.equal(plain.status, 422, 'http issuers need WHARF_OIDC_ALLOWED_HOSTS')
    const made = await fetch(policies, { method: 'POST', headers: aliceAuth, body: JSON.stringify(policy) })
    assert.equal(made.status, 201, await made.clone().text())
    const p = await made.json() as { id: number; token_lifetime_seconds: number; issuer: string }
    assert.equal(p.token_lifetime_seconds, 900)
    assert.equal(p.issuer, iss.url)
    const listed = await (await fetch(policies, { headers: aliceAuth })).json() as Array<{ id: number }>
    assert.deepEqual(listed.map((x) => x.id), [p.id])

    const sign = async (o: { key?: Key; alg?: string; claims?: Record<string, unknown>; iss?: string; aud?: string; iat?: number; exp?: number | string } = {}) => {
      const key = o.key ?? k1
      const jwt = new SignJWT({ repository: 'acme/tool', ref: 'refs/heads/main', sub: 'repo:acme/tool:ref:refs/heads/main', ...o.claims })
        .setProtectedHeader({ alg: o.alg ?? key.alg, kid: key.kid }).setIssuer(o.iss ?? iss.url).setAudience(o.aud ?? 'wharf')
        .setIssuedAt(o.iat).setExpirationTime(o.exp ?? '5m')
      return jwt.sign(key.privateKey)
    }
    const exchange = (token: unknown) => fetch(`${app.url}/api/v1/oidc/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token }) })
    const refused = async (token: unknown, reason: RegExp, what: string) => {
      const r = await exchange(token)
      assert.equal(r.status, 401, what)
      const b = await r.json() as { message: string }
      assert.match(b.message, reason, what)
    }

    // A matching token is exchanged; the Wharf token uploads to acme and nowhere else.
    const r = await exchange(await sign())
    assert.equal(r.status, 201)
    const got = await r.json() as { token: string; expires_at: string; owner: string; scopes: string[] }
    assert.equal(got.owner, 'acme')
    assert.deepEqual(got.scopes, ['write:package'])
    const left = Date.parse(got.expires_at) - Date.now()
    assert.ok(left > 0 && left <= 900_000 + 5_000, `expires in about 15 minutes (${left} ms)`)
    const ci = { authorization: tokenAuth(got.token) }
    const bytes = randomBytes(50_000)
    const file = `${app.url}/api/packages/acme/generic/tool/1.0/tool.bin`
    assert.equal((await fetch(file, { method: 'PUT', headers: ci, body: bytes })).status, 201)
    const down = await fetch(file, { headers: ci })
    assert.equal(down.status, 200)
    assert.equal(sha(new Uint8Array(await down.arrayBuffer())), sha(bytes))
    assert.equal((await fetch(`${app.url}/api/packages/other/generic/tool/1.0/tool.bin`, { method: 'PUT', headers: ci, body: bytes })).status, 403, 'another owner')
    assert.equal((await fetch(`${app.url}/api/packages/alice/generic/tool/1.0/tool.bin`, { method: 'PUT', headers: ci, body: bytes })).status, 403, 'not even its creator')
    const self = await fetch(policies, { method: 'POST', headers: { ...ci, 'content-type': 'application/json' }, body: JSON.stringify({ ...policy, name: 'x' }) })
    assert.ok(self.status >= 400 && self.status < 500, 'an exchanged token cannot mint policies')
    const audit = await s.db.selectFrom('audit_log').selectAll().where('action', '=', 'token.exchange').execute()
    assert.equal(audit.length, 1)
    assert.equal(audit[0]!.actor_kind, 'oidc')
    const upload = await s.db.selectFrom('audit_log').selectAll().where('action', '=', 'package.file.create').execute()
    assert.equal(upload[0]!.actor_kind, 'oidc')

    // Rejections, each with a reason.
    const now = Math.floor(Date.now() / 1000)
    await refused(await sign({ aud: 'someone-else' }), /audience/, 'wrong audience')
    await refused(await sign({ iss: 'http://127.0.0.1:9/' }), /no trust policy .*issuer/, 'wrong issuer')
    await refused(await sign({ iat: now - 3600, exp: now - 600 }), /expired/, 'expired')
    await refused(await sign({ key: await newKey('unknown') }), /no key .*JWKS|unknown kid/, 'unknown key')
    const none = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ iss: iss.url, aud: 'wharf', repository: 'acme/tool', ref: 'refs/heads/main', iat: now, exp: now + 300 })}.`
    await refused(none, /algorithm 'none'/, 'alg none')
    const pem = new TextEncoder().encode(await exportSPKI(k1.publicKey))
    const hs = await new SignJWT({ repository: 'acme/tool', ref: 'refs/heads/main' }).setProtectedHeader({ alg: 'HS256', kid: 'k1' })
      .setIssuer(iss.url).setAudience('wharf').setIssuedAt().setExpirationTime('5m').sign(pem)
    await refused(hs, /algorithm 'HS256'/, 'HS256 with the public key as secret')
    await refused(await sign({ claims: { ref: 'refs/heads/dev' } }), /claim 'ref' 'refs\/heads\/dev' does not match/, 'a claim not matching')
    await refused(await sign({ claims: { repository: 'evil/tool' } }), /claim 'repository'/, 'another repository')
    await refused('not-a-jwt', /not a JWT/, 'garbage')
    await refused(undefined, /expected/, 'no token')
    const forged = (await sign()).split('.')
    forged[1] = b64({ iss: iss.url, aud: 'wharf', repository: 'acme/tool', ref: 'refs/heads/main', iat: now, exp: now + 300, extra: 1 })
    await refused(forged.join('.'), /signature/, 'a changed payload')

    // Key rotation: a key added to the JWKS is fetched when a token names it.
    const k2 = await newKey('k2', 'ES256')
    iss.keys.push(k2)
    assert.equal((await exchange(await sign({ key: k2 }))).status, 201, 'signed with the rotated-in key')

    // Exchanged tokens expire: a 1-second policy; poll (bounded) until the token gets 401.
    const short = await fetch(policies, { method: 'POST', headers: aliceAuth, body: JSON.stringify({ ...policy, name: 'short', audience: 'wharf-short', token_lifetime_seconds: 1 }) })
    assert.equal(short.status, 201)
    const ex = await exchange(await sign({ aud: 'wharf-short' }))
    assert.equal(ex.status, 201)
    const shortToken = (await ex.json() as { token: string }).token
    let status = 0
    for (let i = 0; i < 120 && status !== 401; i++) {
      status = (await fetch(`${app.url}/api/packages/acme/generic/tool/1.0/tool.bin`, { headers: { authorization: tokenAuth(shortToken) } })).status
      if (status !== 401) await sleep(250)
    }
    assert.equal(status, 401, 'the exchanged token expired')
    assert.equal((await fetch(`${app.url}/api/packages/acme/generic/tool/2.0/x.bin`, { method: 'PUT', headers: { authorization: tokenAuth(shortToken) }, body: 'x' })).status, 401)

    // Deleting a policy revokes its tokens.
    assert.equal((await fetch(`${policies}/${p.id}`, { method: 'DELETE', headers: { authorization: aliceAuth.authorization } })).status, 204)
    assert.equal((await fetch(`${policies}/${p.id}`, { method: 'DELETE', headers: { authorization: aliceAuth.authorization } })).status, 404)
    let revoked = 0
    for (let i = 0; i < 120 && revoked !== 401; i++) {
      revoked = (await fetch(file, { headers: ci })).status
      if (revoked !== 401) await sleep(250)
    }
    assert.equal(revoked, 401, 'tokens of a deleted policy stop working (within the token cache time)')
  })
}

test('oidc: an issuer on a loopback address is refused without WHARF_OIDC_ALLOWED_HOSTS', async (t) => {
  const app = await startTestApp(t, { db: 'sqlite' })
  const s = app.services
  const alice = await makeUser(s, 'alice')
  const auth = { authorization: tokenAuth(await makeToken(s, alice)), 'content-type': 'application/json' }
  const issuerUrl = 'https://127.0.0.1:9'
  const made = await fetch(`${app.url}/api/v1/packages/alice/-/oidc-policies`, {
    method: 'POST', headers: auth, body: JSON.stringify({ name: 'p', issuer: issuerUrl, audience: 'wharf', claims: { repository: 'alice/tool' } }),
  })
  assert.equal(made.status, 201)
  const key = await newKey('k1')
  const jwt = await new SignJWT({ repository: 'alice/tool' }).setProtectedHeader({ alg: 'RS256', kid: 'k1' })
    .setIssuer(issuerUrl).setAudience('wharf').setIssuedAt().setExpirationTime('5m').sign(key.privateKey)
  const r = await fetch(`${app.url}/api/v1/oidc/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: jwt }) })
  assert.equal(r.status, 401)
  assert.match((await r.json() as { message: string }).message, /loopback.*WHARF_OIDC_ALLOWED_HOSTS/)
})
