// Large uploads compute only SHA-256 (and announced digests) on the way; MD5, SHA-1 and SHA-512
// follow in a worker (src/packages/digests.ts). No answer may show a missing or wrong digest, and an
// announced digest is still verified before anything is stored.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import type { Readable } from 'node:stream'
import { startTestApp, testDatabases } from '../helpers/test-app.js'
import { PASSWORD, basic, makeUser } from '../helpers/auth.js'
import { request, seededStream } from './generic-helpers.js'
import { INLINE_DIGESTS_MAX } from '../../src/packages/upload.js'

const MiB = 1 << 20

async function digestsOf(stream: Readable) {
  const h = { md5: createHash('md5'), sha1: createHash('sha1'), sha256: createHash('sha256'), sha512: createHash('sha512') }
  for await (const c of stream) for (const x of Object.values(h)) x.update(c as Buffer)
  return { md5: h.md5.digest('hex'), sha1: h.sha1.digest('hex'), sha256: h.sha256.digest('hex'), sha512: h.sha512.digest('hex') }
}

for (const db of testDatabases()) {
  test(`[${db}] generic: digests of a large upload are right in every answer, right after the 201`, async (t) => {
    const { url, services } = await startTestApp(t, { db })
    await makeUser(services, 'alice')
    const auth = { authorization: basic('alice', PASSWORD) }
    const base = `${url}/api/packages/alice/generic/big/1.0.0`
    const size = INLINE_DIGESTS_MAX + 3 * MiB + 5
    const want = await digestsOf(seededStream(7, size))

    for (const [name, chunked] of [['sized.bin', false], ['chunked.bin', true]] as const) {
      const headers: Record<string, string> = { ...auth }
      if (!chunked) headers['content-length'] = String(size)
      const put = await request({ method: 'PUT', url: `${base}/${name}`, headers, body: () => seededStream(7, size) })
      assert.equal(put.status, 201, put.body.toString())
      // At once, while the worker may still be hashing: HEAD waits for the digests.
      const head = await request({ method: 'HEAD', url: `${base}/${name}`, headers: auth })
      assert.equal(head.status, 200)
      assert.equal(head.headers['x-checksum-md5'], want.md5, name)
      assert.equal(head.headers['x-checksum-sha1'], want.sha1, name)
      assert.equal(head.headers['x-checksum-sha256'], want.sha256, name)
      assert.equal(head.headers['x-checksum-sha512'], want.sha512, name)
    }

    // The files API (Gitea's shape) shows them too.
    const files = await fetch(`${url}/api/v1/packages/alice/generic/big/1.0.0/files`, { headers: auth })
    assert.equal(files.status, 200)
    const list = await files.json() as Array<{ name: string; md5: string; sha1: string; sha256: string; sha512: string }>
    assert.equal(list.length, 2)
    for (const f of list) assert.deepEqual([f.md5, f.sha1, f.sha256, f.sha512], [want.md5, want.sha1, want.sha256, want.sha512], f.name)

    // And the row is complete once the worker is done (a later start reads it from the database).
    for (let i = 0; i < 600; i++) {
      const row = await services.db.selectFrom('package_blob').selectAll().where('hash_sha256', '=', want.sha256).executeTakeFirstOrThrow()
      if (row.hash_md5 !== '') {
        assert.deepEqual([row.hash_md5, row.hash_sha1, row.hash_sha512], [want.md5, want.sha1, want.sha512])
        break
      }
      await new Promise((r) => setTimeout(r, 100))
    }
  })

  test(`[${db}] generic: an announced digest of a large upload is verified before anything is stored`, async (t) => {
    const { url, services } = await startTestApp(t, { db })
    await makeUser(services, 'alice')
    const auth = { authorization: basic('alice', PASSWORD) }
    const size = INLINE_DIGESTS_MAX + MiB
    const want = await digestsOf(seededStream(9, size))
    const u = `${url}/api/packages/alice/generic/checked/1.0.0/f.bin`
    for (const alg of ['md5', 'sha1', 'sha512'] as const) {
      const wrong = want[alg].replace(/^./, (c) => (c === '0' ? '1' : '0'))
      const put = await request({ method: 'PUT', url: u, headers: { ...auth, [`x-checksum-${alg}`]: wrong }, body: () => seededStream(9, size) })
      assert.equal(put.status, 400, `${alg}: ${put.body.toString()}`)
      assert.equal((await request({ method: 'HEAD', url: u, headers: auth })).status, 404, 'nothing stored')
    }
    const put = await request({ method: 'PUT', url: u, headers: { ...auth, 'x-checksum-sha512': want.sha512, 'x-checksum-md5': want.md5 }, body: () => seededStream(9, size) })
    assert.equal(put.status, 201, put.body.toString())
    const head = await request({ method: 'HEAD', url: u, headers: auth })
    assert.equal(head.headers['x-checksum-sha1'], want.sha1)
    assert.equal(head.headers['x-checksum-sha512'], want.sha512)
  })
}
