// Generic registry over real HTTP: round trips, download headers, ranges, conditionals, status codes.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { startTestApp, testMatrix, blobInventory } from '../helpers/test-app.js'
import { PASSWORD, basic, makeUser } from '../helpers/auth.js'
import { request, seededStream, sha256Hex, sha256Of } from './generic-helpers.js'

const MiB = 1 << 20

for (const { db, storage, label } of testMatrix()) {
  test(`[${label}] generic: round trips keep every byte (empty, 1 B, 1 MiB, 100 MiB; with and without Content-Length)`, async (t) => {
    const { url, services } = await startTestApp(t, { db, storage })
    await makeUser(services, 'alice')
    const auth = { authorization: basic('alice', PASSWORD) }
    const base = `${url}/api/packages/alice/generic/tool/1.0.0`

    const small: Array<[string, Buffer]> = [['empty.bin', Buffer.alloc(0)], ['one.bin', Buffer.from([0x42])]]
    for (const [name, data] of small) {
      const put = await request({ method: 'PUT', url: `${base}/${name}`, headers: auth, body: data })
      assert.equal(put.status, 201, put.body.toString())
      const get = await request({ method: 'GET', url: `${base}/${name}` })
      assert.equal(get.status, 200)
      assert.equal(get.sha256, sha256Hex(data))
      assert.equal(get.headers['content-length'], String(data.length))
      assert.equal(get.headers['x-checksum-sha256'], sha256Hex(data))
    }

    const cases: Array<{ name: string; seed: number; size: number; chunked: boolean }> = [
      { name: 'mib.bin', seed: 1, size: MiB, chunked: false },
      { name: 'mib-chunked.bin', seed: 2, size: MiB, chunked: true },
      { name: 'big.bin', seed: 3, size: 100 * MiB + 7, chunked: false },
      { name: 'big-chunked.bin', seed: 4, size: 100 * MiB + 1, chunked: true },
    ]
    for (const c of cases) {
      const expected = await sha256Of(seededStream(c.seed, c.size))
      const headers: Record<string, string> = { ...auth, 'content-type': 'application/json' }
      if (!c.chunked) headers['content-length'] = String(c.size)
      const put = await request({ method: 'PUT', url: `${base}/${c.name}`, headers, body: () => seededStream(c.seed, c.size) })
      assert.equal(put.status, 201, `${c.name}: ${put.body.toString()}`)
      const get = await request({ method: 'GET', url: `${base}/${c.name}`, hashOnly: true })
      assert.equal(get.status, 200)
      assert.equal(get.sha256, expected, c.name)
      assert.equal(get.headers['x-checksum-sha256'], expected)
      assert.equal(get.headers['content-length'], String(c.size))
    }
  })

  test(`[${label}] generic: download headers, HEAD, ranges, conditional requests, download count`, async (t) => {
    const { url, services } = await startTestApp(t, { db, storage })
    const alice = await makeUser(services, 'alice')
    const auth = { authorization: basic('alice', PASSWORD) }
    const data = Buffer.from('0123456789abcdef')
    const fileUrl = `${url}/api/packages/alice/generic/tool/1.0.0/my%20file%20(1).bin`
    assert.equal((await request({ method: 'PUT', url: fileUrl, headers: auth, body: data })).status, 201)

    const get = await request({ method: 'GET', url: fileUrl })
    assert.equal(get.status, 200)
    assert.deepEqual(get.body, data)
    const h = get.headers
    assert.equal(h['content-type'], 'application/octet-stream')
    assert.equal(h['x-content-type-options'], 'nosniff')
    assert.equal(h['accept-ranges'], 'bytes')
    assert.equal(h['content-length'], '16')
    assert.equal(h['content-disposition'], `attachment; filename="my file (1).bin"; filename*=UTF-8''my%20file%20%281%29.bin`)
    assert.equal(h.etag, `"${sha256Hex(data)}"`)
    assert.equal(h['cache-control'], 'private, max-age=300')
    assert.ok(!Number.isNaN(Date.parse(String(h['last-modified']))))
    assert.equal(h['x-checksum-md5'], '4032af8d61035123906e58e067140cc5')
    assert.match(String(h['x-checksum-sha1']), /^[0-9a-f]{40}$/)
    assert.match(String(h['x-checksum-sha512']), /^[0-9a-f]{128}$/)

    const head = await request({ method: 'HEAD', url: fileUrl })
    assert.equal(head.status, 200)
    assert.equal(head.body.length, 0)
    assert.equal(head.headers['content-length'], '16')
    assert.equal(head.headers.etag, h.etag)

    const part = await request({ method: 'GET', url: fileUrl, headers: { range: 'bytes=2-5' } })
    assert.equal(part.status, 206)
    assert.equal(part.body.toString(), '2345')
    assert.equal(part.headers['content-range'], 'bytes 2-5/16')
    assert.equal(part.headers['content-length'], '4')
    const open = await request({ method: 'GET', url: fileUrl, headers: { range: 'bytes=10-' } })
    assert.equal(open.status, 206)
    assert.equal(open.body.toString(), 'abcdef')
    const suffix = await request({ method: 'GET', url: fileUrl, headers: { range: 'bytes=-3' } })
    assert.equal(suffix.status, 206)
    assert.equal(suffix.body.toString(), 'def')
    const beyond = await request({ method: 'GET', url: fileUrl, headers: { range: 'bytes=16-20' } })
    assert.equal(beyond.status, 416)
    assert.equal(beyond.headers['content-range'], 'bytes */16')
    const several = await request({ method: 'GET', url: fileUrl, headers: { range: 'bytes=0-1,4-5' } })
    assert.equal(several.status, 200, 'several ranges: the whole file')
    assert.equal((await request({ method: 'GET', url: fileUrl, headers: { range: 'bytes=5-2' } })).status, 200, 'a malformed range is ignored')
    const headRange = await request({ method: 'HEAD', url: fileUrl, headers: { range: 'bytes=0-3' } })
    assert.equal(headRange.status, 206)
    assert.equal(headRange.headers['content-length'], '4')
    assert.equal(headRange.body.length, 0)
    const matching = await request({ method: 'GET', url: fileUrl, headers: { range: 'bytes=0-1', 'if-range': String(h.etag) } })
    assert.equal(matching.status, 206)
    const stale = await request({ method: 'GET', url: fileUrl, headers: { range: 'bytes=0-1', 'if-range': '"nope"' } })
    assert.equal(stale.status, 200)
    assert.deepEqual(stale.body, data)

    const inm = await request({ method: 'GET', url: fileUrl, headers: { 'if-none-match': String(h.etag) } })
    assert.equal(inm.status, 304)
    assert.equal(inm.body.length, 0)
    const inmOther = await request({ method: 'GET', url: fileUrl, headers: { 'if-none-match': '"other"' } })
    assert.equal(inmOther.status, 200)
    const ims = await request({ method: 'GET', url: fileUrl, headers: { 'if-modified-since': new Date(Date.now() + 60_000).toUTCString() } })
    assert.equal(ims.status, 304)
    const imsOld = await request({ method: 'GET', url: fileUrl, headers: { 'if-modified-since': new Date(0).toUTCString() } })
    assert.equal(imsOld.status, 200)

    // whole GETs so far: get, several, malformed range, stale (If-Range failed → whole file), inmOther, imsOld
    await services.packages.downloads.flush()
    const v = await services.packages.getVersion({ ownerId: alice.id, type: 'generic', name: 'tool', version: '1.0.0' })
    assert.equal(v.downloadCount, 6)

    const emptyUrl = `${url}/api/packages/alice/generic/tool/1.0.0/empty.bin`
    assert.equal((await request({ method: 'PUT', url: emptyUrl, headers: auth })).status, 201, 'no body at all is an empty file')
    const emptyRange = await request({ method: 'GET', url: emptyUrl, headers: { range: 'bytes=0-' } })
    assert.equal(emptyRange.status, 416)
    assert.equal(emptyRange.headers['content-range'], 'bytes */0')
    const emptyGet = await request({ method: 'GET', url: emptyUrl })
    assert.equal(emptyGet.status, 200)
    assert.equal(emptyGet.headers['content-length'], '0')
  })

  test(`[${label}] generic: status codes of the Generic table`, async (t) => {
    const { url, services } = await startTestApp(t, { db, storage })
    await makeUser(services, 'alice')
    const auth = { authorization: basic('alice', PASSWORD) }
    const api = `${url}/api/packages/alice/generic`
    const put = (path: string, body = Buffer.from('x'), headers = auth) => request({ method: 'PUT', url: `${api}/${path}`, headers, body })

    assert.equal((await put('tool/1.0/a.bin')).status, 201)
    for (const bad of ['to%20ol/1.0/a.bin', '_/1.0/a.bin', '../1.0/a.bin', 'tool/%201.0/a.bin', 'tool/1.0%0A/a.bin', 'tool/1.0/a%2Fb.bin', 'tool/1.0/..', 'tool/1.0/%20a.bin', 'tool/1.0/a%3Fb']) {
      const r = await put(bad)
      assert.equal(r.status, 400, bad)
      assert.match(String(r.headers['content-type']), /^text\/plain/)
    }
    const dup = await put('tool/1.0/a.bin')
    assert.equal(dup.status, 409)
    assert.match(String(dup.headers['content-type']), /^text\/plain/)
    assert.equal((await put('TOOL/1.0/A.BIN')).status, 409, 'names match case-insensitively')
    assert.equal((await put('tool/1.0%2Fbeta/a.bin')).status, 201, 'a percent-encoded / in a version is kept')
    assert.equal((await request({ method: 'GET', url: `${api}/tool/1.0%2Fbeta/a.bin` })).status, 200)

    assert.equal((await request({ method: 'GET', url: `${api}/tool/1.0/missing.bin` })).status, 404)
    assert.equal((await request({ method: 'GET', url: `${api}/tool/9.9/a.bin` })).status, 404)
    assert.equal((await request({ method: 'GET', url: `${url}/api/packages/nobody/generic/tool/1.0/a.bin` })).status, 404)

    assert.equal((await put('tool/1.0/b.bin')).status, 201)
    assert.equal((await request({ method: 'DELETE', url: `${api}/tool/1.0/a.bin`, headers: auth })).status, 204)
    assert.equal((await request({ method: 'DELETE', url: `${api}/tool/1.0/a.bin`, headers: auth })).status, 404)
    assert.equal((await request({ method: 'GET', url: `${api}/tool/1.0/b.bin` })).status, 200)
    assert.equal((await request({ method: 'DELETE', url: `${api}/tool/1.0/b.bin`, headers: auth })).status, 204)
    assert.equal(await services.packages.countVersions((await services.users.findOwner('alice'))!.id, { q: 'tool' }), 1,
      'the version went with its last file; 1.0/beta remains')

    assert.equal((await put('tool/2.0/a.bin')).status, 201)
    assert.equal((await put('tool/2.0/b.bin')).status, 201)
    assert.equal((await request({ method: 'DELETE', url: `${api}/tool/2.0`, headers: auth })).status, 204)
    assert.equal((await request({ method: 'GET', url: `${api}/tool/2.0/b.bin` })).status, 404)
    assert.equal((await request({ method: 'DELETE', url: `${api}/tool/2.0`, headers: auth })).status, 404)

    const anon = await request({ method: 'PUT', url: `${api}/tool/3.0/a.bin`, body: Buffer.from('x') })
    assert.equal(anon.status, 401)
    assert.equal(anon.headers['www-authenticate'], 'Basic realm="Wharf"')
    const wrong = await request({ method: 'GET', url: `${api}/tool/1.0%2Fbeta/a.bin`, headers: { authorization: basic('alice', 'wrong') } })
    assert.equal(wrong.status, 401)
  })

  test(`[${label}] generic: size limit, checksum mismatch and duplicates store nothing; identical content is stored once`, async (t) => {
    const app = await startTestApp(t, { db, storage, env: { WHARF_LIMIT_SIZE_GENERIC: '1KiB' } })
    const { url, services, dataDir } = app
    await makeUser(services, 'alice')
    const auth = { authorization: basic('alice', PASSWORD) }
    const api = `${url}/api/packages/alice/generic/tool/1.0`
    const { listFiles } = await import('./generic-helpers.js')
    const stored = async () => ({
      // on S3: the objects under the test's prefix, and multipart uploads not completed
      ...await blobInventory(app).then((i) => ({ blobs: i.keys, blobTmp: i.partial })),
      spool: await listFiles(`${dataDir}/tmp`),
      files: Number((await services.db.selectFrom('package_file').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n),
      blobRows: Number((await services.db.selectFrom('package_blob').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n),
      versions: Number((await services.db.selectFrom('package_version').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n),
    })
    const nothing = { blobs: [], blobTmp: [], spool: [], files: 0, blobRows: 0, versions: 0 }

    const declared = await request({ method: 'PUT', url: `${api}/big.bin`, headers: auth, body: Buffer.alloc(1025) })
    assert.equal(declared.status, 413)
    const streamed = await request({ method: 'PUT', url: `${api}/big.bin`, headers: auth, body: () => seededStream(5, 64 * 1024) })
    assert.equal(streamed.status, 413, 'a chunked upload is cut off past the limit')
    assert.deepEqual(await stored(), nothing)

    const data = Buffer.from('checked content')
    const bad = await request({ method: 'PUT', url: `${api}/sum.bin`, headers: { ...auth, 'x-checksum-sha256': sha256Hex('other') }, body: data })
    assert.equal(bad.status, 400)
    const badMd5 = await request({ method: 'PUT', url: `${api}/sum.bin`, headers: { ...auth, 'x-checksum-md5': 'a'.repeat(32) }, body: data })
    assert.equal(badMd5.status, 400)
    assert.deepEqual(await stored(), nothing)

    const ok = await request({ method: 'PUT', url: `${api}/sum.bin`, headers: { ...auth, 'x-checksum-sha256': sha256Hex(data).toUpperCase() }, body: data })
    assert.equal(ok.status, 201)
    assert.equal((await request({ method: 'PUT', url: `${api}/1024.bin`, headers: auth, body: Buffer.alloc(1024) })).status, 201, 'exactly the limit is fine')

    const twin = await request({ method: 'PUT', url: `${url}/api/packages/alice/generic/other/2.0/twin.bin`, headers: auth, body: data })
    assert.equal(twin.status, 201)
    const after = await stored()
    assert.equal(after.blobs.length, 2, 'two files with the same bytes share one blob')
    assert.equal(after.blobRows, 2)
    assert.equal(after.files, 3)
    assert.deepEqual(after.spool, [])
  })
}
