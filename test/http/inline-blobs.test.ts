// Small blobs kept in the database (src/storage/blobs/inline-blob-store.ts): where the bytes of an
// upload go by size, that they come back the same in every way a client reads them, that
// WHARF_STORAGE_SERVE_DIRECT sends them from Wharf (no URL or file could), that the GC collects them,
// and the BlobStore contract over them on every database and store.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { buffer as readAll } from 'node:stream/consumers'
import { startTestApp, testMatrix, testDatabases, blobInventory } from '../helpers/test-app.js'
import { s3Skip } from '../helpers/s3.js'
import { PASSWORD, basic, makeUser } from '../helpers/auth.js'
import { request, sha256Hex } from './generic-helpers.js'
import { blobStoreContract } from '../../src/storage/blobs/blob-store.contract.js'
import { InlineBlobStore, storeBehind } from '../../src/storage/blobs/inline-blob-store.js'
import { blobKey } from '../../src/storage/blobs/blob-store.js'
import { gcBlobs } from '../../src/jobs/gc-blobs.js'
import { loadConfig } from '../../src/config/config.js'

const inlineKeys = async (app: { services: { db: import('kysely').Kysely<import('../../src/storage/db/schema.js').Database> } }) =>
  (await app.services.db.selectFrom('blob_inline').select('key').orderBy('key').execute()).map((r) => r.key)

for (const { db, storage, label } of testMatrix()) {
  describe(`[${label}] inline blobs`, () => {
    blobStoreContract(`inline over ${label}`, async (t) => (await startTestApp(t, { db, storage })).services.blobs)

    test(`[${label}] a small upload lives in the database, a large one in the store; both come back whole`, async (t) => {
      const app = await startTestApp(t, { db, storage })
      await makeUser(app.services, 'alice')
      const auth = { authorization: basic('alice', PASSWORD) }
      const api = `${app.url}/api/packages/alice/generic/tool/1.0`
      const small = randomBytes(4096)
      const edge = randomBytes(64 * 1024) // WHARF_STORAGE_INLINE_MAX's default: still inline
      const large = randomBytes(64 * 1024 + 1)
      for (const [name, body] of [['small.bin', small], ['edge.bin', edge], ['large.bin', large]] as const) {
        assert.equal((await request({ method: 'PUT', url: `${api}/${name}`, headers: auth, body })).status, 201, name)
      }
      // The same bytes under another name: one blob, still one row.
      assert.equal((await request({ method: 'PUT', url: `${api}/again.bin`, headers: auth, body: small })).status, 201)
      assert.deepEqual(await inlineKeys(app), [sha256Hex(small), sha256Hex(edge)].sort())
      const behind = storeBehind(app.services.blobs)
      assert.equal(await behind.stat(blobKey(sha256Hex(small))), undefined, 'no file or object for a small blob')
      assert.equal((await behind.stat(blobKey(sha256Hex(large))))?.size, large.length, 'the large one is in the store')

      for (const [name, body] of [['small.bin', small], ['again.bin', small], ['edge.bin', edge], ['large.bin', large]] as const) {
        const got = await request({ method: 'GET', url: `${api}/${name}` })
        assert.equal(got.status, 200, name)
        assert.equal(got.sha256, sha256Hex(body), name)
        assert.equal(got.headers['x-checksum-sha256'], sha256Hex(body))
      }
      const part = await fetch(`${api}/small.bin`, { headers: { range: 'bytes=100-199' } })
      assert.equal(part.status, 206)
      assert.ok(Buffer.from(await part.arrayBuffer()).equals(small.subarray(100, 200)))
      // Read straight from the store (not through the small-blob cache of downloads).
      assert.ok((await readAll(await app.services.blobs.open(blobKey(sha256Hex(edge))))).equals(edge))
      assert.equal((await blobInventory(app)).keys.length, 3)
    })

    test(`[${label}] WHARF_STORAGE_INLINE_MAX=0 keeps new blobs in the store, and blobs kept inline before stay readable`, async (t) => {
      const app = await startTestApp(t, { db, storage, env: { WHARF_STORAGE_INLINE_MAX: '0' } })
      await makeUser(app.services, 'alice')
      const auth = { authorization: basic('alice', PASSWORD) }
      const body = randomBytes(100)
      assert.equal((await request({ method: 'PUT', url: `${app.url}/api/packages/alice/generic/t/1/a.bin`, headers: auth, body })).status, 201)
      assert.deepEqual(await inlineKeys(app), [])
      assert.equal((await storeBehind(app.services.blobs).stat(blobKey(sha256Hex(body))))?.size, 100)
      // A blob an earlier setting put inline is found by a store that puts nothing inline.
      const earlier = new InlineBlobStore(app.services.db, storeBehind(app.services.blobs), 1024)
      const old = randomBytes(500)
      assert.equal(await earlier.putBytes(blobKey(sha256Hex(old)), old), false)
      assert.ok((await readAll(await app.services.blobs.open(blobKey(sha256Hex(old))))).equals(old))
      assert.equal(await app.services.blobs.isInline?.(blobKey(sha256Hex(old)), old.length), true)
    })

    test(`[${label}] the GC removes orphaned inline blobs past the grace period and keeps used and young ones`, async (t) => {
      const app = await startTestApp(t, { db, storage })
      await makeUser(app.services, 'alice')
      const auth = { authorization: basic('alice', PASSWORD) }
      const api = `${app.url}/api/packages/alice/generic/gc`
      const orphan = randomBytes(300)
      const used = randomBytes(300)
      assert.equal((await request({ method: 'PUT', url: `${api}/1.0/o.bin`, headers: auth, body: orphan })).status, 201)
      assert.equal((await request({ method: 'PUT', url: `${api}/2.0/u.bin`, headers: auth, body: used })).status, 201)
      assert.equal((await request({ method: 'DELETE', url: `${api}/1.0`, headers: auth })).status, 204)
      const deps = { db: app.services.db, flavor: app.services.flavor, blobs: app.services.blobs, tmpDir: app.services.tmpDir }
      // Young: kept.
      assert.equal((await gcBlobs({ ...deps, graceMs: 60_000 })).blobFiles, 0)
      assert.equal((await inlineKeys(app)).length, 2)
      await new Promise((r) => setTimeout(r, 1100)) // rows keep whole seconds
      const r = await gcBlobs({ ...deps, graceMs: 0 })
      assert.equal(r.blobRows, 1)
      assert.equal(r.blobFiles, 1)
      assert.deepEqual(await inlineKeys(app), [sha256Hex(used)])
      assert.equal((await request({ method: 'GET', url: `${api}/2.0/u.bin` })).sha256, sha256Hex(used))
      // The orphan's bytes uploaded again: stored again, readable.
      assert.equal((await request({ method: 'PUT', url: `${api}/3.0/o.bin`, headers: auth, body: orphan })).status, 201)
      assert.equal((await request({ method: 'GET', url: `${api}/3.0/o.bin` })).sha256, sha256Hex(orphan))
    })
  })
}

