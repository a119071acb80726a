// Zero-config `go get` as users run it (docs/go.md "Zero-config go get"): the real go command,
// no GOPROXY (direct only), a private owner's module named after the server, https with a
// self-signed certificate (SSL_CERT_FILE) and the credentials in .netrc (NETRC). The go command
// must read the go-import meta of `https://wharf.test/priv/lib?go-get=1` and then use the owner's
// GOPROXY endpoint it names. A module path cannot carry a port, so the go command reaches
// `wharf.test:443` through HTTPS_PROXY: a small CONNECT proxy here that tunnels every CONNECT to
// the test server's random port (no DNS involved). Without .netrc the same download fails.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import net, { type AddressInfo } from 'node:net'
import https from 'node:https'
import path from 'node:path'
import { startTestApp, testDatabases } from '../helpers/test-app.js'
import { makeToken, makeUser } from '../helpers/auth.js'
import { GO, TIMEOUT, goEnv, push, run, selfSignedCert, show, skip, tempDir, writeModule } from '../helpers/go-command.js'

const HOST = 'wharf.test'
const MOD = `${HOST}/priv/lib`
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex')

/** An HTTP CONNECT proxy that tunnels every CONNECT, whatever host it names, to 127.0.0.1:port. */
async function connectProxy(t: { after(fn: () => Promise<void>): void }, port: number): Promise<{ url: string; asked: string[] }> {
  const asked: string[] = []
  const sockets = new Set<net.Socket>()
  const server = net.createServer((client) => {
    sockets.add(client)
    client.on('close', () => sockets.delete(client))
    client.on('error', () => {})
    let head = Buffer.alloc(0)
    const onData = (d: Buffer) => {
      head = Buffer.concat([head, d])
      const end = head.indexOf('\r\n\r\n')
      if (end < 0) return
      client.off('data', onData)
      const m = /^CONNECT (\S+) HTTP\/1\.[01]\r\n/.exec(head.subarray(0, end).toString('latin1'))
      if (!m) {
        client.end('HTTP/1.1 405 Method Not Allowed\r\ncontent-length: 0\r\n\r\n')
        return
      }
      asked.push(m[1]!)
      const upstream = net.connect(port, '127.0.0.1', () => {
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n')
        const rest = head.subarray(end + 4)
        if (rest.length > 0) upstream.write(rest)
        client.pipe(upstream).pipe(client)
      })
      sockets.add(upstream)
      upstream.on('close', () => sockets.delete(upstream))
      upstream.on('error', () => client.destroy())
    }
    client.on('data', onData)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.after(async () => {
    for (const s of sockets) s.destroy()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  })
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, asked }
}

/** GET over https trusting `ca` only. */
function httpsGet(url: string, ca: Buffer, auth: string): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    https.get(url, { ca, headers: { authorization: auth } }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }))
      res.on('error', reject)
    }).on('error', reject)
  })
}

