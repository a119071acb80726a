// /api/v1/packages over real HTTP: Gitea's shapes, paging headers, filters, delete, access answers.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Readable } from 'node:stream'
import { startTestApp, testMatrix } from '../helpers/test-app.js'
import { PASSWORD, basic, makeOrg, makeTeam, makeToken, makeUser, tokenAuth } from '../helpers/auth.js'
import { sha256Hex } from './generic-helpers.js'
import { spoolUpload } from '../../src/packages/upload.js'

interface PackageJson {
  id: number
  owner: { login: string; id: number }
  creator: { login: string }
  type: string
  name: string
  version: string
  html_url: string
  created_at: string
}

for (const { db, storage, label } of testMatrix()) {
  test(`[${label}] api/v1 packages: list, show, files, delete, paging and access`, async (t) => {
    const { url, services } = await startTestApp(t, { db, storage })
    const alice = await makeUser(services, 'alice', { visibility: 'private' })
    const bob = await makeUser(services, 'bob')
    await makeUser(services, 'carol')
    const acme = await makeOrg(services, 'acme', alice, 'public')
    await makeTeam(services, acme, 'readers', 'read', [bob])
    const asAlice = basic('alice', PASSWORD)
    const put = async (owner: string, path: string, body: string) => {
      const r = await fetch(`${url}/api/packages/${owner}/generic/${path}`, { method: 'PUT', headers: { authorization: asAlice }, body })
      assert.equal(r.status, 201, path)
    }
    await put('alice', 'Tool/1.0/a.bin', 'a')
    await put('alice', 'Tool/1.0/b.bin', 'bb')
    await put('alice', 'tool/2.0/a.bin', 'a2')
    await put('alice', 'other/1.0/x.bin', 'x')
    await put('acme', 'shared/1.0/s.bin', 's')
    // a Go module path: the name holds slashes and travels as one percent-encoded segment
    await services.packages.createVersionWithFile({
      ownerId: alice.id, type: 'go', name: 'example.com/a/b', version: 'v1.0.0', file: 'v1.0.0.zip',
      creatorId: alice.id, body: Readable.from([Buffer.from('zip')]), isLead: true,
    })
    // an upload the caller spooled and inspected itself is stored without reading it again
    const spooled = await spoolUpload(Readable.from([Buffer.from('pre-spooled')]), services.tmpDir)
    await services.packages.createVersionWithFile({
      ownerId: acme.id, type: 'generic', name: 'spooled', version: '1.0', file: 'p.bin', creatorId: alice.id, spooled,
    })
    const pre = await fetch(`${url}/api/packages/acme/generic/spooled/1.0/p.bin`)
    assert.equal(await pre.text(), 'pre-spooled')
    await assert.rejects(services.packages.createVersionWithFile({
      ownerId: acme.id, type: 'generic', name: 'spooled', version: '1.0', file: 'q.bin', creatorId: alice.id,
      body: Readable.from([Buffer.from('x')]),
    }), (err: unknown) => (err as { kind?: string }).kind === 'conflict', 'createVersionWithFile: the version exists')
    const api = `${url}/api/v1/packages`
    const get = (path: string, auth: string | null = asAlice) => fetch(`${api}/${path}`, { headers: auth !== null ? { authorization: auth } : {} })

    const all = await get('alice')
    assert.equal(all.status, 200)
    assert.equal(all.headers.get('x-total-count'), '4')
    const list = await all.json() as PackageJson[]
    assert.deepEqual(list.map((p) => `${p.type}:${p.name}@${p.version}`),
      ['go:example.com/a/b@v1.0.0', 'generic:other@1.0', 'generic:Tool@2.0', 'generic:Tool@1.0'], 'newest first, names as first uploaded')
    const one = list[2]!
    assert.deepEqual(Object.keys(one).sort(), ['created_at', 'creator', 'html_url', 'id', 'name', 'owner', 'type', 'version'])
    assert.equal(one.owner.login, 'alice')
    assert.equal(one.creator.login, 'alice')
    assert.equal(one.html_url, `${url}/alice/-/packages/generic/Tool/2.0`)
    assert.ok(!Number.isNaN(Date.parse(one.created_at)))

    const generic = await get('alice?type=generic&q=TOO')
    assert.equal(generic.headers.get('x-total-count'), '2')
    assert.deepEqual((await generic.json() as PackageJson[]).map((p) => p.version), ['2.0', '1.0'])
    assert.equal((await (await get('alice?q=%25')).json() as unknown[]).length, 0, 'LIKE wildcards in q are literal')

    const page1 = await get('alice?limit=3')
    assert.equal((await page1.json() as unknown[]).length, 3)
    const link1 = page1.headers.get('link') ?? ''
    assert.match(link1, /page=2&limit=3>; rel="next"/)
    assert.match(link1, /rel="last"/)
    const page2 = await get('alice?limit=3&page=2')
    assert.deepEqual((await page2.json() as PackageJson[]).map((p) => p.version), ['1.0'])
    assert.match(page2.headers.get('link') ?? '', /rel="prev"/)
    assert.match((await get('alice?limit=1000&page=1&type=generic')).headers.get('x-total-count') ?? '', /^3$/)
    const capped = await get('alice?limit=1000')
    assert.equal((await capped.json() as unknown[]).length, 4)

    const show = await get('alice/generic/tool/1.0')
    assert.equal(show.status, 200)
    assert.equal((await show.json() as PackageJson).name, 'Tool')
    const goShow = await get('alice/go/example.com%2Fa%2Fb/v1.0.0')
    assert.equal(goShow.status, 200)
    assert.equal((await goShow.json() as PackageJson).name, 'example.com/a/b')
    assert.equal((await get('alice/generic/tool/9.9')).status, 404)
    assert.equal((await get('alice/nosuchtype/tool/1.0')).status, 404)

    const files = await get('alice/generic/Tool/1.0/files')
    assert.equal(files.status, 200)
    const fileList = await files.json() as Array<Record<string, unknown>>
    assert.deepEqual(fileList.map((f) => [f.name, f.Size, f.sha256]), [['a.bin', 1, sha256Hex('a')], ['b.bin', 2, sha256Hex('bb')]])
    assert.deepEqual(Object.keys(fileList[0]!).sort(), ['Size', 'id', 'md5', 'name', 'sha1', 'sha256', 'sha512'])

    // access: anonymous 401, another user of a private owner 404, reader 403 on delete, scopes 403
    const anon = await get('alice', null)
    assert.equal(anon.status, 401)
    assert.match(anon.headers.get('content-type') ?? '', /json/)
    assert.equal((await get('acme', null)).status, 401, '/api/v1 always needs a signed-in user')
    assert.equal((await get('alice', basic('carol', PASSWORD))).status, 404)
    assert.equal((await get('alice/generic/tool/1.0', basic('carol', PASSWORD))).status, 404)
    assert.equal((await get('nobody', basic('carol', PASSWORD))).status, 404)
    assert.equal((await get('acme', basic('carol', PASSWORD))).status, 200, 'a public org is readable')
    assert.equal((await get('acme', basic('bob', PASSWORD))).status, 200)
    const del = (path: string, auth: string) => fetch(`${api}/${path}`, { method: 'DELETE', headers: { authorization: auth } })
    assert.equal((await del('acme/generic/shared/1.0', basic('bob', PASSWORD))).status, 403)
    assert.equal((await del('acme/generic/shared/1.0', basic('carol', PASSWORD))).status, 403)
    const userScope = await makeToken(services, alice, ['read:user'])
    const readScope = await makeToken(services, alice, ['read:package'])
    assert.equal((await get('alice', tokenAuth(userScope))).status, 403)
    assert.equal((await get('alice', tokenAuth(readScope))).status, 200)
    assert.equal((await del('alice/generic/tool/1.0', tokenAuth(readScope))).status, 403)

    assert.equal((await del('alice/generic/TOOL/1.0', asAlice)).status, 204)
    assert.equal((await get('alice/generic/tool/1.0')).status, 404)
    assert.equal((await get('alice/generic/tool/1.0/files')).status, 404)
    assert.equal((await fetch(`${url}/api/packages/alice/generic/tool/1.0/a.bin`, { headers: { authorization: asAlice } })).status, 404)
    assert.equal((await del('alice/generic/tool/1.0', asAlice)).status, 404)
    assert.equal((await get('alice')).headers.get('x-total-count'), '3')
    assert.equal((await del('acme/generic/shared/1.0', asAlice)).status, 204, 'an org owner may delete')
    assert.equal((await get('acme')).headers.get('x-total-count'), '1')
  })
}
