// The real go command against a real Wharf: modules pushed with `wharf go push`, then listed,
// resolved, downloaded into empty module caches and built, for a public owner over http and a
// private owner over https (self-signed certificate) with credentials in GOPROXY and in .netrc.
// Go's network stays off: GOPROXY is only ours, no checksum database, no VCS fallback.
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { startTestApp, testDatabases } from '../helpers/test-app.js'
import { makeToken, makeUser } from '../helpers/auth.js'
import { GO, TIMEOUT, goEnv, push, run, selfSignedCert, show, skip, tempDir, writeModule } from '../helpers/go-command.js'

const GREET = 'example.com/greet'
const KIT = 'example.com/Upper/Kit'

/** Pushes v1.0.0, v1.1.0 and v1.2.0-beta.1 of example.com/greet and v1.0.0 of example.com/Upper/Kit. */
async function pushFixtures(t: TestContext, url: string, owner: string, token: string, env: Record<string, string> = {}): Promise<void> {
  const src = await tempDir(t, 'wharf-go-src-')
  for (const v of ['v1.0.0', 'v1.2.0-beta.1', 'v1.1.0']) {
    const r = await push(await writeModule(src, GREET, 'greet', v), v, url, owner, token, env)
    assert.equal(r.code, 0, show(`push ${GREET}@${v}`, r))
    assert.match(r.stdout, new RegExp(`pushed ${GREET}@${v.replace(/\./g, '\\.')} .*: 201`))
  }
  const kit = await push(await writeModule(src, KIT, 'kit', 'v1.0.0'), 'v1.0.0', url, owner, token, env)
  assert.equal(kit.code, 0, show('push kit', kit))
  const again = await push(await writeModule(src, GREET, 'greet', 'v1.1.0'), 'v1.1.0', url, owner, token, env)
  assert.equal(again.code, 1, 'pushing a version twice fails')
  assert.match(again.stderr, /answered 409: .*already exists/)
}