for (const db of testDatabases()) {
  test(`[${db}] go get: a private module named after the server, over https with a self-signed certificate and .netrc, no GOPROXY`, { skip, timeout: TIMEOUT }, async (t) => {
    const tls = await selfSignedCert(t, HOST)
    if (!tls) return
    const { cert, key } = tls
    const log: string[] = []
    const { url, services } = await startTestApp(t, {
      db, env: { WHARF_TLS_CERT: cert, WHARF_TLS_KEY: key, WHARF_PUBLIC_URL: `https://${HOST}`, WHARF_LOG_LEVEL: 'info' },
      ext: { logStream: { write: (line: string) => { log.push(line) } } },
    })
    assert.match(url, /^https:\/\/127\.0\.0\.1:\d+$/)
    const priv = await makeUser(services, 'priv', { visibility: 'private' })
    const src = await tempDir(t, 'wharf-go-src-')
    const dir = await writeModule(src, MOD, 'lib', 'v1.0.0')
    const pushed = await push(dir, 'v1.0.0', url, 'priv', await makeToken(services, priv, ['write:package']), { SSL_CERT_FILE: cert })
    assert.equal(pushed.code, 0, show('push', pushed))
    const token = await makeToken(services, priv, ['read:package'])
    const auth = `Basic ${Buffer.from(`priv:${token}`).toString('base64')}`
    const served = await httpsGet(`${url}/api/packages/priv/go/${MOD}/@v/v1.0.0.zip`, await readFile(cert), auth)
    assert.equal(served.status, 200)

    const proxy = await connectProxy(t, Number(new URL(url).port))
    const home = await tempDir(t, 'wharf-go-home-')
    const netrc = path.join(home, 'netrc')
    await writeFile(netrc, `machine ${HOST}\nlogin priv\npassword ${token}\n`, { mode: 0o600 })
    // As docs/go.md says: GOPRIVATE only. GOPROXY=direct makes the go command find the module
    // through the go-import meta; GOPRIVATE keeps the checksum database out (GOSUMDB is the default).
    const envOf = async (n: number, extra: Record<string, string>) => goEnv(home, 'direct', {
      GOPRIVATE: HOST, GONOPROXY: '', GONOSUMDB: '', GOSUMDB: '', GOPATH: path.join(home, `gopath-${n}`), GOMODCACHE: path.join(home, `modcache-${n}`),
      HTTPS_PROXY: proxy.url, NO_PROXY: '', SSL_CERT_FILE: cert, ...extra,
    })

    // The server's access log from line `from` on: "GET /path status".
    const seen = (from: number) => log.slice(from).map((l) => JSON.parse(l) as { url?: string; method?: string; status?: number })
      .filter((l) => l.url !== undefined).map((l) => `${l.method} ${l.url} ${l.status}`)
    // A request's line is written after its answer: wait briefly for the lines expected.
    const expectSeen = async (from: number, want: string[]) => {
      for (let i = 0; i < 40 && seen(from).length < want.length; i++) await new Promise((r) => setTimeout(r, 50))
      assert.deepEqual(seen(from), want)
    }

    // Without credentials: the go-get=1 page answers 401, and the go command gives up.
    const beforeAnon = log.length
    const anonEnv = await envOf(0, { NETRC: path.join(home, 'no-such-netrc') })
    const anon = await run(GO, ['mod', 'download', '-json', `${MOD}@v1.0.0`], { cwd: home, env: anonEnv })
    assert.notEqual(anon.code, 0, show('go mod download without .netrc', anon))
    assert.match(anon.stdout + anon.stderr, /reading https:\/\/wharf\.test\/priv\/lib\?go-get=1: 401 Unauthorized/, show('go mod download without .netrc', anon))
    await expectSeen(beforeAnon, ['GET /priv/lib?go-get=1 401'])
    assert.ok(proxy.asked.length > 0, 'the go command went through the CONNECT proxy')

    // With .netrc: the download succeeds, and what lands in the module cache is what Wharf serves.
    const env = await envOf(1, { NETRC: netrc })
    const beforeDl = log.length
    const dl = await run(GO, ['mod', 'download', '-json', `${MOD}@v1.0.0`], { cwd: home, env })
    assert.equal(dl.code, 0, show('go mod download', dl))
    const info = JSON.parse(dl.stdout) as { Path: string; Version: string; Zip: string; Dir: string; Sum: string; GoModSum: string }
    assert.equal(info.Path, MOD)
    // The go command read the meta, then used the GOPROXY endpoint the meta names, with the credentials.
    await expectSeen(beforeDl, [
      'GET /priv/lib?go-get=1 200',
      ...['info', 'mod', 'zip'].map((ext) => `GET /api/packages/priv/go/${MOD}/@v/v1.0.0.${ext} 200`),
    ])
    assert.equal(info.Version, 'v1.0.0')
    assert.equal(sha256(await readFile(info.Zip)), sha256(served.body), 'the downloaded zip is the one Wharf serves')
    assert.equal(await readFile(path.join(info.Dir, 'lib.go'), 'utf8'),
      `package lib\n\n// Hello says which version was built.\nfunc Hello() string { return "${MOD} v1.0.0" }\n`)
    assert.equal(await readFile(path.join(info.Dir, 'go.mod'), 'utf8'), `module ${MOD}\n\ngo 1.19\n`)

    // `go get` in a program, then it builds and runs with the module.
    const app = path.join(home, 'app')
    await mkdir(app)
    await writeFile(path.join(app, 'go.mod'), 'module example.com/app\n\ngo 1.19\n')
    await writeFile(path.join(app, 'main.go'), `package main\n\nimport (\n\t"fmt"\n\n\t"${MOD}"\n)\n\nfunc main() { fmt.Println(lib.Hello()) }\n`)
    const get = await run(GO, ['get', `${MOD}@v1.0.0`], { cwd: app, env: await envOf(2, { NETRC: netrc }) })
    assert.equal(get.code, 0, show('go get', get))
    assert.match(await readFile(path.join(app, 'go.sum'), 'utf8'), new RegExp(`^${MOD.replace(/\./g, '\\.')} v1\\.0\\.0 ${info.Sum.replace(/[+/]/g, '\\$&')}$`, 'm'))
    const build = await run(GO, ['build', '-o', 'app-bin', '.'], { cwd: app, env: await envOf(2, { NETRC: netrc }) })
    assert.equal(build.code, 0, show('go build', build))
    const ran = await run(path.join(app, 'app-bin'), [], { cwd: app, env })
    assert.equal(ran.stdout, `${MOD} v1.0.0\n`)

    // Every connection asked for the module's host on 443: the go command used the meta's URL, not ours.
    assert.ok(proxy.asked.every((a) => a === `${HOST}:443`), proxy.asked.join('\n'))
  })
}
