// FileSendStream reuses its read buffers once a response has written them: every byte sent must
// still be the file's, under concurrent downloads of different files, ranges and aborted clients.
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { mkdtemp, open, readdir, rm, writeFile } from 'node:fs/promises'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { test } from 'node:test'
import { FileSendStream, allocatedBuffers, pooledBuffers } from './file-send-stream.js'

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex')

async function fixture(t: import('node:test').TestContext) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'wharf-send-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  // sizes around the 1 MiB chunk: not a multiple, exactly two chunks, and a small one
  const files = new Map<string, Buffer>()
  for (const [name, size] of [['a', 5 * 1024 * 1024 + 12345], ['b', 2 * 1024 * 1024], ['c', 3 * 1024 * 1024 + 1], ['d', 1000]] as const) {
    const bytes = randomBytes(size)
    await writeFile(path.join(dir, name), bytes)
    files.set(name, bytes)
  }
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x')
    const name = url.pathname.slice(1)
    const bytes = files.get(name)
    if (!bytes) return res.writeHead(404).end()
    const start = Number(url.searchParams.get('start') ?? 0)
    const end = Number(url.searchParams.get('end') ?? bytes.length - 1)
    void open(path.join(dir, name), 'r').then((fh) => {
      res.writeHead(200, { 'content-length': end - start + 1 })
      const s = new FileSendStream(fh, start, end)
      s.on('error', () => res.destroy())
      s.pipe(res)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.after(() => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve) }))
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return { files, base }
}

async function openFds(): Promise<number> {
  return (await readdir('/proc/self/fd')).length
}

test('concurrent downloads of different files each get exactly their bytes, and buffers return to the pool', async (t) => {
  const { files, base } = await fixture(t)
  const names = ['a', 'b', 'c', 'd', 'a', 'c', 'b', 'a']
  for (let round = 0; round < 3; round++) {
    const got = await Promise.all(names.map(async (n) => Buffer.from(await (await fetch(`${base}/${n}`)).arrayBuffer())))
    got.forEach((b, i) => assert.equal(sha(b), sha(files.get(names[i] as string) as Buffer), `round ${round}, file ${names[i]}`))
  }
  assert.ok(pooledBuffers() > 0, 'written buffers went back to the pool')
})

test('small files are sent from buffers of their own size: many at once allocate no pool buffers', async (t) => {
  const { files, base } = await fixture(t)
  const before = allocatedBuffers()
  // 40 at once, five times the pool: each taking a 1 MiB buffer would allocate at least 32
  for (let round = 0; round < 3; round++) {
    const got = await Promise.all(Array.from({ length: 40 }, async () => Buffer.from(await (await fetch(`${base}/d`)).arrayBuffer())))
    for (const b of got) assert.equal(sha(b), sha(files.get('d') as Buffer))
  }
  assert.equal(allocatedBuffers(), before)
})

test('a byte range, from the middle of a chunk to the middle of another', async (t) => {
  const { files, base } = await fixture(t)
  const a = files.get('a') as Buffer
  const start = 1024 * 1024 - 7
  const end = 3 * 1024 * 1024 + 99
  const got = Buffer.from(await (await fetch(`${base}/a?start=${start}&end=${end}`)).arrayBuffer())
  assert.equal(sha(got), sha(a.subarray(start, end + 1)))
})

test('a client that goes away mid-download leaves no open file behind', async (t) => {
  const { base } = await fixture(t)
  const before = await openFds()
  for (let i = 0; i < 5; i++) {
    const ac = new AbortController()
    const res = await fetch(`${base}/a`, { signal: ac.signal })
    const reader = res.body?.getReader()
    await reader?.read()
    ac.abort()
  }
  // the server side notices the closed sockets asynchronously
  for (let i = 0; i < 100 && (await openFds()) > before; i++) await new Promise((r) => setTimeout(r, 50))
  assert.ok((await openFds()) <= before, 'every file handle was closed')
})

test('read any other way (async iteration), it is a plain stream of the range', async (t) => {
  const { files } = await fixture(t)
  const dir = await mkdtemp(path.join(os.tmpdir(), 'wharf-send-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  const bytes = files.get('c') as Buffer
  await writeFile(path.join(dir, 'f'), bytes)
  const chunks: Buffer[] = []
  for await (const c of new FileSendStream(await open(path.join(dir, 'f'), 'r'), 10, bytes.length - 11)) chunks.push(c as Buffer)
  assert.equal(sha(Buffer.concat(chunks)), sha(bytes.subarray(10, bytes.length - 10)))
})

test('a file shorter than the range asked for fails the stream instead of sending short', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'wharf-send-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  await writeFile(path.join(dir, 'f'), randomBytes(100))
  const s = new FileSendStream(await open(path.join(dir, 'f'), 'r'), 0, 1999)
  await assert.rejects(async () => {
    for await (const c of s) void c
  }, /shorter than its recorded size/)
})
