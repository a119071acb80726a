import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { PassThrough, Readable } from 'node:stream'
import { WharfError } from '../errors.js'
import { createHash, randomBytes } from 'node:crypto'
import { FOLLOW_MIN_BYTES, INLINE_DIGESTS_MAX, MEMORY_BODY_MAX, receiveUpload, spoolUpload, verifyChecksums } from './upload.js'

async function tmp(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'wharf-spool-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  return dir
}

test('spoolUpload: the four digests of a small declared body in one pass, and the bytes on disk', async (t) => {
  const dir = await tmp(t)
  const up = await spoolUpload(Readable.from([Buffer.from('a'), Buffer.from('bc')]), dir, undefined, { declaredSize: 3 })
  assert.equal(up.size, 3)
  assert.equal(up.md5, '900150983cd24fb0d6963f7d28e17f72')
  assert.equal(up.sha1, 'a9993e364706816aba3e25717850c26c9cd0d89d')
  assert.equal(up.sha256, 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')
  assert.equal(up.sha512.slice(0, 16), 'ddaf35a193617aba')
  assert.equal(await readFile(up.path, 'utf8'), 'abc')
})

test('spoolUpload: a body of unknown or large size gets SHA-256 and the announced digests on the way, the rest later', async (t) => {
  const dir = await tmp(t)
  const unknown = await spoolUpload(Readable.from([Buffer.from('abc')]), dir)
  assert.deepEqual([unknown.md5, unknown.sha1, unknown.sha512], ['', '', ''])
  assert.equal(unknown.sha256, 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')
  const announced = await spoolUpload(Readable.from([Buffer.from('abc')]), dir, undefined,
    { declaredSize: INLINE_DIGESTS_MAX + 1, expected: { md5: '900150983cd24fb0d6963f7d28e17f72' } })
  assert.deepEqual([announced.md5, announced.sha1, announced.sha512], ['900150983cd24fb0d6963f7d28e17f72', '', ''])
})

test('spoolUpload: past the limit → too_large and no file left', async (t) => {
  const dir = await tmp(t)
  await assert.rejects(spoolUpload(Readable.from([Buffer.alloc(10), Buffer.alloc(10)]), dir, 15),
    (err: unknown) => err instanceof WharfError && err.kind === 'too_large')
  assert.deepEqual(await readdir(dir), [])
  const exact = await spoolUpload(Readable.from([Buffer.alloc(15)]), dir, 15)
  assert.equal(exact.size, 15)
})

test('spoolUpload: a source that fails mid-way leaves no file and is not destroyed by us', async (t) => {
  const dir = await tmp(t)
  const src = new PassThrough()
  const p = spoolUpload(src, dir)
  src.write(Buffer.alloc(1000))
  setImmediate(() => src.destroy(new Error('connection reset')))
  await assert.rejects(p, (err: unknown) => err instanceof WharfError && err.kind === 'invalid')
  assert.deepEqual(await readdir(dir), [])
})

test('receiveUpload: a small declared body is read into memory with its four digests, no file; a larger or undeclared one is spooled', async (t) => {
  const dir = await tmp(t)
  const small = await receiveUpload(Readable.from([Buffer.from('a'), Buffer.from('bc')]), dir, undefined, { declaredSize: 3 })
  assert.equal(small.path, undefined)
  assert.equal(small.bytes?.toString(), 'abc')
  assert.equal(small.size, 3)
  assert.equal(small.md5, '900150983cd24fb0d6963f7d28e17f72')
  assert.equal(small.sha1, 'a9993e364706816aba3e25717850c26c9cd0d89d')
  assert.equal(small.sha256, 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')
  assert.equal(small.sha512, createHash('sha512').update('abc').digest('hex'))
  assert.deepEqual(await readdir(dir), [])
  const edge = randomBytes(MEMORY_BODY_MAX)
  const atMax = await receiveUpload(Readable.from([edge.subarray(0, 1000), edge.subarray(1000)]), dir, undefined, { declaredSize: edge.length })
  assert.ok(atMax.bytes?.equals(edge))
  assert.equal(atMax.sha256, createHash('sha256').update(edge).digest('hex'))
  const bigger = await receiveUpload(Readable.from([Buffer.alloc(MEMORY_BODY_MAX + 1)]), dir, undefined, { declaredSize: MEMORY_BODY_MAX + 1 })
  assert.ok(bigger.path !== undefined && bigger.bytes === undefined)
  const undeclared = await receiveUpload(Readable.from([Buffer.from('abc')]), dir)
  assert.ok(undeclared.path !== undefined)
})

test('receiveUpload: in memory, past the limit → too_large, longer than declared or cut off → invalid', async () => {
  await assert.rejects(receiveUpload(Readable.from([Buffer.alloc(10), Buffer.alloc(10)]), '/nonexistent', 15, { declaredSize: 20 }),
    (err: unknown) => err instanceof WharfError && err.kind === 'too_large')
  await assert.rejects(receiveUpload(Readable.from([Buffer.alloc(10), Buffer.alloc(10)]), '/nonexistent', undefined, { declaredSize: 12 }),
    (err: unknown) => err instanceof WharfError && err.kind === 'invalid' && /longer than its declared length/.test(err.message))
  const src = new PassThrough()
  const p = receiveUpload(src, '/nonexistent', undefined, { declaredSize: 5000 })
  src.write(Buffer.alloc(1000))
  setImmediate(() => src.destroy(new Error('connection reset')))
  await assert.rejects(p, (err: unknown) => err instanceof WharfError && err.kind === 'invalid' && /interrupted/.test(err.message))
})

test('verifyChecksums: matches ignore case; a mismatch or a malformed digest is invalid', () => {
  const got = { md5: 'a'.repeat(32), sha1: 'b'.repeat(40), sha256: 'c'.repeat(64), sha512: 'd'.repeat(128) }
  verifyChecksums(got, { sha256: 'C'.repeat(64), md5: undefined })
  assert.throws(() => verifyChecksums(got, { sha1: 'e'.repeat(40) }), WharfError)
  assert.throws(() => verifyChecksums(got, { sha256: 'c'.repeat(63) }), WharfError)
})

/** Random chunks of uneven sizes (1 byte to 200 KiB) adding up to `size`, and their digests. */
function unevenBody(size: number) {
  const chunks: Buffer[] = []
  for (let n = 0; n < size;) {
    const len = Math.min(size - n, 1 + Math.floor(Math.random() * 200 * 1024))
    chunks.push(randomBytes(len))
    n += len
  }
  const whole = Buffer.concat(chunks)
  const hex = (alg: string) => createHash(alg).update(whole).digest('hex')
  return { chunks, whole, sha256: hex('sha256'), sha1: hex('sha1'), md5: hex('md5') }
}

test('spoolUpload: a large declared body is hashed by the worker that follows the file, with the same digests and bytes', async (t) => {
  const dir = await tmp(t)
  const size = FOLLOW_MIN_BYTES + 3 * 1024 * 1024 + 17
  const body = unevenBody(size)
  const up = await spoolUpload(Readable.from(body.chunks), dir, undefined, { declaredSize: size, expected: { sha1: body.sha1 } })
  assert.equal(up.size, size)
  assert.equal(up.sha256, body.sha256)
  assert.equal(up.sha1, body.sha1) // announced: computed on the way too
  assert.equal(up.md5, '') // not announced: left for after the upload, as for any large body
  assert.ok((await readFile(up.path)).equals(body.whole))
  verifyChecksums(up, { sha1: body.sha1 })
  assert.throws(() => verifyChecksums(up, { sha256: body.md5 + body.md5 }), (err: unknown) => err instanceof WharfError && err.kind === 'invalid')
})

test('spoolUpload: followHash false (a remote store) hashes a large body here, with the same digests and bytes', async (t) => {
  const dir = await tmp(t)
  const size = FOLLOW_MIN_BYTES + 1024 * 1024 + 5
  const body = unevenBody(size)
  const up = await spoolUpload(Readable.from(body.chunks), dir, undefined, { declaredSize: size, expected: { sha1: body.sha1 }, followHash: false })
  assert.equal(up.size, size)
  assert.equal(up.sha256, body.sha256)
  assert.equal(up.sha1, body.sha1)
  assert.equal(up.md5, '')
  assert.ok((await readFile(up.path)).equals(body.whole))
})

test('spoolUpload: a followed body past the limit, or cut off, leaves no file and ends the worker', async (t) => {
  const dir = await tmp(t)
  const size = FOLLOW_MIN_BYTES + 1024
  const body = unevenBody(size)
  await assert.rejects(spoolUpload(Readable.from(body.chunks), dir, size - 1, { declaredSize: size }),
    (err: unknown) => err instanceof WharfError && err.kind === 'too_large')
  assert.deepEqual(await readdir(dir), [])
  const cut = new PassThrough()
  const pending = spoolUpload(cut, dir, undefined, { declaredSize: size })
  cut.write(body.chunks[0])
  cut.destroy(new Error('client went away'))
  await assert.rejects(pending, (err: unknown) => err instanceof WharfError && err.kind === 'invalid')
  assert.deepEqual(await readdir(dir), [])
})
