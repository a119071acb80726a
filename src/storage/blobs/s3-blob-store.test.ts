// The BlobStore contract on a real S3 implementation (Ceph RGW, scripts/ceph-rgw.sh), plus what only
// S3 has: a failed or short upload leaves neither an object nor a pending multipart upload.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { Readable } from 'node:stream'
import { blobStoreContract } from './blob-store.contract.js'
import { openBlobStore } from './open.js'
import { blobKey } from './blob-store.js'
import type { S3BlobStore } from './s3-blob-store.js'
import { s3TestStorage, s3Skip } from '../../../test/helpers/s3.js'

const skip = s3Skip()

async function openS3(t: { after(fn: () => Promise<void>): void }): Promise<S3BlobStore> {
  const s = await s3TestStorage(t)
  return await openBlobStore(s.url, s.options) as S3BlobStore
}

if (skip) test('S3 BlobStore', { skip }, () => {})
else {
  blobStoreContract('s3', openS3)

  test('s3: a body that fails midway, or is shorter than announced, leaves no object and no multipart upload', async (t) => {
    const store = await openS3(t)
    const data = randomBytes(20 * 1024 * 1024)
    const key = blobKey(createHash('sha256').update(data).digest('hex'))
    const failing = new Readable({
      read() {},
    })
    failing.push(data.subarray(0, 17 * 1024 * 1024))
    setTimeout(() => failing.destroy(new Error('client went away')), 200)
    await assert.rejects(store.put(key, failing, data.length))
    await assert.rejects(store.put(key, Readable.from([data.subarray(0, 9 * 1024 * 1024), data.subarray(9 * 1024 * 1024)]), data.length + 1))
    assert.equal(await store.stat(key), undefined)
    assert.equal(await store.pendingUploads(), 0)
    // and a full one, multipart, reads back byte for byte, also across a part boundary
    await store.put(key, Readable.from([data]), data.length)
    const chunks: Buffer[] = []
    for await (const c of await store.open(key, { start: 8 * 1024 * 1024 - 5, end: 8 * 1024 * 1024 + 4 })) chunks.push(c as Buffer)
    assert.ok(Buffer.concat(chunks).equals(data.subarray(8 * 1024 * 1024 - 5, 8 * 1024 * 1024 + 5)))
    const h = createHash('sha256')
    for await (const c of await store.open(key)) h.update(c as Buffer)
    assert.equal(h.digest('hex'), key)
  })

  test('s3: a missing bucket or refused credentials reject with one clear line', async (t) => {
    const s = await s3TestStorage(t)
    const u = new URL(s.url)
    const missing = s.url.replace(`s3://${u.hostname}`, 's3://wharf-no-such-bucket')
    await assert.rejects(openBlobStore(missing, s.options), /bucket 'wharf-no-such-bucket' does not exist/)
    await assert.rejects(openBlobStore(s.url, { ...s.options, credentials: { accessKeyId: 'WRONG', secretAccessKey: 'wrong' } }),
      /refused.*AWS_ACCESS_KEY_ID/)
  })
}