for (const db of testDatabases()) {
  test(`[${db}] x-accel: an inline blob is sent by Wharf, a blob in the folder by nginx`, async (t) => {
    const app = await startTestApp(t, { db, env: { WHARF_STORAGE_SERVE_DIRECT: 'x-accel' } })
    const { api, small } = await smallAndLarge(app)
    const s = await request({ method: 'GET', url: `${api}/s.bin` })
    assert.equal(s.status, 200)
    assert.equal(s.headers['x-accel-redirect'], undefined)
    assert.equal(s.sha256, sha256Hex(small))
    const l = await request({ method: 'GET', url: `${api}/l.bin` })
    assert.match(String(l.headers['x-accel-redirect']), /^\/_wharf_blobs\/[0-9a-f]{2}\/[0-9a-f]{2}\/[0-9a-f]{64}$/)
  })

  test(`[${db}+s3] serve direct: an inline blob is answered 200 with its bytes, a blob in S3 with a 307`, { skip: s3Skip() }, async (t) => {
    const app = await startTestApp(t, { db, storage: 's3', env: { WHARF_STORAGE_SERVE_DIRECT: 'true' } })
    const { api, small } = await smallAndLarge(app)
    const s = await fetch(`${api}/s.bin`, { redirect: 'manual' })
    assert.equal(s.status, 200)
    assert.equal(sha256Hex(Buffer.from(await s.arrayBuffer())), sha256Hex(small))
    assert.equal((await fetch(`${api}/l.bin`, { redirect: 'manual' })).status, 307)
  })
}

test('WHARF_STORAGE_INLINE_MAX: a size up to 256KiB, 64KiB by default', () => {
  assert.equal(loadConfig({}).storageInlineMax, 65536)
  assert.equal(loadConfig({ WHARF_STORAGE_INLINE_MAX: '0' }).storageInlineMax, 0)
  assert.equal(loadConfig({ WHARF_STORAGE_INLINE_MAX: '16KiB' }).storageInlineMax, 16384)
  assert.throws(() => loadConfig({ WHARF_STORAGE_INLINE_MAX: '1MiB' }), /WHARF_STORAGE_INLINE_MAX.*256KiB/)
  assert.throws(() => loadConfig({ WHARF_STORAGE_INLINE_MAX: 'lots' }), /WHARF_STORAGE_INLINE_MAX/)
})

/** A 1,000-byte file (inline) and a 200,000-byte one (in the store) uploaded to alice's tool 1.0. */
async function smallAndLarge(app: Awaited<ReturnType<typeof startTestApp>>): Promise<{ api: string; small: Buffer; large: Buffer }> {
  await makeUser(app.services, 'alice')
  const auth = { authorization: basic('alice', PASSWORD) }
  const api = `${app.url}/api/packages/alice/generic/tool/1.0`
  const small = randomBytes(1000)
  const large = randomBytes(200_000)
  assert.equal((await request({ method: 'PUT', url: `${api}/s.bin`, headers: auth, body: small })).status, 201)
  assert.equal((await request({ method: 'PUT', url: `${api}/l.bin`, headers: auth, body: large })).status, 201)
  return { api, small, large }
}
