// hashInWorker: the slabs it hands the worker (transferred, reused) must carry every byte in order,
// whatever the chunk sizes, across slab boundaries, for an empty stream too.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { Readable } from 'node:stream'
import { hashInWorker } from './digests.js'

test('hashInWorker: MD5, SHA-1 and SHA-512 of streams of any size and chunking', async () => {
  const MiB = 1024 * 1024
  for (const size of [0, 1, MiB - 1, MiB, MiB + 1, 5 * MiB + 12_345, 9 * MiB]) {
    const data = randomBytes(size)
    const chunks: Buffer[] = []
    for (let off = 0; off < size;) {
      const n = Math.min(size - off, 1 + ((off * 7919) % 300_000))
      chunks.push(data.subarray(off, off + n))
      off += n
    }
    const got = await hashInWorker(Readable.from(chunks), ['md5', 'sha1', 'sha512'])
    for (const a of ['md5', 'sha1', 'sha512'] as const) assert.equal(got[a], createHash(a).update(data).digest('hex'), `${a} of ${size} bytes`)
  }
})

test('hashInWorker: a stream that fails rejects', async () => {
  const failing = new Readable({ read() {} })
  failing.push(randomBytes(3 * 1024 * 1024))
  setTimeout(() => failing.destroy(new Error('gone')), 50)
  await assert.rejects(hashInWorker(failing, ['sha1']), /gone/)
})
