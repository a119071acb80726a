// Who sees and may do what on pages: teams, admin, deleting versions; and a Go module's page.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Readable } from 'node:stream'
import { startTestApp, testDatabases } from '../helpers/test-app.js'
import { PASSWORD, makeOrg, makeTeam, makeUser } from '../helpers/auth.js'
import { WebClient } from './web-client.js'
import type { Services } from '../../src/services.js'

async function addFile(s: Services, ownerId: number, type: string, name: string, version: string, file: string, bytes: string) {
  const body = Readable.from([Buffer.from(bytes)])
  if (type === 'go') {
    const metadataJson = JSON.stringify({ goMod: `module ${name}\n\ngo 1.22\n` })
    return s.packages.createVersionWithFile({ ownerId, type, name, version, file, creatorId: ownerId, body, isLead: true, metadataJson })
  }
  return s.packages.addFile({ ownerId, type, name, version, file, creatorId: ownerId, body })
}

for (const db of testDatabases()) {
  test(`page access (${db}): teams, admin, delete`, async (t) => {
    const app = await startTestApp(t, { db })
    const s = app.services
    const alice = await makeUser(s, 'alice')
    const bob = await makeUser(s, 'bob')
    await makeUser(s, 'carol')
    const acme = await makeOrg(s, 'acme', alice, 'private')
    await makeTeam(s, acme, 'Readers', 'read', [bob])
    await addFile(s, acme.id, 'generic', 'lib', '1.0', 'lib.zip', 'one')
    await addFile(s, acme.id, 'generic', 'lib', '2.0', 'lib.zip', 'two')

    const asBob = new WebClient(app.url)
    await asBob.signIn('bob', PASSWORD)
    const asCarol = new WebClient(app.url)
    await asCarol.signIn('carol', PASSWORD)
    const anon = new WebClient(app.url)

    // Members see teams and members; others get 404, as for an owner they may not read.
    const teams = await asBob.get('/acme/-/teams')
    assert.equal(teams.res.status, 200)
    assert.match(teams.body, /Readers/)
    assert.match(teams.body, />alice</)
    assert.equal((await asCarol.get('/acme/-/teams')).res.status, 404)
    assert.equal((await asCarol.get('/acme')).res.status, 404)
    assert.equal((await anon.get('/acme')).res.status, 401)
    assert.ok(!(await asCarol.get('/?q=lib')).body.includes('acme / lib'), 'search hides private owners')
    assert.match((await asBob.get('/?q=lib')).body, /acme \/ lib/)

    // A reader sees no delete button and cannot delete by posting.
    const v = await asBob.get('/acme/-/packages/generic/lib/2.0')
    assert.equal(v.res.status, 200)
    assert.doesNotMatch(v.body, /Delete this version/)
    assert.equal((await asBob.get('/acme/-/packages/generic/lib/2.0/delete')).res.status, 403)
    const _csrf = await asBob.csrf('/acme/-/packages/generic/lib/2.0')
    assert.equal((await asBob.post('/acme/-/packages/generic/lib/2.0/delete', { _csrf, confirm: 'yes' })).res.status, 403)
    assert.equal((await asCarol.post('/acme/-/packages/generic/lib/2.0/delete', { _csrf: await asCarol.csrf('/'), confirm: 'yes' })).res.status, 404)
    assert.equal((await s.packages.listVersionsOfPackage({ ownerId: acme.id, type: 'generic', name: 'lib' })).length, 2)

    // The owner's team can: without the tick box nothing happens, with it the version goes.
    const asAlice = new WebClient(app.url)
    await asAlice.signIn('alice', PASSWORD)
    const page = await asAlice.get('/acme/-/packages/generic/lib/2.0')
    assert.match(page.body, /Delete this version/)
    const c = await asAlice.csrf('/acme/-/packages/generic/lib/2.0/delete')
    assert.equal((await asAlice.post('/acme/-/packages/generic/lib/2.0/delete', { _csrf: c })).res.status, 400)
    const del = await asAlice.post('/acme/-/packages/generic/lib/2.0/delete', { _csrf: c, confirm: 'yes' })
    assert.equal(del.res.status, 303)
    assert.equal(del.res.headers.get('location'), '/acme/-/packages/generic/lib')
    const last = await asAlice.post('/acme/-/packages/generic/lib/1.0/delete', { _csrf: c, confirm: 'yes' })
    assert.equal(last.res.headers.get('location'), '/acme', 'the last version takes the package with it')
    assert.equal((await asAlice.get('/acme/-/packages/generic/lib')).res.status, 404)

    // Admin pages: signed-out visitors are sent to sign in, other users are refused.
    const r = await anon.get('/-/admin/users')
    assert.equal(r.res.status, 303)
    assert.equal(r.res.headers.get('location'), '/-/login?next=%2F-%2Fadmin%2Fusers')
    assert.equal((await asBob.get('/-/admin/users')).res.status, 403)
    assert.equal((await asBob.post('/-/admin/users', { _csrf: await asBob.csrf('/'), username: 'mallory', password: 'long-enough-1' })).res.status, 403)
    assert.equal(await s.users.findOwner('mallory'), undefined)
  })
}

