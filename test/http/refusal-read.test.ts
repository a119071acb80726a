// A body over a limit is refused while the client is still sending it (issue 8, item 9): the client
// must be able to read the 413, not get a reset (EPIPE/ECONNRESET) because the server closed at once.
// A raw socket keeps sending the body as fast as the server takes it and records what it reads.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import net from 'node:net'
import { startTestApp, testDatabases } from '../helpers/test-app.js'
import { PASSWORD, basic, makeUser } from '../helpers/auth.js'

interface Outcome { response: string; error?: string }

/**
 * Sends the head, then `total` bytes of body in 64 KiB writes, and reads the answer only after the
 * last write (or a failed one), as a client busy sending does: a server that closed at once has
 * reset the connection by then, and the reset takes the unread answer with it.
 */
function sendAndRead(url: string, head: string, total: number): Promise<Outcome> {
  const { hostname, port } = new URL(url)
  return new Promise((resolve) => {
    const socket = net.connect({ host: hostname, port: Number(port) })
    const chunk = Buffer.alloc(64 * 1024, 0x61)
    let sent = 0
    let response = ''
    let writeError: string | undefined
    let done = false
    const finish = (error?: string) => {
      if (done) return
      done = true
      clearTimeout(timer)
      socket.destroy()
      const err = error ?? writeError
      resolve({ response, ...(err ? { error: err } : {}) })
    }
    // Bounded: a server that neither answers nor closes fails the test instead of hanging it.
    const timer = setTimeout(() => finish('timed out'), 60_000)
    const startReading = () => {
      socket.on('data', (d: Buffer) => {
        response += d.toString('latin1')
      })
      socket.on('end', () => finish())
      socket.resume()
    }
    const pump = () => {
      while (sent < total && !writeError) {
        sent += chunk.length
        if (!socket.write(chunk, (err) => {
          if (err && !writeError) writeError = (err as NodeJS.ErrnoException).code ?? err.message
        })) {
          socket.once('drain', pump)
          return
        }
      }
      startReading()
    }
    socket.pause()
    socket.on('connect', () => {
      socket.write(head)
      pump()
    })
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (!writeError) writeError = err.code ?? err.message
      startReading()
      // Whatever the socket still holds is read before the close.
      setTimeout(() => finish(), 200)
    })
    socket.on('close', () => finish())
  })
}

const ROUNDS = 6

for (const db of testDatabases()) {
  test(`[${db}] a body over a limit: the client that keeps sending reads the 413`, { timeout: 300_000 }, async (t) => {
    const { url, services } = await startTestApp(t, { db, env: { WHARF_LIMIT_SIZE_GENERIC: '1024' } })
    await makeUser(services, 'admin', { admin: true })
    const auth = basic('admin', PASSWORD)
    const host = new URL(url).host
    const cases = [
      // Fastify's 1 MiB JSON body limit
      { name: 'JSON to POST /api/v1/admin/users', total: 8 << 20,
        head: `POST /api/v1/admin/users HTTP/1.1\r\nHost: ${host}\r\nAuthorization: ${auth}\r\nContent-Type: application/json\r\nContent-Length: ${8 << 20}\r\n\r\n` },
      // WHARF_LIMIT_SIZE_GENERIC known from Content-Length before the body is read, no Expect
      { name: 'generic upload, Content-Length over the limit', total: 8 << 20,
        head: `PUT /api/packages/admin/generic/p/1/big.bin HTTP/1.1\r\nHost: ${host}\r\nAuthorization: ${auth}\r\nContent-Length: ${8 << 20}\r\n\r\n` },
      // … and found only while streaming a chunked body
      { name: 'generic upload, chunked over the limit', total: 8 << 20, chunked: true,
        head: `PUT /api/packages/admin/generic/p/1/big.bin HTTP/1.1\r\nHost: ${host}\r\nAuthorization: ${auth}\r\nTransfer-Encoding: chunked\r\n\r\n` },
    ]
    for (const c of cases) {
      for (let round = 0; round < ROUNDS; round++) {
        // A chunked body: one endless chunk of 'a's is as good as many for the server's limit.
        const head = c.chunked ? `${c.head}${(c.total).toString(16)}\r\n` : c.head
        const out = await sendAndRead(url, head, c.total)
        assert.match(out.response, /^HTTP\/1\.1 413 /, `${c.name}, round ${round}: read ${JSON.stringify(out.response.slice(0, 80))}, ${out.error ?? 'no error'}`)
      }
    }
  })
}
