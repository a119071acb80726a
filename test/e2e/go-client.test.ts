// The real go command against a real Wharf: modules pushed with `wharf go push`, then listed,
// resolved, downloaded into empty module caches and built, for a public owner over http and a
// private owner over https (self-signed certificate) with credentials in GOPROXY and in .netrc.
// Go's network stays off: GOPROXY is only ours, no checksum database, no VCS fallback.
import { after, test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { startTestApp, testDatabases } from '../helpers/test-app.js'
import { makeToken, makeUser } from '../helpers/auth.js'

const ROOT = path.resolve(import.meta.dirname, '../..')
const GO = process.env.WHARF_TEST_GO ?? '/usr/bin/go'
const TIMEOUT = 300_000
const GREET = 'example.com/greet'
const KIT = 'example.com/Upper/Kit'

function goMissing(): string | undefined {
  const r = spawnSync(GO, ['version'], { encoding: 'utf8' })
  if (r.status === 0) return undefined
  const why = `the go command (${GO}) is not available: ${r.error?.message ?? r.stderr}`
  if (process.env.CI === 'true') throw new Error(`${why}; CI must run these tests`)
  return why
}
const skip = goMissing()
if (skip) process.stdout.write(`skipping go client tests: ${skip}\n`)

interface Run { code: number | null; stdout: string; stderr: string }

/** Runs a command without blocking the event loop (the server answers from this process). */
function run(cmd: string, args: string[], opts: { cwd: string; env: Record<string, string> }): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}

const show = (what: string, r: Run) => `${what} exited ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`

async function tempDir(t: TestContext, prefix: string): Promise<string> {
  const d = await mkdtemp(path.join(os.tmpdir(), prefix))
  t.after(async () => {
    // The go command makes its module cache read-only; without this a non-root rm fails.
    spawnSync('chmod', ['-R', 'u+w', d])
    await rm(d, { recursive: true, force: true })
  })
  return d
}

/** `wharf go push` as users run it: a separate process, token from WHARF_TOKEN. */
async function push(dir: string, version: string, url: string, owner: string, token: string, extraEnv: Record<string, string> = {}): Promise<Run> {
  return run(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/main.ts'), 'go', 'push', dir, '--version', version, '--url', url, '--owner', owner],
    { cwd: ROOT, env: { PATH: process.env.PATH ?? '', HOME: os.tmpdir(), WHARF_TOKEN: token, ...extraEnv } })
}

/** A module folder whose code says which version it is. */
async function writeModule(base: string, module: string, pkg: string, version: string): Promise<string> {
  const dir = path.join(base, `${pkg}-${version}`)
  await mkdir(dir, { recursive: true })
  await writeFile(path.join(dir, 'go.mod'), `module ${module}\n\ngo 1.19\n`)
  await writeFile(path.join(dir, `${pkg}.go`), `package ${pkg}\n\n// Hello says which version was built.\nfunc Hello() string { return "${module} ${version}" }\n`)
  return dir
}

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

// One build cache for the whole file: it holds compiled code, not modules, and saves minutes.
let goCache: string | undefined
after(async () => {
  if (goCache) await rm(goCache, { recursive: true, force: true })
})

/** The go command's environment: nothing inherited but PATH, every cache and config in `home`. */
async function goEnv(home: string, proxy: string, extra: Record<string, string> = {}): Promise<Record<string, string>> {
  goCache ??= await mkdtemp(path.join(os.tmpdir(), 'wharf-gocache-'))
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, GOPATH: path.join(home, 'gopath'), GOMODCACHE: path.join(home, 'modcache'),
    GOCACHE: goCache, GOENV: 'off', GOFLAGS: '-mod=mod', GO111MODULE: 'on', GOWORK: 'off', CGO_ENABLED: '0',
    GOPROXY: proxy, GONOSUMDB: 'example.com', GOSUMDB: 'off', GONOPROXY: 'none', GOPRIVATE: '', GOVCS: '*:off',
    GIT_TERMINAL_PROMPT: '0', ...extra,
  }
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

/** A certificate for 127.0.0.1, or undefined (the test skipped) when openssl is missing outside CI. */
async function selfSignedCert(t: TestContext): Promise<{ cert: string; key: string } | undefined> {
  const dir = await tempDir(t, 'wharf-go-tls-')
  const cert = path.join(dir, 'cert.pem')
  const key = path.join(dir, 'key.pem')
  const gen = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1',
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { encoding: 'utf8' })
  if (gen.status !== 0) {
    if (process.env.CI === 'true') assert.fail(`openssl failed: ${gen.error?.message ?? gen.stderr}`)
    t.skip('openssl is not available')
    return undefined
  }
  return { cert, key }
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
