// Deleting versions, collecting their blobs, and download counts surviving a shutdown.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdir, rm, utimes, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { startTestApp, testMatrix, blobInventory } from '../helpers/test-app.js'
import { PASSWORD, basic, makeUser } from '../helpers/auth.js'
import { listFiles, request, sha256Hex } from './generic-helpers.js'
import { gcBlobs } from '../../src/jobs/gc-blobs.js'
import { loadConfig } from '../../src/config/config.js'
import { openServices } from '../../src/services.js'
import { diagnose } from '../../src/packages/doctor.js'
import { claimForDelete, claimForUse } from '../../src/storage/blobs/claims.js'
import { blobKey } from '../../src/storage/blobs/blob-store.js'
import { startTestUpstream } from '../helpers/go-upstream.js'
import { goClient } from './go-helpers.js'


for (const { db, storage, label } of testMatrix()) {
  test(`[${label}] generic: the GC removes the blobs of a deleted version, keeps shared ones and fresh ones`, async (t) => {
    const app = await startTestApp(t, { db, storage })
    const { url, services } = app
    await makeUser(services, 'alice')
    const auth = { authorization: basic('alice', PASSWORD) }
    const api = `${url}/api/packages/alice/generic/tool`
    const shared = Buffer.from('shared bytes')
    const own = Buffer.from('only in 1.0')
    for (const [path, body] of [['1.0/a.bin', shared], ['1.0/b.bin', own], ['2.0/a.bin', shared]] as const) {
      assert.equal((await request({ method: 'PUT', url: `${api}/${path}`, headers: auth, body })).status, 201)
    }
    assert.equal((await request({ method: 'DELETE', url: `${api}/1.0`, headers: auth })).status, 204)
    const storedKeys = async () => (await blobInventory(app)).keys
    const deps = { db: services.db, flavor: services.flavor, blobs: services.blobs, tmpDir: services.tmpDir }

    const withinGrace = await gcBlobs({ ...deps, graceMs: 3_600_000 })
    assert.deepEqual({ ...withinGrace }, { blobRows: 0, blobFiles: 0, tmpFiles: 0, ran: true })
    assert.ok((await storedKeys()).includes(sha256Hex(own)), 'a blob inside the grace period stays')

    // an abandoned spool file from a crash
    await mkdir(services.tmpDir, { recursive: true })
    const leftover = path.join(services.tmpDir, 'upload-crashed')
    await writeFile(leftover, 'partial')
    await utimes(leftover, new Date(0), new Date(0))

    const result = await gcBlobs({ ...deps, graceMs: 0 })
    assert.equal(result.blobRows, 1)
    assert.equal(result.blobFiles, 1)
    assert.equal(result.tmpFiles, 1)
    assert.deepEqual(await storedKeys(), [sha256Hex(shared)], 'the deleted version\'s own blob is gone; the shared one stays')
    assert.deepEqual(await listFiles(services.tmpDir), [])
    const get = await request({ method: 'GET', url: `${api}/2.0/a.bin` })
    assert.equal(get.status, 200)
    assert.equal(get.sha256, sha256Hex(shared))

    // uploading bytes whose blob the GC just removed stores them again
    assert.equal((await request({ method: 'PUT', url: `${api}/3.0/b.bin`, headers: auth, body: own })).status, 201)
    assert.equal((await request({ method: 'GET', url: `${api}/3.0/b.bin` })).sha256, sha256Hex(own))
  })

  test(`[${label}] gc-blobs: an upload re-using an orphan blob while the GC deletes it still ends with its bytes`, { timeout: 60_000 }, async (t) => {
    // The interleaving of the issue, forced: the GC finds no row for the orphan and an old mtime; the
    // upload then touches the bytes (its put finds them, so it neither writes nor moves anything);
    // the GC deletes them; the upload commits its row. The upload must notice and put the bytes again.
    // Bytes in the store behind: kept in the database (inline-blob-store.ts), the upload's touch would
    // wait for the GC's transaction, so this interleaving cannot happen there (inline-blobs.test.ts).
    const app = await startTestApp(t, { db, storage, env: { WHARF_STORAGE_INLINE_MAX: '0' } })
    const { url, services } = app
    await makeUser(services, 'alice')
    const auth = { authorization: basic('alice', PASSWORD) }
    const api = `${url}/api/packages/alice/generic/race`
    const body = Buffer.from(`bytes that become an orphan and come back ${label}`)
    const key = sha256Hex(body)
    assert.equal((await request({ method: 'PUT', url: `${api}/1.0/a.bin`, headers: auth, body })).status, 201)
    assert.equal((await request({ method: 'DELETE', url: `${api}/1.0`, headers: auth })).status, 204)
    // Older than the GC's cutoff (S3 keeps whole seconds), while the second upload's spool file is
    // younger (the GC also sweeps old spool files).
    const graceMs = 500
    await new Promise((r) => setTimeout(r, 1100))

    const blobs = services.blobs as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>
    const gate = <T = void>() => { let open!: (v: T) => void; const p = new Promise<T>((r) => { open = r }); return { p, open } }
    const reachedPut = gate(), mayTouch = gate(), touched = gate()
    let putCalls = 0
    for (const name of ['put', 'putFile', 'putBytes'] as const) {
      const orig = blobs[name]
      if (!orig) continue
      blobs[name] = async (...a: unknown[]) => {
        if (a[0] === key && putCalls++ === 0) {
          reachedPut.open()
          await mayTouch.p
          try {
            return await orig.apply(services.blobs, a)
          } finally {
            touched.open()
          }
        }
        return orig.apply(services.blobs, a)
      }
    }
    const origDelete = blobs.delete!
    // On whatever store it is called on: the GC deletes within its transaction (BlobStore.within).
    blobs.delete = async function (this: unknown, ...a: unknown[]) {
      if (a[0] === key) {
        mayTouch.open()
        await touched.p
      }
      return origDelete.apply(this, a)
    }
    const upload = request({ method: 'PUT', url: `${api}/2.0/a.bin`, headers: auth, body })
    await reachedPut.p
    const deps = { db: services.db, flavor: services.flavor, blobs: services.blobs, tmpDir: services.tmpDir, graceMs }
    const gc = await gcBlobs(deps)
    mayTouch.open() // should the GC not have come to the delete: let the upload go on, and fail below
    assert.equal(gc.blobRows, 1, 'the orphan row went')
    assert.equal(gc.blobFiles, 1, 'the GC did delete the bytes it had found old and unreferenced')
    assert.equal((await upload).status, 201)
    const get = await request({ method: 'GET', url: `${api}/2.0/a.bin` })
    assert.equal(get.status, 200)
    assert.equal(get.sha256, key)
    assert.ok(putCalls >= 2, 'the upload put its bytes again')
    assert.ok((await blobInventory(app)).keys.includes(key))
    assert.deepEqual(await listFiles(services.tmpDir), [], 'the spool file is removed afterwards')
  })

  test(`[${label}] gc-blobs: more orphans than a batch all go, in windows among used blobs; a stopped run stops between batches`, { timeout: 60_000 }, async (t) => {
    // The store behind (the patched delete below runs outside the GC's transaction).
    const app = await startTestApp(t, { db, storage, env: { WHARF_STORAGE_INLINE_MAX: '0' } })
    const { url, services } = app
    await makeUser(services, 'alice')
    const auth = { authorization: basic('alice', PASSWORD) }
    const api = `${url}/api/packages/alice/generic/many`
    const kept: string[] = []
    const gone: string[] = []
    // Interleaved ids: used and unused blobs alternate, so every window holds both.
    for (let i = 0; i < 7; i++) {
      const orphan = Buffer.from(`orphan ${i} ${label}`)
      const used = Buffer.from(`used ${i} ${label}`)
      assert.equal((await request({ method: 'PUT', url: `${api}/1.0/o${i}.bin`, headers: auth, body: orphan })).status, 201)
      assert.equal((await request({ method: 'PUT', url: `${api}/2.0/u${i}.bin`, headers: auth, body: used })).status, 201)
      gone.push(sha256Hex(orphan))
      kept.push(sha256Hex(used))
    }
    assert.equal((await request({ method: 'DELETE', url: `${api}/1.0`, headers: auth })).status, 204)
    await new Promise((r) => setTimeout(r, 1100)) // older than the cutoff (S3 and the rows keep whole seconds)
    const deps = { db: services.db, flavor: services.flavor, blobs: services.blobs, tmpDir: services.tmpDir, graceMs: 0, batchSize: 2 }

    // A run whose signal aborts (shutdown) after its first byte delete stops there …
    const blobs = services.blobs as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>
    const origDelete = blobs.delete!
    const stop = new AbortController()
    blobs.delete = async function (this: unknown, ...a: unknown[]) {
      const r = await origDelete.apply(this, a)
      stop.abort()
      return r
    }
    const first = await gcBlobs(deps, stop.signal)
    blobs.delete = origDelete
    assert.equal(first.blobRows, 7, 'every unreferenced row, over four windows of two')
    assert.equal(first.blobFiles, 1, 'stopped after the delete it was doing')
    assert.equal(first.tmpFiles, 0)
    assert.equal((await blobInventory(app)).keys.length, 7 + 6)

    // … and the next run removes the rest.
    const second = await gcBlobs(deps)
    assert.deepEqual({ ...second }, { blobRows: 0, blobFiles: 6, tmpFiles: 0, ran: true })
    assert.deepEqual((await blobInventory(app)).keys, [...kept].sort())
    for (let i = 0; i < 7; i++) assert.equal((await request({ method: 'GET', url: `${api}/2.0/u${i}.bin` })).sha256, kept[i])
  })

  test(`[${label}] gc-blobs: blobs of the Go proxy cache stay while a cached version refers to them`, { timeout: 60_000 }, async (t) => {
    const up = await startTestUpstream(t)
    await up.add('example.org/pub', 'v1.0.0', {})
    const app = await startTestApp(t, { db, storage, env: { WHARF_GO_UPSTREAM: up.url } })
    const { url, services } = app
    await makeUser(services, 'alice')
    const auth = basic('alice', PASSWORD)
    const go = goClient(url, 'alice')
    const zip = await go.get('example.org/pub/@v/v1.0.0.zip', auth)
    assert.equal(zip.status, 200)
    const mod = await go.get('example.org/pub/@v/v1.0.0.mod', auth)
    assert.equal(mod.status, 200)
    const keys = [zip.sha256, sha256Hex(mod.body)].sort()
    const row = await services.db.selectFrom('go_proxy_version').select(['mod_blob_id', 'zip_blob_id']).executeTakeFirstOrThrow()
    const blobRows = await services.db.selectFrom('package_blob').select('hash_sha256').where('id', 'in', [row.mod_blob_id, row.zip_blob_id]).execute()
    assert.deepEqual(blobRows.map((r) => r.hash_sha256).sort(), keys, 'cached .mod and .zip are package_blob rows (go_proxy_version.mod_blob_id, zip_blob_id)')
    await new Promise((r) => setTimeout(r, 1100))
    const deps = { db: services.db, flavor: services.flavor, blobs: services.blobs, tmpDir: services.tmpDir, graceMs: 0, batchSize: 1 }

    assert.deepEqual({ ...await gcBlobs(deps) }, { blobRows: 0, blobFiles: 0, tmpFiles: 0, ran: true })
    assert.deepEqual((await blobInventory(app)).keys, keys)
    const report = await diagnose(deps)
    assert.deepEqual(report.unreferencedRows, [], 'the doctor counts the cache as a user too')
    up.failWith(502)
    const again = await go.get('example.org/pub/@v/v1.0.0.zip', auth)
    assert.equal(again.status, 200, 'served from the cache with the upstream down')
    assert.equal(again.sha256, zip.sha256)

    // Once the cached version is gone (eviction, purge), the GC frees both.
    await services.db.deleteFrom('go_proxy_version').execute()
    assert.deepEqual({ ...await gcBlobs(deps) }, { blobRows: 2, blobFiles: 2, tmpFiles: 0, ran: true })
    assert.deepEqual((await blobInventory(app)).keys, [])
  })

  if (db === 'postgres' && storage === 'file') {
    test('[postgres] gc-blobs: only one instance runs it (advisory lock)', async (t) => {
      const { services } = await startTestApp(t, { db, storage })
      const deps = { db: services.db, flavor: services.flavor, blobs: services.blobs, tmpDir: services.tmpDir, graceMs: 0 }
      const { sql } = await import('kysely')
      await services.db.connection().execute(async (other) => {
        await sql`select pg_advisory_lock(${0x67636231})`.execute(other)
        try {
          assert.equal((await gcBlobs(deps)).ran, false, 'another holder of the lock: this run does nothing')
        } finally {
          await sql`select pg_advisory_unlock(${0x67636231})`.execute(other)
        }
      })
      assert.equal((await gcBlobs(deps)).ran, true)
    })

    test('[postgres] blob claims: an upload\'s transaction waits while the GC holds the key; uploads never wait for each other', async (t) => {
      const { services } = await startTestApp(t, { db, storage })
      const key = blobKey('ab'.repeat(32))
      const other = blobKey('cd'.repeat(32))
      let uploadDone = false
      let upload: Promise<void> | undefined
      await services.db.transaction().execute(async (gcTrx) => {
        await claimForDelete(gcTrx, 'postgres', key)
        // Two uploads of the key at once: shared with each other, so both get through …
        await services.db.transaction().execute(async (a) => {
          await claimForUse(a, 'postgres', [other])
          await services.db.transaction().execute((b) => claimForUse(b, 'postgres', [other]))
        })
        // … but one of the key the GC holds waits for the GC's commit.
        upload = services.db.transaction().execute(async (trx) => {
          await claimForUse(trx, 'postgres', [other, key])
          uploadDone = true
        })
        await new Promise((r) => setTimeout(r, 300))
        assert.equal(uploadDone, false, 'the upload waits while the GC decides and deletes')
      })
      await upload
      assert.equal(uploadDone, true)
    })
  }

  test(`[${label}] generic: download counts are batched and written at shutdown`, async (t) => {
    const app = await startTestApp(t, { db, storage, env: { WHARF_DOWNLOAD_FLUSH_INTERVAL: '1h' } })
    const alice = await makeUser(app.services, 'alice')
    const file = `${app.url}/api/packages/alice/generic/tool/1.0/a.bin`
    assert.equal((await request({ method: 'PUT', url: file, headers: { authorization: basic('alice', PASSWORD) }, body: Buffer.from('0123456789') })).status, 201)
    for (let i = 0; i < 3; i++) assert.equal((await request({ method: 'GET', url: file })).status, 200)
    assert.equal((await request({ method: 'HEAD', url: file })).status, 200)
    assert.equal((await request({ method: 'GET', url: file, headers: { range: 'bytes=0-1' } })).status, 206)
    const etag = (await request({ method: 'HEAD', url: file })).headers.etag
    assert.equal((await request({ method: 'GET', url: file, headers: { 'if-none-match': String(etag) } })).status, 304)
    const ref = { ownerId: alice.id, type: 'generic', name: 'tool', version: '1.0' }
    assert.equal((await app.services.packages.getVersion(ref)).downloadCount, 0, 'not written per request')

    const config = app.services.config
    await app.stop()
    const reopened = await openServices(loadConfig({ WHARF_DATA: app.dataDir, WHARF_DATABASE_URL: config.databaseUrl, WHARF_LOG_LEVEL: 'silent' }))
    try {
      assert.equal((await reopened.packages.getVersion(ref)).downloadCount, 3, 'only whole GETs count')
    } finally {
      await reopened.close()
    }
  })
}

test('healthz answers 503 with blobs:ping fail when blob storage does not answer', async (t) => {
  const { url, dataDir } = await startTestApp(t)
  assert.equal((await fetch(`${url}/api/healthz`)).status, 200)
  // a file where the storage folder should be: every write into it fails
  await rm(`${dataDir}/blobs`, { recursive: true, force: true })
  await writeFile(`${dataDir}/blobs`, 'not a folder')
  const h = await fetch(`${url}/api/healthz`)
  assert.equal(h.status, 503)
  const body = await h.json() as { status: string; checks: Record<string, Array<{ status: string }>> }
  assert.equal(body.status, 'fail')
  assert.equal(body.checks['blobs:ping']?.[0]?.status, 'fail')
  assert.equal(body.checks['database:ping']?.[0]?.status, 'pass')
})
