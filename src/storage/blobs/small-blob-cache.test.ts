import { buffer } from 'node:stream/consumers'
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { createHash } from 'node:crypto'
import { Readable } from 'node:stream'
import { FsBlobStore } from './fs-blob-store.js'
import { blobKey } from './blob-store.js'
import { SmallBlobCache } from './small-blob-cache.js'

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex')

async function bytesOf(x: Readable | Buffer): Promise<Buffer> {
  return Buffer.isBuffer(x) ? x : buffer(x)
}

test('small blobs are served from memory (also after the file is gone); large ones stream; ranges are exact; LRU is bounded', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'wharf-sbc-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  const store = new FsBlobStore(dir)
  const cache = new SmallBlobCache(store, 1024, 3000)
  const put = async (b: Buffer) => {
    const key = blobKey(sha(b))
    await store.put(key, Readable.from([b]), b.length)
    return key
  }
  const small = Buffer.from('0123456789'.repeat(100))
  const big = Buffer.alloc(5000, 1)
  const ks = await put(small)
  const kb = await put(big)

  assert.deepEqual(await bytesOf(await cache.open(ks, small.length)), small)
  assert.equal((await bytesOf(await cache.open(ks, small.length, { start: 5, end: 14 }))).toString(), '5678901234')
  await store.delete(ks)
  assert.deepEqual(await bytesOf(await cache.open(ks, small.length)), small, 'served from memory')

  const fromStore = await cache.open(kb, big.length)
  assert.ok(!Buffer.isBuffer(fromStore), 'large blobs stream from the store')
  assert.deepEqual(await bytesOf(fromStore), big)

  // Fill past 3000 bytes: the least recently used entry (ks) is evicted and must come from the store again.
  const others = await Promise.all([1, 2, 3].map((i) => put(Buffer.alloc(1000, i))))
  for (const k of others) await cache.open(k, 1000)
  await assert.rejects(async () => bytesOf(await cache.open(ks, small.length)), { name: 'BlobNotFoundError' })
})
