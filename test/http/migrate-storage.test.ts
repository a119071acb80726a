// `wharf migrate-storage`: file → S3 (interrupted, then resumed) and S3 → file by the CLI, every blob
// compared by SHA-256 on the way back.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { spawnSync } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { startTestApp, testDatabases } from '../helpers/test-app.js'
import { s3Skip, s3TestStorage } from '../helpers/s3.js'
import { PASSWORD, basic, makeUser } from '../helpers/auth.js'
import { request, sha256Hex } from './generic-helpers.js'
import { ROOT, WHARF } from '../helpers/root.js'
import { openBlobStore } from '../../src/storage/blobs/open.js'
import { blobKey, type BlobStore } from '../../src/storage/blobs/blob-store.js'
import { migrateBlobs } from '../../src/storage/blobs/migrate.js'

const skip = s3Skip()

async function shaOf(store: BlobStore, key: string): Promise<string> {
  const h = createHash('sha256')
  for await (const c of await store.open(blobKey(key))) h.update(c as Buffer)
  return h.digest('hex')
}

for (const db of testDatabases()) {
  test(`[${db}] migrate-storage: file → S3 resumes after an interruption, S3 → file by the CLI; checksums equal`, { skip, timeout: 180_000 }, async (t) => {
    const app = await startTestApp(t, { db })
    await makeUser(app.services, 'alice')
    const bodies = [Buffer.alloc(0), Buffer.from('small'), Buffer.from(Array.from({ length: 9 * 1024 * 1024 }, (_, i) => (i * 31) % 256))]
    for (const [i, body] of bodies.entries()) {
      const r = await request({ method: 'PUT', url: `${app.url}/api/packages/alice/generic/tool/1.0/f${i}`, headers: { authorization: basic('alice', PASSWORD) }, body })
      assert.equal(r.status, 201)
    }
    const shas = bodies.map((b) => sha256Hex(b))
    const s3 = await s3TestStorage(t)
    const target = await openBlobStore(s3.url, s3.options)
    t.after(() => target.close())

    const stop = new AbortController()
    const first = await migrateBlobs(app.services.db, app.services.blobs, target, { signal: stop.signal, onProgress: () => stop.abort() })
    assert.deepEqual({ ...first }, { total: 3, copied: 1, skipped: 0, bytes: 0 })
    const second = await migrateBlobs(app.services.db, app.services.blobs, target)
    assert.equal(second.copied, 2)
    assert.equal(second.skipped, 1, 'what the interrupted run copied is not copied again')
    for (const sha of shas) assert.equal(await shaOf(target, sha), sha)

    // and back, as users run it: a separate process, the database now pointing at S3
    const back = await mkdtemp(path.join(os.tmpdir(), 'wharf-back-'))
    t.after(() => rm(back, { recursive: true, force: true }))
    const env = { ...process.env, ...s3.env, WHARF_DATA: app.dataDir, WHARF_DATABASE_URL: app.services.config.databaseUrl, WHARF_LOG_LEVEL: 'silent' }
    const cli = spawnSync(process.execPath, [...WHARF, 'migrate-storage', '--to', `file:${back}`], { cwd: ROOT, env, encoding: 'utf8' })
    assert.equal(cli.status, 0, cli.stderr)
    assert.match(cli.stdout, /3\/3 blobs \(3 copied, 0 already there/)
    assert.match(cli.stderr, /migrate-storage: \d\/3 blobs/, 'a progress line')
    const home = await openBlobStore(`file:${back}`)
    for (const sha of shas) assert.equal(await shaOf(home, sha), sha)
    const again = spawnSync(process.execPath, [...WHARF, 'migrate-storage', '--to', `file:${back}`], { cwd: ROOT, env, encoding: 'utf8' })
    assert.match(again.stdout, /\(0 copied, 3 already there/)
  })
}
