// The BlobStore contract on a real S3 implementation (Ceph RGW, scripts/ceph-rgw.sh), plus what only
// S3 has: a failed or short upload leaves neither an object nor a pending multipart upload.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
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

  test('s3: putFile streams a multipart upload from the file, part by part, byte for byte', async (t) => {
    const store = await openS3(t)
    const dir = await mkdtemp(path.join(os.tmpdir(), 'wharf-s3-putfile-'))
    t.after(() => rm(dir, { recursive: true, force: true }))
    // Three parts of 8 MiB, the last one short; an empty file is a blob too.
    const data = randomBytes(20 * 1024 * 1024 + 7)
    const key = blobKey(createHash('sha256').update(data).digest('hex'))
    const file = path.join(dir, 'big')
    await writeFile(file, data)
    await assert.rejects(store.putFile(key, file, data.length + 1), /expected/)
    assert.equal(await store.putFile(key, file, data.length), false)
    assert.equal(await store.pendingUploads(), 0)
    assert.equal((await stat(file)).size, data.length, 'the file is left for the caller')
    const h = createHash('sha256')
    for await (const c of await store.open(key)) h.update(c as Buffer)
    assert.equal(h.digest('hex'), key)
    assert.equal((await store.stat(key))?.size, data.length)
    assert.equal(await store.putFile(key, file, data.length), true)
    const empty = path.join(dir, 'empty')
    await writeFile(empty, '')
    const emptyKey = blobKey(createHash('sha256').update('').digest('hex'))
    assert.equal(await store.putFile(emptyKey, empty, 0), false)
    assert.equal((await store.stat(emptyKey))?.size, 0)
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
