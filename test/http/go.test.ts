// Go registry over real HTTP: uploads (valid, duplicate, broken zips, size limit) and the GOPROXY
// reads (list order, .info/.mod/.zip bytes, @latest rules, case escapes, HEAD/Range, sumdb).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Readable } from 'node:stream'
import { startTestApp, testMatrix } from '../helpers/test-app.js'
import { PASSWORD, basic, makeUser } from '../helpers/auth.js'
import { request, sha256Hex } from './generic-helpers.js'
import { goClient, moduleZip, zerosZip, zipOf } from './go-helpers.js'

const MiB = 1 << 20
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/
const P = 'example.com/m@v1.0.0/'

/** A stored zip whose first file's data has one byte flipped: its CRC-32 no longer matches. */
async function badCrcZip(): Promise<Buffer> {
  const zip = await zipOf([[`${P}go.mod`, 'module example.com/m\n'], [`${P}a.go`, 'package m\n']], { compress: false })
  const at = zip.indexOf('module example.com/m')
  zip[at] = 'M'.charCodeAt(0)
  return zip
}

// Built once, shared by both databases: deflating 501 MiB of zeros takes a few seconds.
let bomb: Promise<Buffer> | undefined
const zipBomb = () => (bomb ??= zerosZip(`${P}data.bin`, 501 * MiB))

