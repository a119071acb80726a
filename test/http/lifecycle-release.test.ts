// Issue 11, release workflow: `latest` links and -/latest, SHA256SUMS, the overwrite policy under
// concurrent readers, and protected versions.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { randomBytes } from 'node:crypto'
import { startTestApp, testDatabases } from '../helpers/test-app.js'
import { PASSWORD, basic, makeOrg, makeTeam, makeUser } from '../helpers/auth.js'
import { call } from '../helpers/http.js'
import { request, sha256Hex } from './generic-helpers.js'

const run = promisify(execFile)

for (const db of testDatabases()) {
  test(`[${db}] latest: releases over pre-releases, semver order with a leading v, newest upload without semver, a version named latest`, async (t) => {
    const { url, services } = await startTestApp(t, { db })
    await makeUser(services, 'alice')
    const auth = { authorization: basic('alice', PASSWORD) }
    const api = `${url}/api/packages/alice/generic`
    const put = async (pkg: string, version: string, file = 'f.bin', body = Buffer.from(`${pkg} ${version}`)) =>
      assert.equal((await request({ method: 'PUT', url: `${api}/${pkg}/${version}/${file}`, headers: auth, body })).status, 201, `${pkg} ${version}`)
    for (const v of ['1.0.0', 'v1.10.0', '1.9.0', '2.0.0-rc.1', '1.2.0+build.5', 'not-semver']) await put('rel', v)
    for (const v of ['1.0.0-alpha', '1.0.0-beta', '1.0.0-alpha.10', '0.9.0']) await put('pre', v === '0.9.0' ? '0.9.0-rc.1' : v)
    for (const v of ['nightly-b', 'nightly-a', 'build-7']) await put('nosemver', v)
    await put('named', 'latest')
    await put('named', '9.9.9')

    const expectLatest = async (pkg: string, version: string) => {
      for (const method of ['GET', 'HEAD']) {
        const r = await request({ method, url: `${api}/${pkg}/latest/f.bin`, headers: auth })
        assert.equal(r.status, 302, `${method} ${pkg}`)
        assert.equal(r.headers.location, `${url}/api/packages/alice/generic/${pkg}/${encodeURIComponent(version)}/f.bin`)
      }
      const followed = await fetch(`${api}/${pkg}/latest/f.bin`, { headers: auth })
      assert.equal(followed.status, 200)
      assert.equal(Buffer.from(await followed.arrayBuffer()).toString(), `${pkg} ${version}`)
      const json = await call(`${url}/api/v1/packages/alice/generic/${pkg}/-/latest`, 'GET', auth.authorization)
      assert.equal(json.status, 200)
      assert.equal(json.body.version, version)
      assert.equal(json.body.name, pkg)
    }
    await expectLatest('rel', 'v1.10.0')
    await expectLatest('pre', '1.0.0-beta')
    await expectLatest('nosemver', 'build-7')

    // a version literally named `latest` is served as itself (Gitea's behaviour)
    const named = await request({ method: 'GET', url: `${api}/named/latest/f.bin`, headers: auth })
    assert.equal(named.status, 200)
    assert.equal(named.body.toString(), 'named latest')

    assert.equal((await request({ method: 'GET', url: `${api}/rel/latest/other.bin`, headers: auth })).status, 404, 'a file the latest version lacks')
    assert.equal((await request({ method: 'GET', url: `${api}/nothing/latest/f.bin`, headers: auth })).status, 404)
    assert.equal((await call(`${url}/api/v1/packages/alice/generic/nothing/-/latest`, 'GET', auth.authorization)).status, 404)
    const sums = await request({ method: 'GET', url: `${api}/rel/latest/SHA256SUMS`, headers: auth })
    assert.equal(sums.status, 302)
    assert.match(String(sums.headers.location), /\/rel\/v1\.10\.0\/SHA256SUMS$/)

    // Go modules get -/latest too
    const { moduleZip } = await import('./go-helpers.js')
    for (const v of ['v1.2.0', 'v1.10.0-pre']) {
      assert.equal((await request({ method: 'PUT', url: `${url}/api/packages/alice/go/upload`, headers: auth, body: await moduleZip('example.com/m', v) })).status, 201)
    }
    assert.equal((await call(`${url}/api/v1/packages/alice/go/${encodeURIComponent('example.com/m')}/-/latest`, 'GET', auth.authorization)).body.version, 'v1.2.0')
  })

  test(`[${db}] SHA256SUMS: sha256sum -c accepts the downloads; ETag and 304; an uploaded SHA256SUMS wins`, async (t) => {
    const { url, services } = await startTestApp(t, { db })
    await makeUser(services, 'alice')
    const auth = { authorization: basic('alice', PASSWORD) }
    const base = `${url}/api/packages/alice/generic/tool/1.0`
    const files: Record<string, Buffer> = { 'tool-linux-amd64': randomBytes(5000), 'README.md': Buffer.from('# tool\n'), 'b c (1).tar.gz': randomBytes(100) }
    for (const [name, body] of Object.entries(files)) {
      assert.equal((await request({ method: 'PUT', url: `${base}/${encodeURIComponent(name)}`, headers: auth, body })).status, 201)
    }
    const sums = await request({ method: 'GET', url: `${base}/SHA256SUMS`, headers: auth })
    assert.equal(sums.status, 200)
    const expected = Object.keys(files).sort().map((n) => `${sha256Hex(files[n]!)}  ${n}\n`).join('')
    assert.equal(sums.body.toString(), expected)
    assert.equal(sums.headers.etag, `"${sha256Hex(expected)}"`)
    assert.equal((await request({ method: 'GET', url: `${base}/SHA256SUMS`, headers: { ...auth, 'if-none-match': String(sums.headers.etag) } })).status, 304)
    assert.equal((await request({ method: 'HEAD', url: `${base}/SHA256SUMS`, headers: auth })).headers['content-length'], String(Buffer.byteLength(expected)))

    const dir = await mkdtemp(path.join(os.tmpdir(), 'wharf-sums-'))
    t.after(() => rm(dir, { recursive: true, force: true }))
    for (const name of Object.keys(files)) {
      const r = await request({ method: 'GET', url: `${base}/${encodeURIComponent(name)}`, headers: auth })
      await writeFile(path.join(dir, name), r.body)
    }
    await writeFile(path.join(dir, 'SHA256SUMS'), sums.body)
    const { stdout } = await run('sha256sum', ['-c', 'SHA256SUMS'], { cwd: dir })
    assert.equal(stdout.trim().split('\n').filter((l) => l.endsWith(': OK')).length, 3, stdout)
    assert.equal((await request({ method: 'GET', url: `${url}/api/packages/alice/generic/tool/2.0/SHA256SUMS`, headers: auth })).status, 404, 'no such version')

    const own = Buffer.from('my own sums\n')
    assert.equal((await request({ method: 'PUT', url: `${base}/SHA256SUMS`, headers: auth, body: own })).status, 201)
    assert.equal((await request({ method: 'GET', url: `${base}/SHA256SUMS`, headers: auth })).sha256, sha256Hex(own))
  })

  test(`[${db}] overwrite policy: 409 by default, 201 replacing atomically for matching versions, readers see old or new bytes`, async (t) => {
    const { url, services } = await startTestApp(t, { db })
    await makeUser(services, 'alice')
    const auth = { authorization: basic('alice', PASSWORD) }
    const api = `${url}/api/packages/alice/generic/app`
    const settings = `${url}/api/v1/packages/alice/generic/app/-/settings`
    const a = randomBytes(300_000)
    const b = randomBytes(200_000)
    assert.equal((await request({ method: 'PUT', url: `${api}/1.0-SNAPSHOT/app.jar`, headers: auth, body: a })).status, 201)
    assert.equal((await request({ method: 'PUT', url: `${api}/1.0/app.jar`, headers: auth, body: a })).status, 201)
    assert.deepEqual((await call(settings, 'GET', auth.authorization)).body, { overwrite: 'immutable', overwrite_versions: '', protected_versions: '' })
    assert.equal((await request({ method: 'PUT', url: `${api}/1.0-SNAPSHOT/app.jar`, headers: auth, body: b })).status, 409, 'Gitea\'s default')

    assert.equal((await call(settings, 'PUT', auth.authorization, { overwrite: 'sometimes' })).status, 422)
    assert.equal((await call(settings, 'PUT', auth.authorization, { overwrite: 'overwrite' })).status, 422, 'which versions must be named')
    assert.equal((await call(`${url}/api/v1/packages/alice/generic/none/-/settings`, 'GET', auth.authorization)).status, 404)
    const put = await call(settings, 'PUT', auth.authorization, { overwrite: 'overwrite', overwrite_versions: '*-snapshot' })
    assert.equal(put.status, 200)
    assert.deepEqual(put.body, { overwrite: 'overwrite', overwrite_versions: '*-snapshot', protected_versions: '' })
    assert.equal((await request({ method: 'PUT', url: `${api}/1.0/app.jar`, headers: auth, body: b })).status, 409, 'a release stays immutable')

    const target = `${api}/1.0-SNAPSHOT/app.jar`
    const allowed = new Set([sha256Hex(a), sha256Hex(b)])
    const seen = new Set<string>()
    for (let round = 0; round < 6; round++) {
      const body = round % 2 === 0 ? b : a
      const readers = Array.from({ length: 6 }, () => request({ method: 'GET', url: target, headers: auth, hashOnly: true }))
      const [write, ...reads] = await Promise.all([request({ method: 'PUT', url: target, headers: auth, body }), ...readers])
      assert.equal(write.status, 201, `round ${round}`)
      for (const r of reads) {
        assert.equal(r.status, 200)
        assert.ok(allowed.has(r.sha256), 'every download is one of the two uploads, never a mix')
        assert.equal(r.headers.etag, `"${r.sha256}"`)
        seen.add(r.sha256)
      }
      const after = await request({ method: 'GET', url: target, headers: auth })
      assert.equal(after.sha256, sha256Hex(body), 'after the 201 the new bytes are served')
    }
    const v = await services.packages.getVersion({ ownerId: (await services.users.findOwner('alice'))!.id, type: 'generic', name: 'app', version: '1.0-SNAPSHOT' })
    assert.equal((await services.packages.listFiles(v.id)).length, 1, 'still one file')
    // racing overwrites of one name: all succeed, the file ends as one of them
    const bodies = Array.from({ length: 8 }, (_, i) => Buffer.from(`racer ${i} `.repeat(500)))
    const results = await Promise.all(bodies.map((body) => request({ method: 'PUT', url: `${api}/2.0-SNAPSHOT/x.bin`, headers: auth, body })))
    assert.deepEqual(results.map((r) => r.status), Array<number>(8).fill(201))
    const final = await request({ method: 'GET', url: `${api}/2.0-SNAPSHOT/x.bin`, headers: auth })
    assert.ok(bodies.some((x) => sha256Hex(x) === final.sha256))
  })

  test(`[${db}] protected versions refuse overwrite, delete and cleanup until an owner lifts the protection`, async (t) => {
    const { url, services } = await startTestApp(t, { db })
    const alice = await makeUser(services, 'alice')
    const bob = await makeUser(services, 'bob')
    const acme = await makeOrg(services, 'acme', alice)
    await makeTeam(services, acme, 'publishers', 'write', [bob])
    const asAlice = basic('alice', PASSWORD)
    const asBob = basic('bob', PASSWORD)
    const api = `${url}/api/packages/acme/generic/lib`
    const settings = `${url}/api/v1/packages/acme/generic/lib/-/settings`
    for (const v of ['1.0', '1.1', '2.0']) {
      assert.equal((await request({ method: 'PUT', url: `${api}/${v}/lib.so`, headers: { authorization: asBob }, body: Buffer.from(v) })).status, 201)
    }
    // a writer may protect versions that were not protected…
    assert.equal((await call(settings, 'PUT', asBob, { overwrite: 'overwrite', overwrite_versions: '*', protected_versions: '1.*' })).status, 200)
    assert.equal((await request({ method: 'PUT', url: `${api}/1.0/lib.so`, headers: { authorization: asBob }, body: Buffer.from('new') })).status, 409)
    assert.equal((await request({ method: 'PUT', url: `${api}/2.0/lib.so`, headers: { authorization: asBob }, body: Buffer.from('new') })).status, 201, 'not protected: overwritten')
    assert.equal((await request({ method: 'PUT', url: `${api}/1.0/extra.txt`, headers: { authorization: asBob }, body: Buffer.from('notes') })).status, 201, 'adding a file is neither overwrite nor delete')
    assert.equal((await request({ method: 'DELETE', url: `${api}/1.0/lib.so`, headers: { authorization: asBob } })).status, 403)
    assert.equal((await request({ method: 'DELETE', url: `${api}/1.1`, headers: { authorization: asAlice } })).status, 403, 'not even an owner, before lifting it')
    assert.equal((await call(`${url}/api/v1/packages/acme/generic/lib/1.1`, 'DELETE', asAlice)).status, 403)
    // …and a cleanup rule that removes everything leaves them alone
    assert.equal((await call(`${url}/api/v1/packages/acme/-/cleanup-rules/generic`, 'PUT', asAlice, { enabled: true })).status, 200)
    const preview = await call(`${url}/api/v1/packages/acme/-/cleanup-rules/generic/preview`, 'GET', asAlice)
    assert.deepEqual(preview.body.map((c: { version: string }) => c.version), ['2.0'])
    const ran = await call(`${url}/api/v1/packages/acme/-/cleanup-rules/generic/run`, 'POST', asAlice)
    assert.deepEqual(ran.body.map((c: { version: string }) => c.version), ['2.0'])
    assert.equal((await request({ method: 'GET', url: `${api}/1.0/lib.so`, headers: { authorization: asAlice } })).body.toString(), '1.0')
    // only an organization owner or a site admin may lift a protection
    assert.equal((await call(settings, 'PUT', asBob, { protected_versions: '' })).status, 403)
    assert.equal((await call(settings, 'PUT', asBob, { protected_versions: '1.0' })).status, 403, 'narrowing is lifting too')
    assert.equal((await call(settings, 'PUT', asAlice, { protected_versions: '1.0' })).status, 200)
    assert.equal((await request({ method: 'DELETE', url: `${api}/1.1`, headers: { authorization: asBob } })).status, 204)
    assert.equal((await request({ method: 'DELETE', url: `${api}/1.0`, headers: { authorization: asBob } })).status, 403)
    // settings survive the package losing its last deletable version and need write access
    assert.equal((await call(settings, 'GET', asBob)).body.protected_versions, '1.0')
    await makeUser(services, 'carol')
    assert.equal((await call(settings, 'PUT', basic('carol', PASSWORD), { protected_versions: '' })).status, 403)
    assert.equal((await call(settings, 'PUT', undefined, { protected_versions: '' })).status, 401)
  })
}
