// Issue 11, `wharf doctor`: finds a deleted blob, a corrupted one (with --rehash), an orphan, empty
// versions and packages, temp files; --fix repairs what is safe and never deletes a referenced blob.
// Faults are made through the BlobStore interface, so the same test holds for every store.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdir, utimes, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { Readable } from 'node:stream'
import { startTestApp, testDatabases } from '../helpers/test-app.js'
import { ROOT, WHARF } from '../helpers/root.js'
import { PASSWORD, basic, makeUser } from '../helpers/auth.js'
import { request, sha256Hex } from './generic-helpers.js'
import { runDoctor } from '../../src/cli/doctor.js'
import { blobKey } from '../../src/storage/blobs/blob-store.js'
import * as rows from '../../src/packages/package-rows.js'
import type { Services } from '../../src/services.js'

async function doctor(s: Services, opts: { rehash?: boolean; fix?: boolean } = {}) {
  const lines: string[] = []
  const code = await runDoctor(s, opts, (l) => lines.push(l))
  return { code, out: lines.join('\n') }
}

for (const db of testDatabases()) {
  test(`[${db}] wharf doctor: missing, corrupt (--rehash), orphan, empty rows, temp files; --fix repairs what is safe`, async (t) => {
    // grace 0: every orphan counts as old, none is an upload in progress
    const { url, services } = await startTestApp(t, { db, env: { WHARF_GC_GRACE: '0s' } })
    const alice = await makeUser(services, 'alice')
    const auth = { authorization: basic('alice', PASSWORD) }
    const api = `${url}/api/packages/alice/generic/tool`
    const files = { gone: Buffer.from('this blob will be deleted'), bad: Buffer.from('this blob will be corrupted'), fine: Buffer.from('this one stays fine') }
    for (const [name, body] of Object.entries(files)) {
      assert.equal((await request({ method: 'PUT', url: `${api}/1.0/${name}.bin`, headers: auth, body })).status, 201)
    }
    const clean = await doctor(services, { rehash: true })
    assert.equal(clean.code, 0, clean.out)
    assert.match(clean.out, /no problems/)

    await services.blobs.delete(blobKey(sha256Hex(files.gone)))
    const badKey = blobKey(sha256Hex(files.bad))
    await services.blobs.delete(badKey)
    const garbage = Buffer.from(files.bad.toString().toUpperCase())
    await services.blobs.put(badKey, Readable.from([garbage]), garbage.length)
    const orphan = Buffer.from('bytes nobody refers to')
    await services.blobs.put(blobKey(sha256Hex(orphan)), Readable.from([orphan]), orphan.length)
    // a version without files and a package without versions (as a crash of an older release could leave)
    const pkg = await rows.findOrInsertPackage(services.db, services.flavor, alice.id, 'generic', 'hollow')
    await rows.insertVersion(services.db, { packageId: pkg.id, version: '0.1', creatorId: alice.id })
    await rows.findOrInsertPackage(services.db, services.flavor, alice.id, 'generic', 'empty')
    await mkdir(services.tmpDir, { recursive: true })
    await writeFile(path.join(services.tmpDir, 'upload-crashed'), 'partial')
    // A minute old: written in the same millisecond as the doctor's clock reading, its sub-millisecond
    // mtime would count as younger than a grace of 0.
    const past = new Date(Date.now() - 60_000)
    await utimes(path.join(services.tmpDir, 'upload-crashed'), past, past)

    const quick = await doctor(services)
    assert.equal(quick.code, 1)
    assert.match(quick.out, new RegExp(`missing blob ${sha256Hex(files.gone)} .*alice/generic/tool/1.0/gone.bin`))
    assert.doesNotMatch(quick.out, /^corrupt blob/m, 'same size: only --rehash sees it')
    assert.match(quick.out, new RegExp(`orphan blob ${sha256Hex(orphan)}`))
    assert.match(quick.out, /version without files: alice\/generic\/hollow 0\.1/)
    assert.match(quick.out, /package without versions: alice\/generic\/empty/)
    assert.match(quick.out, /temp file .*upload-crashed/)
    assert.match(quick.out, /summary: 5 problem/)

    const rehash = await doctor(services, { rehash: true })
    assert.match(rehash.out, new RegExp(`corrupt blob ${sha256Hex(files.bad)}: its bytes hash to ${sha256Hex(garbage)}`))

    const fixed = await doctor(services, { rehash: true, fix: true })
    assert.equal(fixed.code, 1, 'the missing and the corrupt blob cannot be repaired')
    assert.match(fixed.out, /fixed: 1 orphan blob\(s\), 0 unreferenced blob row\(s\), 1 temp file\(s\), 1 empty version\(s\), 2 empty package\(s\)/)
    assert.equal(await services.blobs.stat(blobKey(sha256Hex(orphan))), undefined, 'the orphan is gone')
    assert.ok(await services.blobs.stat(badKey), 'a referenced blob is never deleted, even a corrupt one')
    assert.equal((await request({ method: 'GET', url: `${api}/1.0/fine.bin`, headers: auth })).sha256, sha256Hex(files.fine))
    const after = await doctor(services, { rehash: true })
    assert.match(after.out, /summary: 2 problem\(s\): 1 missing blob, 1 corrupt blob/)

    // once the broken files are deleted (and re-uploaded), --fix leaves a clean bill of health
    for (const name of ['gone', 'bad']) assert.equal((await request({ method: 'DELETE', url: `${api}/1.0/${name}.bin`, headers: auth })).status, 204)
    assert.equal((await doctor(services, { fix: true })).code, 0)
    assert.equal((await doctor(services, { rehash: true })).code, 0)
  })
}

test('wharf doctor: the command line exits 0 when clean and 1 with a summary otherwise', { timeout: 120_000 }, async (t) => {
  const { services, dataDir, stop } = await startTestApp(t, { env: { WHARF_GC_GRACE: '0s' } })
  const orphan = Buffer.from('orphan for the CLI')
  await services.blobs.put(blobKey(sha256Hex(orphan)), Readable.from([orphan]), orphan.length)
  await stop()
  const cli = (...args: string[]) => spawnSync(process.execPath, [...WHARF, 'doctor', ...args], {
    cwd: ROOT, env: { ...process.env, WHARF_DATA: dataDir, WHARF_GC_GRACE: '0s', WHARF_LOG_LEVEL: 'silent' }, encoding: 'utf8', timeout: 60_000,
  })
  const first = cli()
  assert.equal(first.status, 1, first.stderr)
  assert.match(first.stdout, /summary: 1 problem\(s\): 1 orphan blob/)
  const fixed = cli('--fix')
  assert.equal(fixed.status, 0, fixed.stdout + fixed.stderr)
  const clean = cli('--rehash')
  assert.equal(clean.status, 0)
  assert.match(clean.stdout, /^ok: /m)
})