const BROKEN: Array<[string, () => Promise<Buffer>, RegExp]> = [
  ['not a zip at all', async () => Buffer.from('this is not a zip file\n'), /not a valid zip file/],
  ['an empty body', async () => Buffer.alloc(0), /not a valid zip file|empty/],
  ['a zip without entries', () => zipOf([]), /the zip file is empty/],
  ['only directories', () => zipOf([[P], [`${P}sub/`]]), /holds no files/],
  ['two prefixes', () => zipOf([[`${P}a.go`, 'x'], ['example.com/n@v1.0.0/b.go', 'x']]), /must all start with example\.com\/m@v1\.0\.0\//],
  ['no {module}@{version}/ prefix', () => zipOf([['a.go', 'x']]), /must all start with \{module\}@\{version\}\//],
  ['a module path without a dot', () => zipOf([['example/m@v1.0.0/a.go', 'x']]), /malformed module path "example\/m": missing dot/],
  ['a non-canonical version', () => zipOf([['example.com/m@v1.0/a.go', 'x']]), /not canonical \(should be v1\.0\.0\)/],
  ['a version disagreeing with /v2', () => zipOf([['example.com/m/v2@v1.0.0/a.go', 'x']]), /should be v2, not v1/],
  ['+incompatible on a /v2 path', () => zipOf([['example.com/m/v2@v2.0.0+incompatible/a.go', 'x']]), /incompatible/],
  ['an invalid file name', () => zipOf([[`${P}a:b.go`, 'x']]), /malformed file path "a:b\.go": invalid char ':'/],
  ['an unclean file path', () => zipOf([[`${P}x//y.go`, 'x']]), /file path is not clean/],
  ['paths equal when case-folded', () => zipOf([[`${P}a.go`, 'x'], [`${P}A.go`, 'y']]), /case-insensitive file name collision/],
  ['a file in a vendored package', () => zipOf([[`${P}vendor/x/y.go`, 'x']]), /vendored package/],
  ['a nested module', () => zipOf([[`${P}a.go`, 'x'], [`${P}sub/go.mod`, 'module example.com/m/sub\n']]), /not in module root/],
  ['go.mod for another module', () => zipOf([[`${P}go.mod`, 'module example.com/other\n']]), /declares module "example\.com\/other"/],
  ['go.mod without a module directive', () => zipOf([[`${P}go.mod`, 'go 1.19\n']]), /no module directive/],
  ['go.mod over 16 MiB', () => zerosZip(`${P}go.mod`, 16 * MiB + 1), /go\.mod file too large/],
  ['LICENSE over 16 MiB', () => zerosZip(`${P}LICENSE`, 16 * MiB + 1), /LICENSE file too large/],
  ['a zip bomb (501 MiB of zeros)', zipBomb, /total uncompressed size of module contents too large/],
  ['file data failing its CRC-32', badCrcZip, /CRC-32/],
]

for (const { db, storage, label } of testMatrix()) {
  test(`[${label}] go: upload, list in semver order, .info/.mod/.zip bytes, duplicates`, async (t) => {
    const { url, services } = await startTestApp(t, { db, storage })
    await makeUser(services, 'alice')
    const auth = basic('alice', PASSWORD)
    const go = goClient(url, 'alice')
    const mod = 'example.com/m'
    // Uploaded out of order: the list is in semver order, not upload order (Gitea gets this wrong).
    const versions = ['v1.10.0', 'v1.2.0', 'v1.9.0-rc.1', 'v1.2.1-0.20200102030405-abcdefabcdef', 'v0.1.0']
    const zips = new Map<string, Buffer>()
    for (const v of versions) {
      const zip = await moduleZip(mod, v)
      zips.set(v, zip)
      const put = await go.upload(zip, auth)
      assert.equal(put.status, 201, `${v}: ${put.body.toString()}`)
    }
    const list = await go.get(`${mod}/@v/list`)
    assert.equal(list.status, 200)
    assert.match(String(list.headers['content-type']), /^text\/plain/)
    assert.equal(list.body.toString(), 'v0.1.0\nv1.2.0\nv1.9.0-rc.1\nv1.10.0\n')

    for (const v of versions) {
      const info = await go.get(`${mod}/@v/${v}.info`)
      assert.equal(info.status, 200)
      assert.match(String(info.headers['content-type']), /^application\/json/)
      const body = JSON.parse(info.body.toString()) as { Version: string; Time: string }
      assert.equal(body.Version, v)
      assert.match(body.Time, RFC3339)
      assert.ok(Math.abs(Date.parse(body.Time) - Date.now()) < 10 * 60_000, 'Time is the upload time')

      const gomod = await go.get(`${mod}/@v/${v}.mod`)
      assert.equal(gomod.status, 200)
      assert.match(String(gomod.headers['content-type']), /^text\/plain/)
      assert.equal(gomod.body.toString(), `module ${mod}\n\ngo 1.19\n`)

      const zip = await go.get(`${mod}/@v/${v}.zip`)
      assert.equal(zip.status, 200)
      assert.equal(zip.headers['content-type'], 'application/zip')
      assert.equal(zip.sha256, sha256Hex(zips.get(v)!))
      assert.equal(zip.headers['x-checksum-sha256'], sha256Hex(zips.get(v)!))
      assert.match(String(zip.headers['content-disposition']), new RegExp(`filename="${v}\\.zip"`))
    }

    // The same module version again, same or other bytes; and the module path in another case.
    assert.equal((await go.upload(zips.get('v1.2.0')!, auth)).status, 409)
    const other = await go.upload(await moduleZip(mod, 'v1.2.0', { extra: [[`${mod}@v1.2.0/more.go`, 'package lib\n']] }), auth)
    assert.equal(other.status, 409)
    assert.match(other.body.toString(), /already exists/)
    assert.equal((await go.upload(await moduleZip('example.com/M', 'v1.2.0'), auth)).status, 409)

    // Racing uploads of one version: exactly one wins, the others get 409, never a 5xx.
    const race = await Promise.all([1, 2, 3, 4].map(async (n) =>
      (await go.upload(await moduleZip(mod, 'v1.11.0', { extra: [[`${mod}@v1.11.0/n${n}.go`, 'package lib\n']] }), auth)).status))
    assert.deepEqual(race.sort(), [201, 409, 409, 409])

    // A zip without go.mod gets `module {path}`.
    assert.equal((await go.upload(await moduleZip('example.com/nomod', 'v1.0.0', { goMod: false }), auth)).status, 201)
    assert.equal((await go.get('example.com/nomod/@v/v1.0.0.mod')).body.toString(), 'module example.com/nomod\n')

    // Unknown module, unknown version, not a GOPROXY path, the checksum database.
    for (const p of ['example.com/none/@v/list', 'example.com/none/@latest', 'example.com/none/@v/v1.0.0.info',
      `${mod}/@v/v9.9.9.info`, `${mod}/@v/v9.9.9.mod`, `${mod}/@v/v9.9.9.zip`, `${mod}/@v/v1.2.0.tar`, 'example.com',
      `${mod}/@v/`, 'sumdb/sum.golang.org/supported', 'sumdb/sum.golang.org/lookup/example.com/m@v1.2.0']) {
      const r = await go.get(p)
      assert.equal(r.status, 404, p)
      assert.match(String(r.headers['content-type']), /^text\/plain/)
    }
  })

  test(`[${label}] go: @latest prefers a release, then a pre-release, then the newest pseudo-version`, async (t) => {
    const { url, services } = await startTestApp(t, { db, storage })
    await makeUser(services, 'alice')
    const auth = basic('alice', PASSWORD)
    const go = goClient(url, 'alice')
    const cases: Array<[string, string[], string, string]> = [
      // module, versions in upload order, @latest, @v/list
      ['example.com/rel', ['v1.0.0', 'v1.1.0', 'v2.0.0-beta.1+incompatible', 'v1.0.1', 'v1.2.0-rc.1', 'v1.1.1-0.20240101000000-abcdefabcdef'],
        'v1.1.0', 'v1.0.0\nv1.0.1\nv1.1.0\nv1.2.0-rc.1\nv2.0.0-beta.1+incompatible\n'],
      ['example.com/pre', ['v1.0.0-alpha', 'v1.0.0-beta', 'v0.0.0-20250101000000-abcdefabcdef', 'v1.0.0-alpha.2'],
        'v1.0.0-beta', 'v1.0.0-alpha\nv1.0.0-alpha.2\nv1.0.0-beta\n'],
      ['example.com/pseudo', ['v0.0.0-20240101000000-abcdefabcdef', 'v0.0.0-20250101000000-abcdefabcdef', 'v0.0.0-20230101000000-abcdefabcdef'],
        'v0.0.0-20250101000000-abcdefabcdef', ''],
    ]
    for (const [mod, versions, latest, list] of cases) {
      for (const v of versions) assert.equal((await go.upload(await moduleZip(mod, v), auth)).status, 201, `${mod}@${v}`)
      const r = await go.get(`${mod}/@latest`)
      assert.equal(r.status, 200, mod)
      assert.equal((JSON.parse(r.body.toString()) as { Version: string }).Version, latest, mod)
      const l = await go.get(`${mod}/@v/list`)
      assert.equal(l.status, 200)
      assert.equal(l.body.toString(), list, mod)
    }
  })

  test(`[${label}] go: capital letters via ! and %21 escapes; HEAD and Range on .zip; download count`, async (t) => {
    const { url, services } = await startTestApp(t, { db, storage })
    await makeUser(services, 'alice')
    const auth = basic('alice', PASSWORD)
    const go = goClient(url, 'alice')
    const mod = 'github.com/Azure/Go-Kit'
    const zip = await moduleZip(mod, 'v1.0.0-RC1')
    assert.equal((await go.upload(zip, auth)).status, 201)
    for (const escaped of ['github.com/!azure/!go-!kit', 'github.com/%21azure/%21go-%21kit', 'github.com/%21azure/!go-%21kit']) {
      const list = await go.get(`${escaped}/@v/list`)
      assert.equal(list.status, 200, escaped)
      assert.equal(list.body.toString(), 'v1.0.0-RC1\n')
      const info = await go.get(`${escaped}/@v/v1.0.0-!r!c1.info`)
      assert.equal(info.status, 200, escaped)
      assert.equal((JSON.parse(info.body.toString()) as { Version: string }).Version, 'v1.0.0-RC1')
      assert.equal((await go.get(`${escaped}/@v/v1.0.0-%21r%21c1.mod`)).body.toString(), `module ${mod}\n\ngo 1.19\n`)
      assert.equal((await go.get(`${escaped}/@v/v1.0.0-!r!c1.zip`)).sha256, sha256Hex(zip))
    }
    // A raw capital letter or a bad escape is no path the go command sends.
    assert.equal((await go.get('github.com/Azure/!go-!kit/@v/list')).status, 404)
    assert.equal((await go.get('github.com/!!azure/!go-!kit/@v/list')).status, 404)

    const zipPath = 'github.com/!azure/!go-!kit/@v/v1.0.0-!r!c1.zip'
    const head = await go.head(zipPath)
    assert.equal(head.status, 200)
    assert.equal(head.body.length, 0)
    assert.equal(head.headers['content-length'], String(zip.length))
    assert.equal(head.headers['content-type'], 'application/zip')
    assert.equal(head.headers['accept-ranges'], 'bytes')
    const part = await go.get(zipPath, undefined, { range: 'bytes=0-3' })
    assert.equal(part.status, 206)
    assert.deepEqual(part.body, zip.subarray(0, 4))
    assert.equal(part.headers['content-range'], `bytes 0-3/${zip.length}`)
    const tail = await go.get(zipPath, undefined, { range: `bytes=${zip.length - 10}-` })
    assert.deepEqual(tail.body, zip.subarray(zip.length - 10))
    const beyond = await go.get(zipPath, undefined, { range: `bytes=${zip.length}-` })
    assert.equal(beyond.status, 416)
    const etag = String(head.headers.etag)
    assert.equal((await go.get(zipPath, undefined, { 'if-none-match': etag })).status, 304)

    // One full GET in the loop above plus this one: HEAD, ranges and 304s do not count.
    await go.get(zipPath)
    await services.packages.downloads.flush()
    const alice = await services.users.findOwner('alice')
    const v = await services.packages.findVersion({ ownerId: alice!.id, type: 'go', name: mod.toLowerCase(), version: 'v1.0.0-rc1' })
    assert.equal(v?.downloadCount, 4)
    assert.equal(v?.name, mod, 'the module path is stored as uploaded')
  })

  test(`[${label}] go: broken module zips are refused with 400 naming the rule; nothing is stored`, async (t) => {
    const { url, services } = await startTestApp(t, { db, storage })
    await makeUser(services, 'alice')
    const auth = basic('alice', PASSWORD)
    const go = goClient(url, 'alice')
    for (const [what, make, message] of BROKEN) {
      const r = await go.upload(await make(), auth)
      assert.equal(r.status, 400, `${what}: ${r.status} ${r.body.toString()}`)
      assert.match(String(r.headers['content-type']), /^text\/plain/)
      assert.match(r.body.toString(), message, what)
    }
    assert.equal((await go.get('example.com/m/@v/list')).status, 404)
    const alice = await services.users.findOwner('alice')
    assert.equal(await services.packages.countVersions(alice!.id, { type: 'go' }), 0)
  })

  test(`[${label}] go: WHARF_LIMIT_SIZE_GO answers 413, before the body when Content-Length says so`, async (t) => {
    const { url, services } = await startTestApp(t, { db, storage, env: { WHARF_LIMIT_SIZE_GO: '64KiB' } })
    await makeUser(services, 'alice')
    const auth = basic('alice', PASSWORD)
    const go = goClient(url, 'alice')
    const small = await moduleZip('example.com/m', 'v1.0.0')
    assert.equal((await go.upload(small, auth)).status, 201)
    // Stored, so it does not compress: the zip itself is over the limit.
    const big = await zipOf([[`${P.replace('v1.0.0', 'v1.1.0')}data.bin`, Buffer.alloc(100 * 1024, 7)]], { compress: false })
    const r = await go.upload(big, auth)
    assert.equal(r.status, 413)
    assert.match(r.body.toString(), /larger than the limit of 65536 bytes/)

    const refused = await request({
      method: 'PUT', url: `${url}/api/packages/alice/go/upload`, expectContinue: true,
      headers: { authorization: auth, 'content-length': String(big.length) }, body: big,
    })
    assert.equal(refused.status, 413)
    assert.equal(refused.bodySent, false, 'refused before the body was sent')

    const chunked = await request({
      method: 'PUT', url: `${url}/api/packages/alice/go/upload`, headers: { authorization: auth },
      body: () => Readable.from([big]),
    })
    assert.equal(chunked.status, 413)
    assert.equal((await go.get('example.com/m/@v/list')).body.toString(), 'v1.0.0\n')
  })
}
