// The behaviour every BlobStore backend must have; each backend's test file runs it.
import { buffer as readAll } from 'node:stream/consumers'
import { describe, test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { Readable } from 'node:stream'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { BlobNotFoundError, blobKey, type BlobStore } from './blob-store.js'

const sha256Hex = (b: Buffer | string) => createHash('sha256').update(b).digest('hex')


export function blobStoreContract(name: string, open: (t: TestContext) => Promise<BlobStore>): void {
  describe(`BlobStore contract: ${name}`, () => {
    test('a missing key: open rejects, stat is undefined, delete succeeds', async (t) => {
      const store = await open(t)
      const key = blobKey(sha256Hex('absent'))
      await assert.rejects(store.open(key), BlobNotFoundError)
      assert.equal(await store.stat(key), undefined)
      await store.delete(key)
    })

    test('put then open returns the same bytes; put is idempotent', async (t) => {
      const store = await open(t)
      const data = randomBytes(300_000)
      const key = blobKey(sha256Hex(data))
      assert.equal(await store.put(key, Readable.from([data.subarray(0, 1000), data.subarray(1000)]), data.length), false, 'written')
      assert.equal(await store.put(key, Readable.from([data]), data.length), true, 'existed: only touched')
      assert.ok((await readAll(await store.open(key))).equals(data))
      assert.equal((await store.stat(key))?.size, data.length)
    })

    test('ranges are inclusive', async (t) => {
      const store = await open(t)
      const data = Buffer.from('0123456789')
      const key = blobKey(sha256Hex(data))
      await store.put(key, Readable.from([data]), data.length)
      assert.equal((await readAll(await store.open(key, { start: 2, end: 4 }))).toString(), '234')
      assert.equal((await readAll(await store.open(key, { start: 9, end: 9 }))).toString(), '9')
    })

    test('an empty blob', async (t) => {
      const store = await open(t)
      const key = blobKey(sha256Hex(''))
      await store.put(key, Readable.from([]), 0)
      assert.equal((await readAll(await store.open(key))).length, 0)
      assert.equal((await store.stat(key))?.size, 0)
    })

    test('a size mismatch stores nothing', async (t) => {
      const store = await open(t)
      const data = Buffer.from('abc')
      const key = blobKey(sha256Hex(data))
      await assert.rejects(store.put(key, Readable.from([data]), 4))
      assert.equal(await store.stat(key), undefined)
    })

    test('keys lists what is stored; delete removes', async (t) => {
      const store = await open(t)
      const a = Buffer.from('a')
      const b = Buffer.from('b')
      await store.put(blobKey(sha256Hex(a)), Readable.from([a]), 1)
      await store.put(blobKey(sha256Hex(b)), Readable.from([b]), 1)
      const keys = new Set<string>()
      for await (const k of store.keys()) keys.add(k)
      assert.deepEqual(keys, new Set([sha256Hex(a), sha256Hex(b)]))
      await store.delete(blobKey(sha256Hex(a)))
      await store.delete(blobKey(sha256Hex(a)))
      assert.equal(await store.stat(blobKey(sha256Hex(a))), undefined)
      await store.ping()
    })

    test('parallel puts of one key all succeed', async (t) => {
      const store = await open(t)
      const data = randomBytes(100_000)
      const key = blobKey(sha256Hex(data))
      await Promise.all(Array.from({ length: 8 }, () => store.put(key, Readable.from([data]), data.length)))
      assert.ok((await readAll(await store.open(key))).equals(data))
    })

    test('putFile (when offered) stores a local file, idempotently', async (t) => {
      const store = await open(t)
      if (!store.putFile) return
      const dir = await mkdtemp(path.join(os.tmpdir(), 'wharf-putfile-'))
      t.after(() => rm(dir, { recursive: true, force: true }))
      const data = randomBytes(50_000)
      const key = blobKey(sha256Hex(data))
      for (let i = 0; i < 2; i++) {
        const file = path.join(dir, `f${i}`)
        await writeFile(file, data)
        assert.equal(await store.putFile(key, file, data.length), i === 1, i === 1 ? 'existed' : 'written')
        // A put that found the blob leaves the file (the caller may need it again: claims.ts).
        if (i === 1) assert.ok((await readFile(file)).equals(data))
      }
      assert.ok((await readAll(await store.open(key))).equals(data))
      const other = path.join(dir, 'short')
      await writeFile(other, 'abc')
      const otherKey = blobKey(sha256Hex('abc'))
      await assert.rejects(store.putFile(otherKey, other, 4))
      assert.equal(await store.stat(otherKey), undefined)
    })

    test('putBytes (when offered) stores bytes from memory, idempotently, also in parallel', async (t) => {
      const store = await open(t)
      if (!store.putBytes) return
      const data = randomBytes(4096)
      const key = blobKey(sha256Hex(data))
      assert.equal(await store.putBytes(key, data), false, 'written')
      assert.equal(await store.putBytes(key, data), true, 'existed')
      assert.ok((await readAll(await store.open(key))).equals(data))
      assert.equal((await store.stat(key))?.size, data.length)
      // Many new keys at once, as many small uploads do: each comes back whole.
      const many = Array.from({ length: 32 }, () => randomBytes(1000))
      assert.deepEqual(await Promise.all(many.map((b) => store.putBytes!(blobKey(sha256Hex(b)), b))), many.map(() => false))
      for (const b of many) assert.ok((await readAll(await store.open(blobKey(sha256Hex(b))))).equals(b))
      const empty = Buffer.alloc(0)
      assert.equal(await store.putBytes(blobKey(sha256Hex(empty)), empty), false)
      assert.equal((await store.stat(blobKey(sha256Hex(empty))))?.size, 0)
    })

    test('blobKey refuses what is not a sha256', () => {
      assert.throws(() => blobKey('../../etc/passwd'), TypeError)
      assert.throws(() => blobKey('A'.repeat(64)), TypeError)
    })
  })
}
