// Eviction of cached upstream Go modules (issue 12, WHARF_GO_UPSTREAM_CACHE_UNUSED): a version not
// served for longer than the setting loses its row (and its module's kept answers), and the blob GC
// then removes its bytes; a version served recently stays, and so do bytes it shares with an
// evicted one. Ages are made by backdating last_used_unix, never by sleeping; a last test runs the
// scheduled job itself with a one-second setting.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { blobKey } from '../../src/storage/blobs/blob-store.js'
import { gcBlobs } from '../../src/jobs/gc-blobs.js'
import { nowUnix } from '../../src/packages/package-rows.js'
import { blobInventory, startTestApp, testDatabases, testMatrix, type TestApp } from '../helpers/test-app.js'
import { makeUser } from '../helpers/auth.js'
import { startTestUpstream } from '../helpers/go-upstream.js'
import { goClient, moduleZip } from './go-helpers.js'

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex')
const DAY = 86_400
const EV = 'example.org/ev'
const KEEP = 'example.org/keep'

const gc = (app: TestApp) => gcBlobs({ db: app.services.db, flavor: app.services.flavor, blobs: app.services.blobs, tmpDir: app.services.tmpDir, graceMs: 0 })

async function lastUsed(app: TestApp, module: string, version: string): Promise<number> {
  const r = await app.services.db.selectFrom('go_proxy_version').select('last_used_unix')
    .where('module_path', '=', module).where('version', '=', version).executeTakeFirstOrThrow()
  return Number(r.last_used_unix)
}

async function backdate(app: TestApp, module: string, version: string, seconds: number): Promise<void> {
  await app.services.db.updateTable('go_proxy_version').set({ last_used_unix: nowUnix() - seconds })
    .where('module_path', '=', module).where('version', '=', version).execute()
}

