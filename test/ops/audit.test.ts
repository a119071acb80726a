// The audit log: every change leaves exactly one entry, written in the change's transaction, with
// the right actor (password, token, session, the CLI); failed changes leave none; filters and pages;
// organization owners see only their owner's entries; the web pages show the same.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { startTestApp, testDatabases, type TestApp } from '../helpers/test-app.js'
import { PASSWORD, basic, makeOrg, makeToken, makeUser, tokenAuth } from '../helpers/auth.js'
import { WebClient } from '../web/web-client.js'
import { totp } from '../../src/auth/totp.js'
import { CLI_ACTOR } from '../../src/ops/audit.js'

interface Entry { id: number; action: string; target: string; owner_id: number | null; actor: { name: string; kind: string; token_name: string | null }; detail: Record<string, unknown> | null; client_ip: string | null }

async function entries(app: TestApp, auth: string, query = ''): Promise<{ status: number; list: Entry[]; total: number; link: string | null }> {
  const res = await fetch(`${app.url}/api/v1/admin/audit${query}`, { headers: { authorization: auth } })
  const body = await res.json() as Entry[] | { message: string }
  return { status: res.status, list: Array.isArray(body) ? body : [], total: Number(res.headers.get('x-total-count') ?? -1), link: res.headers.get('link') }
}

/** Runs `change` and returns the entries it added (oldest first). */
async function added(app: TestApp, change: () => Promise<unknown>): Promise<Entry[]> {
  const before = (await app.services.audit.list({ limit: 1 }))[0]?.id ?? 0
  await change()
  const rows = await app.services.audit.list({ limit: 50 })
  return rows.filter((r) => r.id > before).reverse().map((r) => ({
    id: r.id, action: r.action, target: r.target, owner_id: r.owner_id, client_ip: r.client_ip,
    actor: { name: r.actor_name, kind: r.actor_kind, token_name: r.token_name }, detail: r.detail_json ? JSON.parse(r.detail_json) as Record<string, unknown> : null,
  }))
}

function one(list: Entry[], action: string, actor: { name: string; kind: string; token_name?: string | null }, target?: string): Entry {
  assert.equal(list.length, 1, `exactly one entry for ${action}, got ${JSON.stringify(list.map((e) => e.action))}`)
  const e = list[0]!
  assert.equal(e.action, action)
  assert.equal(e.actor.name, actor.name)
  assert.equal(e.actor.kind, actor.kind)
  if (actor.token_name !== undefined) assert.equal(e.actor.token_name, actor.token_name)
  if (target !== undefined) assert.equal(e.target, target)
  return e
}

