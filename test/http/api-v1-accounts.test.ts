// /api/v1 users, tokens, organizations and teams: Gitea's shapes and status codes.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { startTestApp, testDatabases } from '../helpers/test-app.js'
import { basic, makeToken, makeUser, PASSWORD, tokenAuth } from '../helpers/auth.js'
import { call } from '../helpers/http.js'

for (const db of testDatabases()) {
  test(`[${db}] admin creates, edits and deletes users`, async (t) => {
    const { url, services } = await startTestApp(t, { db })
    await makeUser(services, 'root', { admin: true })
    await makeUser(services, 'eve')
    const root = basic('root', PASSWORD)
    const c = await call(`${url}/api/v1/admin/users`, 'POST', root, { username: 'Carol', email: 'carol@example.com', password: 'carol-pass-1', must_change_password: false, visibility: 'limited' })
    assert.equal(c.status, 201, c.text)
    assert.equal(c.body.login, 'Carol')
    assert.equal(c.body.visibility, 'limited')
    assert.equal(c.body.is_admin, false)
    assert.equal(typeof c.body.id, 'number')
    assert.equal((await call(`${url}/api/v1/user`, 'GET', basic('carol', 'carol-pass-1'))).body.login, 'Carol')

    const dup = await call(`${url}/api/v1/admin/users`, 'POST', root, { username: 'carol', email: 'c2@example.com', password: 'carol-pass-1' })
    assert.equal(dup.status, 422)
    assert.match(dup.body.message, /exists/)
    const bad = await call(`${url}/api/v1/admin/users`, 'POST', root, { username: 'no spaces', email: 'x@example.com', password: 'carol-pass-1' })
    assert.equal(bad.status, 422)
    const short = await call(`${url}/api/v1/admin/users`, 'POST', root, { username: 'dave', email: 'd@example.com', password: 'short' })
    assert.equal(short.status, 422)
    assert.match(short.body.message, /password/)
    const notAdmin = await call(`${url}/api/v1/admin/users`, 'POST', basic('eve', PASSWORD), { username: 'mallory', email: 'm@example.com', password: 'mallory-pass' })
    assert.equal(notAdmin.status, 403)
    const anon = await call(`${url}/api/v1/admin/users`, 'POST', undefined, { username: 'mallory', email: 'm@example.com', password: 'mallory-pass' })
    assert.equal(anon.status, 401)
    const weakToken = await makeToken(services, (await services.users.findOwner('root'))!, ['read:admin'])
    assert.equal((await call(`${url}/api/v1/admin/users`, 'POST', tokenAuth(weakToken), { username: 'x1', email: 'x@example.com', password: 'mallory-pass' })).status, 403)

    const p = await call(`${url}/api/v1/admin/users/carol`, 'PATCH', root, { admin: true, visibility: 'private' })
    assert.equal(p.status, 200)
    assert.equal(p.body.is_admin, true)
    assert.equal(p.body.visibility, 'private')
    assert.equal((await call(`${url}/api/v1/admin/users/nobody`, 'PATCH', root, { admin: true })).status, 404)
    assert.equal((await call(`${url}/api/v1/admin/users/carol`, 'PATCH', root, { visibility: 'secret' })).status, 422)

    const list = await call(`${url}/api/v1/admin/users`, 'GET', root)
    assert.deepEqual(list.body.map((u: { login: string }) => u.login).sort(), ['Carol', 'eve', 'root'])

    assert.equal((await call(`${url}/api/v1/admin/users/carol`, 'DELETE', root)).status, 204)
    assert.equal((await call(`${url}/api/v1/admin/users/carol`, 'DELETE', root)).status, 404)
    assert.equal((await call(`${url}/api/v1/user`, 'GET', basic('carol', 'carol-pass-1'))).status, 401)
  })

  test(`[${db}] tokens: created with scopes, shown once, listed, deleted by id or name; Basic password only`, async (t) => {
    const { url, services } = await startTestApp(t, { db })
    const alice = await makeUser(services, 'alice')
    await makeUser(services, 'bob')
    const a = basic('alice', PASSWORD)
    const c = await call(`${url}/api/v1/users/alice/tokens`, 'POST', a, { name: 'ci', scopes: ['write:package', 'read:user'] })
    assert.equal(c.status, 201, c.text)
    assert.match(c.body.sha1, /^[0-9a-f]{40}$/)
    assert.equal(c.body.token_last_eight, c.body.sha1.slice(-8))
    assert.deepEqual(c.body.scopes, ['write:package', 'read:user'])
    assert.equal((await call(`${url}/api/v1/user`, 'GET', tokenAuth(c.body.sha1))).body.login, 'alice')

    const stored = await services.db.selectFrom('access_token').selectAll().execute()
    assert.ok(stored.every((r) => !JSON.stringify(r).includes(c.body.sha1)), 'only a digest is stored')

    assert.equal((await call(`${url}/api/v1/users/alice/tokens`, 'POST', a, { name: 'CI', scopes: ['all'] })).status, 422, 'names are unique per user')
    assert.equal((await call(`${url}/api/v1/users/alice/tokens`, 'POST', a, { name: 'x', scopes: ['write:everything'] })).status, 422)
    assert.equal((await call(`${url}/api/v1/users/alice/tokens`, 'POST', a, { name: 'x', scopes: [] })).status, 422)
    assert.equal((await call(`${url}/api/v1/users/alice/tokens`, 'POST', tokenAuth(c.body.sha1), { name: 'y', scopes: ['all'] })).status, 401, 'token management needs the password')
    assert.equal((await call(`${url}/api/v1/users/alice/tokens`, 'POST', basic('bob', PASSWORD), { name: 'y', scopes: ['all'] })).status, 403)

    const second = await call(`${url}/api/v1/users/alice/tokens`, 'POST', a, { name: 'deploy', scopes: ['read:package'] })
    const list = await call(`${url}/api/v1/users/alice/tokens`, 'GET', a)
    assert.equal(list.status, 200)
    assert.deepEqual(list.body.map((x: { name: string }) => x.name), ['ci', 'deploy'])
    assert.ok(list.body.every((x: { sha1: string }) => x.sha1 === ''), 'the secret is shown only once')
    assert.equal((await call(`${url}/api/v1/users/alice/tokens/${second.body.id}`, 'DELETE', a)).status, 204)
    assert.equal((await call(`${url}/api/v1/users/alice/tokens/ci`, 'DELETE', a)).status, 204)
    assert.equal((await call(`${url}/api/v1/users/alice/tokens/ci`, 'DELETE', a)).status, 404)
    assert.equal((await call(`${url}/api/v1/users/alice/tokens`, 'GET', a)).body.length, 0)
    void alice
  })

  test(`[${db}] organizations and teams`, async (t) => {
    const { url, services } = await startTestApp(t, { db })
    await makeUser(services, 'olga')
    await makeUser(services, 'wim')
    await makeUser(services, 'eve')
    const olga = basic('olga', PASSWORD)
    const o = await call(`${url}/api/v1/orgs`, 'POST', olga, { username: 'acme', visibility: 'private' })
    assert.equal(o.status, 201, o.text)
    assert.equal(o.body.name, 'acme')
    assert.equal(o.body.username, 'acme')
    assert.equal(o.body.visibility, 'private')
    assert.equal((await call(`${url}/api/v1/orgs`, 'POST', olga, { username: 'ACME' })).status, 422)
    assert.equal((await call(`${url}/api/v1/orgs`, 'POST', olga, { username: 'olga' })).status, 422, 'shares the namespace with users')

    assert.equal((await call(`${url}/api/v1/orgs/acme`, 'GET', olga)).status, 200)
    assert.equal((await call(`${url}/api/v1/orgs/acme`, 'GET', basic('eve', PASSWORD))).status, 404, 'a private org is hidden from non-members')
    assert.equal((await call(`${url}/api/v1/orgs/acme`, 'GET')).status, 401)

    const team = await call(`${url}/api/v1/orgs/acme/teams`, 'POST', olga, { name: 'builders', permission: 'read', units_map: { 'repo.packages': 'write' } })
    assert.equal(team.status, 201, team.text)
    assert.equal(typeof team.body.id, 'number')
    assert.deepEqual(team.body.units_map, { 'repo.packages': 'write' })
    assert.equal((await call(`${url}/api/v1/orgs/acme/teams`, 'POST', olga, { name: 'x', units_map: { 'repo.packages': 'godlike' } })).status, 422)
    assert.equal((await call(`${url}/api/v1/orgs/acme/teams`, 'POST', basic('eve', PASSWORD), { name: 'y' })).status, 404)

    assert.equal((await call(`${url}/api/v1/teams/${team.body.id}/members/wim`, 'PUT', olga)).status, 204)
    assert.equal((await call(`${url}/api/v1/teams/${team.body.id}/members/nobody`, 'PUT', olga)).status, 404)
    assert.equal((await call(`${url}/api/v1/orgs/acme`, 'GET', basic('wim', PASSWORD))).status, 200, 'members see the org')
    assert.equal((await call(`${url}/api/v1/orgs/acme/teams`, 'POST', basic('wim', PASSWORD), { name: 'z' })).status, 403, 'members are not owners')
    const members = await call(`${url}/api/v1/teams/${team.body.id}/members`, 'GET', olga)
    assert.deepEqual(members.body.map((u: { login: string }) => u.login), ['wim'])

    const m = await services.orgs.membership((await services.users.findOwner('acme'))!.id, (await services.users.findOwner('wim'))!.id)
    assert.deepEqual(m, { isMember: true, isOwner: false, access: 'write' })

    assert.equal((await call(`${url}/api/v1/teams/${team.body.id}/members/wim`, 'DELETE', olga)).status, 204)
    assert.equal((await call(`${url}/api/v1/orgs/acme`, 'GET', basic('wim', PASSWORD))).status, 404)
    assert.equal((await call(`${url}/api/v1/teams/99999/members/wim`, 'PUT', olga)).status, 404)

    assert.equal((await call(`${url}/api/v1/orgs/acme`, 'DELETE', basic('wim', PASSWORD))).status, 404)
    assert.equal((await call(`${url}/api/v1/orgs/acme`, 'DELETE', olga)).status, 204)
    assert.equal((await call(`${url}/api/v1/orgs/acme`, 'GET', olga)).status, 404)
  })
}