for (const { db, storage, label } of testMatrix()) {
  test(`[${label}] go proxy eviction: versions unused past WHARF_GO_UPSTREAM_CACHE_UNUSED go, rows then bytes; recently served ones and shared bytes stay`, { timeout: 120_000 }, async (t) => {
    const up = await startTestUpstream(t)
    // Both versions of EV have the same go.mod, so they share the .mod blob.
    await up.add(EV, 'v1.0.0', {})
    await up.add(EV, 'v1.1.0', {})
    await up.add(KEEP, 'v1.0.0', {})
    const app = await startTestApp(t, {
      db, storage, env: { WHARF_GO_UPSTREAM: up.url, WHARF_GO_UPSTREAM_ANONYMOUS: 'true', WHARF_GO_UPSTREAM_CACHE_UNUSED: '30d' },
    })
    const { services } = app
    assert.equal(services.config.goProxy.cacheUnusedMs, 30 * DAY * 1000)
    await makeUser(services, 'alice')
    const a = goClient(app.url, 'alice')
    const zips = new Map<string, Buffer>()
    for (const [m, v] of [[EV, 'v1.0.0'], [EV, 'v1.1.0'], [KEEP, 'v1.0.0']] as const) {
      const r = await a.get(`${m}/@v/${v}.zip`)
      assert.equal(r.status, 200, r.body.toString())
      assert.equal(r.sha256, sha256(await moduleZip(m, v)))
      zips.set(`${m}@${v}`, r.body)
    }
    assert.equal((await a.get(`${EV}/@v/list`)).status, 200)
    const modKey = blobKey(sha256(Buffer.from(`module ${EV}\n\ngo 1.19\n`)))
    const zipKey = (k: string) => blobKey(sha256(zips.get(k)!))
    const cached = await services.goProxy.versionsOf(EV)
    const old = cached.find((v) => v.version === 'v1.0.0')!
    const recent = cached.find((v) => v.version === 'v1.1.0')!
    assert.equal(old.mod.id, recent.mod.id, 'the two versions share one .mod blob')

    // The blob GC leaves cached versions' bytes alone.
    await gc(app)
    const held = (await blobInventory(app)).keys
    for (const k of [modKey, zipKey(`${EV}@v1.0.0`), zipKey(`${EV}@v1.1.0`), zipKey(`${KEEP}@v1.0.0`)]) assert.ok(held.includes(k), k)
    assert.equal((await a.get(`${EV}/@v/v1.0.0.zip`)).status, 200)

    // EV v1.0.0 last served 31 days ago, KEEP 29 days ago, EV v1.1.0 now; EV's list kept 31 days ago.
    await backdate(app, EV, 'v1.0.0', 31 * DAY)
    await backdate(app, KEEP, 'v1.0.0', 29 * DAY)
    await services.db.updateTable('go_proxy_answer').set({ fetched_unix: nowUnix() - 31 * DAY }).where('key', '=', `list ${EV}`).execute()

    assert.equal(await services.goProxy.evictUnused(services.config.goProxy.cacheUnusedMs), 1)
    assert.deepEqual((await services.goProxy.versionsOf(EV)).map((v) => v.version), ['v1.1.0'])
    assert.deepEqual((await services.goProxy.versionsOf(KEEP)).map((v) => v.version), ['v1.0.0'])
    assert.equal(await services.db.selectFrom('go_proxy_answer').select('key').where('key', '=', `list ${EV}`).executeTakeFirst(), undefined)
    // Its blob row goes with the GC, not before; then its bytes.
    const zipRow = () => services.db.selectFrom('package_blob').select('id').where('id', '=', old.zip.id).executeTakeFirst()
    assert.ok(await zipRow(), 'eviction leaves the blob to the GC')
    const swept = await gc(app)
    assert.equal(swept.ran, true)
    assert.equal(await zipRow(), undefined)
    const after = (await blobInventory(app)).keys
    assert.ok(!after.includes(zipKey(`${EV}@v1.0.0`)), 'the evicted zip\'s bytes are gone')
    for (const k of [modKey, zipKey(`${EV}@v1.1.0`), zipKey(`${KEEP}@v1.0.0`)]) assert.ok(after.includes(k), `kept: ${k}`)
    assert.equal((await a.get(`${EV}/@v/v1.1.0.mod`)).status, 200, 'the shared .mod is still served')

    // Serving a version marks it used: KEEP, 29 days unused, is served, then survives a 30-day setting run 2 days on.
    const before = await lastUsed(app, KEEP, 'v1.0.0')
    assert.equal((await a.get(`${KEEP}/@v/v1.0.0.zip`)).sha256, sha256(zips.get(`${KEEP}@v1.0.0`)!))
    assert.ok(await lastUsed(app, KEEP, 'v1.0.0') >= nowUnix() - 5, `last_used moved from ${before}`)
    assert.equal(await services.goProxy.evictUnused(services.config.goProxy.cacheUnusedMs - 2 * DAY * 1000), 0)

    // An evicted version is fetched from the upstream again, the same bytes.
    const zipsBefore = up.count(`${EV}/@v/v1.0.0.zip`)
    const again = await a.get(`${EV}/@v/v1.0.0.zip`)
    assert.equal(again.status, 200)
    assert.equal(again.sha256, sha256(zips.get(`${EV}@v1.0.0`)!))
    assert.equal(up.count(`${EV}/@v/v1.0.0.zip`), zipsBefore + 1)
  })
}

for (const db of testDatabases()) {
  test(`[${db}] go proxy eviction: the scheduled job evicts with WHARF_GO_UPSTREAM_CACHE_UNUSED, and a version in use keeps being marked used`, { timeout: 60_000 }, async (t) => {
    const up = await startTestUpstream(t)
    await up.add(EV, 'v1.0.0', {})
    const app = await startTestApp(t, {
      db, env: { WHARF_GO_UPSTREAM: up.url, WHARF_GO_UPSTREAM_ANONYMOUS: 'true', WHARF_GO_UPSTREAM_CACHE_UNUSED: '3s' },
    })
    await makeUser(app.services, 'alice')
    const a = goClient(app.url, 'alice')
    assert.equal((await a.get(`${EV}/@v/v1.0.0.zip`)).status, 200)
    // With a setting this short a read marks the version used even 10s after the last mark (not only hourly).
    await backdate(app, EV, 'v1.0.0', 10)
    assert.equal((await a.get(`${EV}/@v/v1.0.0.info`)).status, 200)
    assert.ok(await lastUsed(app, EV, 'v1.0.0') >= nowUnix() - 2)
    const errors: unknown[] = []
    app.services.startJobs({ info: () => {}, error: (o: object) => { errors.push(o) } })
    await backdate(app, EV, 'v1.0.0', 10)
    // The job ticks every 3s here: wait for it (bounded), rather than for a fixed time.
    for (let i = 0; i < 100 && (await app.services.goProxy.versionsOf(EV)).length > 0; i++) await new Promise((r) => setTimeout(r, 100))
    assert.deepEqual(await app.services.goProxy.versionsOf(EV), [])
    assert.deepEqual(errors, [])
  })
}