for (const db of testDatabases()) {
  test(`[${db}] audit: every change leaves exactly one entry with its actor; failed changes leave none`, async (t) => {
    const app = await startTestApp(t, { db })
    const s = app.services
    await makeUser(s, 'root', { admin: true })
    const rootAuth = basic('root', PASSWORD)
    const api = (method: string, path: string, auth: string, body?: unknown) => fetch(`${app.url}/api/v1${path}`, body === undefined
      ? { method, headers: { authorization: auth } }
      : { method, headers: { authorization: auth, 'content-type': 'application/json' }, body: JSON.stringify(body) })

    // Users (password over Basic).
    let e = one(await added(app, async () => assert.equal((await api('POST', '/admin/users', rootAuth, { username: 'alice', email: 'a@example.com', password: PASSWORD, must_change_password: false })).status, 201)),
      'user.create', { name: 'root', kind: 'password' }, 'alice')
    assert.equal(e.client_ip, '127.0.0.1')
    e = one(await added(app, async () => assert.equal((await api('PATCH', '/admin/users/alice', rootAuth, { visibility: 'limited', password: 'another-password-1' })).status, 200)),
      'user.change', { name: 'root', kind: 'password' }, 'alice')
    assert.deepEqual(e.detail, { visibility: 'limited', password: true })
    assert.ok(!JSON.stringify(e.detail).includes('another-password-1'), 'no secrets in details')
    one(await added(app, async () => assert.equal((await api('PATCH', '/admin/users/alice', rootAuth, { password: PASSWORD })).status, 200)),
      'user.password.change', { name: 'root', kind: 'password' })
    // Failed changes: nothing recorded.
    assert.deepEqual(await added(app, async () => assert.equal((await api('POST', '/admin/users', rootAuth, { username: 'alice', email: 'b@example.com', password: PASSWORD })).status, 422)), [])
    assert.deepEqual(await added(app, async () => assert.equal((await api('POST', '/admin/users', rootAuth, { username: 'bad name', password: PASSWORD })).status, 422)), [])

    // Tokens (password, as token management needs), then package changes with the token.
    const alice = (await s.users.findOwner('alice'))!
    let token = ''
    e = one(await added(app, async () => {
      const r = await api('POST', '/users/alice/tokens', basic('alice', PASSWORD), { name: 'ci', scopes: ['write:package', 'write:organization'] })
      assert.equal(r.status, 201)
      token = ((await r.json()) as { sha1: string }).sha1
    }), 'token.create', { name: 'alice', kind: 'password' }, 'alice/ci')
    assert.ok(!JSON.stringify(e).includes(token), 'the token itself is never recorded')
    const ta = tokenAuth(token)
    const file = `${app.url}/api/packages/alice/generic/tool/1.0`
    e = one(await added(app, async () => assert.equal((await fetch(`${file}/a.bin`, { method: 'PUT', headers: { authorization: ta }, body: 'aaa' })).status, 201)),
      'package.file.create', { name: 'alice', kind: 'token', token_name: 'ci' }, 'generic/tool/1.0/a.bin')
    assert.equal(e.owner_id, alice.id)
    assert.equal(e.detail?.version_created, true)
    one(await added(app, async () => assert.equal((await fetch(`${file}/b.bin`, { method: 'PUT', headers: { authorization: ta }, body: 'bbb' })).status, 201)),
      'package.file.create', { name: 'alice', kind: 'token' })
    assert.deepEqual(await added(app, async () => assert.equal((await fetch(`${file}/A.BIN`, { method: 'PUT', headers: { authorization: ta }, body: 'x' })).status, 409)), [])
    assert.deepEqual(await added(app, async () => assert.equal((await fetch(`${file}/nothing.bin`, { method: 'DELETE', headers: { authorization: ta } })).status, 404)), [])
    one(await added(app, async () => assert.equal((await fetch(`${file}/a.bin`, { method: 'DELETE', headers: { authorization: ta } })).status, 204)),
      'package.file.delete', { name: 'alice', kind: 'token' }, 'generic/tool/1.0/a.bin')
    one(await added(app, async () => assert.equal((await api('DELETE', '/packages/alice/generic/tool/1.0', ta)).status, 204)),
      'package.version.delete', { name: 'alice', kind: 'token' }, 'generic/tool/1.0')

    // Organizations, teams, members.
    await makeUser(s, 'bob')
    one(await added(app, async () => assert.equal((await api('POST', '/orgs', ta, { username: 'acme' })).status, 201)), 'org.create', { name: 'alice', kind: 'token' }, 'acme')
    assert.deepEqual(await added(app, async () => assert.equal((await api('POST', '/orgs', ta, { username: 'acme' })).status, 422)), [])
    let teamId = 0
    one(await added(app, async () => {
      const r = await api('POST', '/orgs/acme/teams', ta, { name: 'release', units_map: { 'repo.packages': 'write' } })
      assert.equal(r.status, 201)
      teamId = ((await r.json()) as { id: number }).id
    }), 'team.create', { name: 'alice', kind: 'token' }, 'acme/release')
    one(await added(app, async () => assert.equal((await api('PUT', `/teams/${teamId}/members/bob`, ta)).status, 204)), 'team.member.add', { name: 'alice', kind: 'token' }, 'acme/release')
    assert.deepEqual(await added(app, async () => assert.equal((await api('PUT', `/teams/${teamId}/members/bob`, ta)).status, 204)), [], 'no change, no entry')
    one(await added(app, async () => assert.equal((await api('DELETE', `/teams/${teamId}/members/bob`, ta)).status, 204)), 'team.member.remove', { name: 'alice', kind: 'token' })
    one(await added(app, async () => assert.equal((await api('DELETE', '/orgs/acme', ta)).status, 204)), 'org.delete', { name: 'alice', kind: 'token' }, 'acme')

    // Web session: token, 2FA on and off, password change.
    const web = new WebClient(app.url)
    assert.equal((await web.signIn('bob', PASSWORD)).status, 303)
    one(await added(app, async () => assert.equal((await web.post('/-/settings/tokens', { _csrf: await web.csrf('/-/settings/tokens'), name: 'laptop', scopes: 'read:package' })).res.status, 200)),
      'token.create', { name: 'bob', kind: 'session' }, 'bob/laptop')
    const enrol = await web.get('/-/settings/security/enroll')
    const secret = /data-secret="([A-Z2-7]{32})"/.exec(enrol.body)![1]!
    const _csrf = /name="_csrf" value="([^"]+)"/.exec(enrol.body)![1]!
    one(await added(app, async () => assert.equal((await web.post('/-/settings/security/confirm', { _csrf, secret, code: totp(secret) })).res.status, 200)),
      'user.2fa.enable', { name: 'bob', kind: 'session' }, 'bob')
    one(await added(app, async () => assert.equal((await web.post('/-/settings/security/disable', { _csrf: await web.csrf('/-/settings/security'), password: PASSWORD })).res.status, 200)),
      'user.2fa.disable', { name: 'bob', kind: 'session' }, 'bob')
    assert.deepEqual(await added(app, async () => assert.equal((await web.post('/-/settings/password', { _csrf: await web.csrf('/-/settings'), current: 'wrong-password', new: 'n3w-password!', confirm: 'n3w-password!' })).res.status, 400)), [])
    one(await added(app, async () => assert.equal((await web.post('/-/settings/password', { _csrf: await web.csrf('/-/settings'), current: PASSWORD, new: 'n3w-password!', confirm: 'n3w-password!' })).res.status, 200)),
      'user.password.change', { name: 'bob', kind: 'session' }, 'bob')

    // The CLI and deletes by an admin.
    one(await added(app, () => s.users.update('bob', { password: PASSWORD }, CLI_ACTOR)), 'user.password.change', { name: 'cli', kind: 'cli' })
    one(await added(app, async () => assert.equal((await api('DELETE', '/users/alice/tokens/ci', basic('alice', PASSWORD))).status, 204)), 'token.delete', { name: 'alice', kind: 'password' }, 'alice/ci')
    one(await added(app, async () => assert.equal((await api('DELETE', '/admin/users/bob', rootAuth)).status, 204)), 'user.delete', { name: 'root', kind: 'password' }, 'bob')

    // Sign-in failures past the throttle: one entry when the limit is crossed, not one per attempt.
    const fails = await added(app, async () => {
      for (let i = 0; i < 13; i++) await fetch(`${app.url}/api/v1/user`, { headers: { authorization: basic('alice', `wrong-${i}`) } })
    })
    one(fails, 'auth.throttled', { name: 'anonymous', kind: 'anonymous' }, 'alice')
  })

  test(`[${db}] audit: filters, paging, and organization owners see only their owner's entries (API and pages)`, async (t) => {
    const app = await startTestApp(t, { db })
    const s = app.services
    await makeUser(s, 'root', { admin: true })
    const carol = await makeUser(s, 'carol')
    const dave = await makeUser(s, 'dave')
    const acme = await makeOrg(s, 'acme', carol)
    await makeOrg(s, 'other', dave)
    const team = await s.orgs.createTeam(acme, { name: 'devs', packagesAccess: 'write' })
    await s.orgs.addMember(team, dave)
    const ct = await makeToken(s, carol, ['all'], 'carol-ci')
    const dt = await makeToken(s, dave, ['all'], 'dave-ci')
    for (let i = 0; i < 5; i++) {
      assert.equal((await fetch(`${app.url}/api/packages/acme/generic/p${i}/1.0/f.bin`, { method: 'PUT', headers: { authorization: tokenAuth(ct) }, body: `${i}` })).status, 201)
    }
    assert.equal((await fetch(`${app.url}/api/packages/other/generic/secret/1.0/f.bin`, { method: 'PUT', headers: { authorization: tokenAuth(dt) }, body: 'x' })).status, 201)

    const rootAuth = basic('root', PASSWORD)
    const all = await entries(app, rootAuth)
    assert.equal(all.status, 200)
    assert.equal(all.total, all.list.length)
    const pkg = await entries(app, rootAuth, '?action=package')
    assert.equal(pkg.total, 6)
    assert.ok(pkg.list.every((e) => e.action === 'package.file.create'))
    assert.equal((await entries(app, rootAuth, '?action=package.file.create&actor=dave')).total, 1)
    assert.equal((await entries(app, rootAuth, '?target=P3')).total, 1, 'target substring, case-insensitive')
    assert.equal((await entries(app, rootAuth, '?since=2000-01-01T00:00:00Z&until=2999-01-01T00:00:00Z&action=package')).total, 6)
    assert.equal((await entries(app, rootAuth, '?until=2000-01-01T00:00:00Z')).total, 0)
    assert.equal((await entries(app, rootAuth, '?since=yesterday')).status, 400)
    assert.equal((await entries(app, rootAuth, '?page=1&page=2')).status, 400)
    const p1 = await entries(app, rootAuth, '?action=package&limit=4')
    const p2 = await entries(app, rootAuth, '?action=package&limit=4&page=2')
    assert.deepEqual([p1.list.length, p2.list.length, p1.total], [4, 2, 6])
    assert.match(p1.link!, /rel="next"/)
    assert.ok(p1.list[0]!.id > p1.list[3]!.id && p1.list[3]!.id > p2.list[0]!.id, 'newest first, pages do not overlap')

    // An owner of acme: acme's entries only, and never the whole log.
    const carolAuth = tokenAuth(ct)
    assert.equal((await entries(app, carolAuth)).status, 403)
    const mine = await entries(app, carolAuth, '?owner=acme')
    assert.equal(mine.status, 200)
    assert.ok(mine.list.length >= 5)
    assert.ok(mine.list.every((e) => e.owner_id === acme.id))
    assert.ok(!mine.list.some((e) => e.target.includes('secret')))
    assert.equal((await entries(app, carolAuth, '?owner=other')).status, 404, 'not a member: as if it did not exist')
    assert.equal((await entries(app, tokenAuth(dt), '?owner=acme')).status, 403, 'a member who is not an owner')
    assert.equal((await entries(app, tokenAuth(await makeToken(s, carol, ['read:package'])), '?owner=acme')).status, 403, 'scope')
    assert.equal((await fetch(`${app.url}/api/v1/admin/audit`)).status, 401)

    // Pages: the admin's, and an owner's.
    const admin = new WebClient(app.url)
    await admin.signIn('root', PASSWORD)
    const page = await admin.get('/-/admin/audit?action=package&actor=dave')
    assert.equal(page.res.status, 200)
    assert.match(page.body, /<h1>Audit log<\/h1>/)
    assert.match(page.body, /generic\/secret\/1\.0\/f\.bin/)
    assert.match(page.body, /1 entry/)
    const cw = new WebClient(app.url)
    await cw.signIn('carol', PASSWORD)
    assert.equal((await cw.get('/-/admin/audit')).res.status, 403)
    const own = await cw.get('/acme/-/audit')
    assert.equal(own.res.status, 200)
    assert.match(own.body, /generic\/p4\/1\.0\/f\.bin/)
    assert.match(own.body, /token “carol-ci”/)
    assert.ok(!own.body.includes('secret'))
    assert.equal((await cw.get('/other/-/audit')).res.status, 404)
    const dw = new WebClient(app.url)
    await dw.signIn('dave', PASSWORD)
    assert.equal((await dw.get('/acme/-/audit')).res.status, 403)
    assert.equal((await new WebClient(app.url).get('/acme/-/audit')).res.status, 303, 'anonymous: sign in first')
  })
}

test('audit retention: prune removes entries past WHARF_AUDIT_RETENTION; bad values are refused', async (t) => {
  const { loadConfig } = await import('../../src/config/config.js')
  assert.throws(() => loadConfig({ WHARF_AUDIT_RETENTION: 'forever' }), /WHARF_AUDIT_RETENTION:/)
  assert.throws(() => loadConfig({ WHARF_AUDIT_RETENTION: '5m' }), /WHARF_AUDIT_RETENTION:/)
  assert.equal(loadConfig({ WHARF_AUDIT_RETENTION: '90d' }).auditRetentionMs, 90 * 86_400_000)
  assert.equal(loadConfig({}).auditRetentionMs, undefined)
  const app = await startTestApp(t, { env: { WHARF_AUDIT_RETENTION: '30d' } })
  await makeUser(app.services, 'old')
  await app.services.db.updateTable('audit_log').set({ created_unix: Math.floor(Date.now() / 1000) - 40 * 86_400 }).execute()
  await makeUser(app.services, 'new')
  assert.equal(await app.services.audit.prune(app.services.config.auditRetentionMs!), 1)
  const left = await app.services.audit.list()
  assert.deepEqual(left.map((e) => e.target), ['new'])
})