/** Every step of the "done when" list, in a fresh consumer module with empty module caches. */
async function useModules(t: TestContext, proxy: string, extra: Record<string, string> = {}): Promise<void> {
  const home = await tempDir(t, 'wharf-go-home-')
  const env = await goEnv(home, proxy, extra)
  const app = path.join(home, 'app')
  await mkdir(app)
  await writeFile(path.join(app, 'go.mod'), 'module example.com/consumer\n\ngo 1.19\n')
  await writeFile(path.join(app, 'main.go'), `package main\n\nimport (\n\t"fmt"\n\n\t"${GREET}"\n\t"${KIT}"\n)\n\n`
    + 'func main() {\n\tfmt.Println(greet.Hello())\n\tfmt.Println(kit.Hello())\n}\n')
  const go = (...args: string[]) => run(GO, args, { cwd: app, env })

  const list = await go('list', '-m', '-versions', GREET)
  assert.equal(list.code, 0, show('go list -m -versions', list))
  assert.equal(list.stdout.trim(), `${GREET} v1.0.0 v1.1.0 v1.2.0-beta.1`)

  const get = await go('get', `${GREET}@latest`)
  assert.equal(get.code, 0, show('go get @latest', get))
  const kit = await go('get', `${KIT}@v1.0.0`)
  assert.equal(kit.code, 0, show('go get kit', kit))
  const req = await go('list', '-m', '-json', GREET)
  assert.equal(req.code, 0, show('go list -m -json', req))
  const info = JSON.parse(req.stdout) as { Version: string; Time: string }
  assert.equal(info.Version, 'v1.1.0', 'the highest release, not the pre-release uploaded after it')
  assert.ok(!Number.isNaN(Date.parse(info.Time)), info.Time)

  const build = await go('build', '-o', 'app-bin', '.')
  assert.equal(build.code, 0, show('go build', build))
  const ran = await run(path.join(app, 'app-bin'), [], { cwd: app, env })
  assert.equal(ran.stdout, `${GREET} v1.1.0\n${KIT} v1.0.0\n`)

  // The same module version downloaded into two empty caches: the same hashes.
  const sums: Array<{ Sum: string; GoModSum: string }> = []
  for (const n of [1, 2]) {
    const r = await run(GO, ['mod', 'download', '-json', `${GREET}@v1.1.0`, `${KIT}@v1.0.0`], {
      cwd: app, env: { ...env, GOMODCACHE: path.join(home, `cache-${n}`) },
    })
    assert.equal(r.code, 0, show(`go mod download (cache ${n})`, r))
    const objs = r.stdout.trim().split(/\n(?=\{)/).map((s) => JSON.parse(s) as { Path: string; Sum: string; GoModSum: string; Error?: string })
    assert.equal(objs.length, 2)
    for (const o of objs) {
      assert.equal(o.Error, undefined)
      assert.match(o.Sum, /^h1:[A-Za-z0-9+/]{43}=$/)
      assert.match(o.GoModSum, /^h1:[A-Za-z0-9+/]{43}=$/)
    }
    const { Sum, GoModSum } = objs.find((o) => o.Path === GREET)!
    sums.push({ Sum, GoModSum })
  }
  assert.deepEqual(sums[0], sums[1])
  // …and the ones `go get` recorded in go.sum from the first cache.
  const goSum = await readFile(path.join(app, 'go.sum'), 'utf8')
  assert.ok(goSum.includes(`${GREET} v1.1.0 ${sums[0]!.Sum}\n`), goSum)
  assert.ok(goSum.includes(`${GREET} v1.1.0/go.mod ${sums[0]!.GoModSum}\n`), goSum)
}

for (const db of testDatabases()) {
  test(`[${db}] go client: public owner over http`, { skip, timeout: TIMEOUT }, async (t) => {
    const { url, services } = await startTestApp(t, { db })
    const alice = await makeUser(services, 'alice')
    await pushFixtures(t, url, 'alice', await makeToken(services, alice, ['write:package']))
    await useModules(t, `${url}/api/packages/alice/go`)
  })

  test(`[${db}] go client: private owner over https, credentials in GOPROXY and in .netrc`, { skip, timeout: TIMEOUT }, async (t) => {
    const tls = await selfSignedCert(t)
    if (!tls) return
    const { cert, key } = tls
    const { url, services } = await startTestApp(t, { db, env: { WHARF_TLS_CERT: cert, WHARF_TLS_KEY: key } })
    assert.match(url, /^https:\/\/127\.0\.0\.1:\d+$/)
    const priv = await makeUser(services, 'priv', { visibility: 'private' })
    await pushFixtures(t, url, 'priv', await makeToken(services, priv, ['write:package']), { SSL_CERT_FILE: cert })
    const token = await makeToken(services, priv, ['read:package'])
    const proxy = `${url}/api/packages/priv/go`

    // Without credentials the go command gets the 401 and says so.
    const home = await tempDir(t, 'wharf-go-home-')
    const anon = await run(GO, ['mod', 'download', '-json', `${GREET}@v1.1.0`], { cwd: home, env: await goEnv(home, proxy, { SSL_CERT_FILE: cert }) })
    assert.notEqual(anon.code, 0)
    assert.match(anon.stdout + anon.stderr, /401 Unauthorized/)

    await useModules(t, proxy.replace('https://', `https://priv:${token}@`), { SSL_CERT_FILE: cert })

    const netrcDir = await tempDir(t, 'wharf-go-netrc-')
    const netrc = path.join(netrcDir, 'netrc')
    await writeFile(netrc, `machine 127.0.0.1\nlogin priv\npassword ${token}\n`, { mode: 0o600 })
    // This time GOPRIVATE (with GONOPROXY=none) and the default GOSUMDB, as docs/go.md suggests:
    // the checksum database must not be asked about these modules.
    await useModules(t, proxy, { SSL_CERT_FILE: cert, NETRC: netrc, GONOSUMDB: '', GOPRIVATE: 'example.com', GONOPROXY: 'none', GOSUMDB: '' })
  })
}