test('admin users page validates input with clear messages', async (t) => {
  const app = await startTestApp(t)
  await makeUser(app.services, 'root', { admin: true })
  const web = new WebClient(app.url)
  await web.signIn('root', PASSWORD)
  const _csrf = await web.csrf('/-/admin/users')
  const bad = await web.post('/-/admin/users', { _csrf, username: 'no spaces', password: 'long-enough-1' })
  assert.equal(bad.res.status, 400)
  assert.match(bad.body, /username may contain only letters/)
  assert.match(bad.body, /value="no spaces"/, 'the form keeps what was typed')
  const short = await web.post('/-/admin/users', { _csrf, username: 'dave', password: 'short' })
  assert.match(short.body, /at least 8 characters/)
  const dup = await web.post('/-/admin/users', { _csrf, username: 'root', password: 'long-enough-1' })
  assert.match(dup.body, /already exists/)
  const vis = await web.post('/-/admin/users/root', { _csrf, visibility: 'secret' })
  assert.equal(vis.res.status, 400)
  assert.equal((await web.post('/-/admin/users/nobody', { _csrf, visibility: 'public' })).res.status, 404)
  // An admin cannot take away their own admin rights here.
  await web.post('/-/admin/users/root', { _csrf, visibility: 'limited' })
  const root = await app.services.users.findOwner('root')
  assert.equal(root?.is_admin, 1)
  assert.equal(root?.visibility, 'limited')
})

test('a Go module page: encoded path, GOPROXY instructions, zip link', async (t) => {
  const app = await startTestApp(t)
  const s = app.services
  const alice = await makeUser(s, 'alice')
  await addFile(s, alice.id, 'go', 'example.com/Foo/bar', 'v1.2.3', 'v1.2.3.zip', 'zip bytes')
  const web = new WebClient(app.url)
  const list = await web.get('/alice')
  assert.match(list.body, /href="\/alice\/-\/packages\/go\/example\.com%2FFoo%2Fbar"/)
  const pkg = await web.get('/alice/-/packages/go/example.com%2FFoo%2Fbar')
  assert.equal(pkg.res.status, 200)
  const v = await web.get('/alice/-/packages/go/example.com%2FFoo%2Fbar/v1.2.3')
  assert.equal(v.res.status, 200)
  assert.ok(v.body.includes(`export GOPROXY=${app.url}/api/packages/alice/go,https://proxy.golang.org,direct`))
  assert.ok(v.body.includes('export GONOSUMDB=example.com/Foo/bar'))
  assert.ok(v.body.includes('go get example.com/Foo/bar@v1.2.3'))
  assert.ok(v.body.includes('<h2>go.mod</h2><pre><code>module example.com/Foo/bar\n'))
  assert.ok(v.body.includes(`href="${app.url}/api/packages/alice/go/example.com/!foo/bar/@v/v1.2.3.zip"`))
  // Module paths typed with plain slashes are redirected to the encoded address.
  for (const [typed, to] of [
    ['/alice/-/packages/go/example.com/Foo/bar', '/alice/-/packages/go/example.com%2FFoo%2Fbar'],
    ['/alice/-/packages/go/example.com/foo/bar/v1.2.3', '/alice/-/packages/go/example.com%2FFoo%2Fbar/v1.2.3'],
    ['/alice/-/packages/go/example.com/Foo/bar/v1.2.3/delete', '/alice/-/packages/go/example.com%2FFoo%2Fbar/v1.2.3/delete'],
  ] as const) {
    const r = await web.get(typed)
    assert.equal(r.res.status, 301, typed)
    assert.equal(r.res.headers.get('location'), to)
  }
  assert.equal((await web.get('/alice/-/packages/go/example.com/Foo')).res.status, 404)
  assert.equal((await web.get('/alice/-/packages/go/example.com/Foo/bar/v1/x/y')).res.status, 404)
  assert.equal((await web.get('/alice/-/packages/go/a/b/c/d/e/f')).res.status, 404)

  // Private owners get credentials in the URL, as the go command needs them (https only).
  await s.users.update('alice', { visibility: 'private' })
  await web.signIn('alice', PASSWORD)
  const priv = await web.get('/alice/-/packages/go/example.com%2FFoo%2Fbar/v1.2.3')
  assert.ok(priv.body.includes(`GOPROXY=http://USERNAME:TOKEN@${new URL(app.url).host}/api/packages/alice/go`))
  assert.match(priv.body, /\.netrc/)
})
