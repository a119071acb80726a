// The real go command through one GOPROXY URL: a program importing a hosted module and two
// upstream modules (one of them a dependency of the hosted one) builds with Wharf as the only
// proxy, verifying every upstream module against a real checksum database passed through Wharf;
// then the upstream is stopped and fresh module caches build again from Wharf alone. And the check
// is real: through the same pass-through the go command refuses an upstream zip that differs from
// the database's record (SECURITY ERROR) and a version the database never recorded.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { startTestApp, testDatabases } from '../helpers/test-app.js'
import { makeToken, makeUser } from '../helpers/auth.js'
import { startTestUpstream } from '../helpers/go-upstream.js'
import { GO, TIMEOUT, goEnv, push, run, show, skip, tempDir } from '../helpers/go-command.js'

const HOSTED = 'example.com/team/hosted'
const ONE = 'example.org/up/one'
const TWO = 'example.org/up/Two'

for (const db of testDatabases()) {
  test(`[${db}] go proxy: one GOPROXY for hosted and upstream modules, sumdb through Wharf, builds with the upstream down`, { skip, timeout: TIMEOUT }, async (t) => {
    const up = await startTestUpstream(t)
    await up.add(ONE, 'v1.0.0', { files: { 'one.go': 'package one\n\nfunc Hello() string { return "one v1.0.0" }\n' } })
    await up.add(TWO, 'v1.1.0', { files: { 'two.go': 'package two\n\nfunc Hello() string { return "two v1.1.0" }\n' } })
    const { url, services } = await startTestApp(t, {
      db,
      env: {
        WHARF_GO_UPSTREAM: `${up.url}`, WHARF_GO_UPSTREAM_ANONYMOUS: 'true', WHARF_GO_SUMDB: `${up.sumdbName} ${up.sumdbUrl}`,
      },
    })
    const alice = await makeUser(services, 'alice')
    const src = await tempDir(t, 'wharf-go-src-')
    const hostedDir = path.join(src, 'hosted')
    await mkdir(hostedDir)
    await writeFile(path.join(hostedDir, 'go.mod'), `module ${HOSTED}\n\ngo 1.19\n\nrequire ${TWO} v1.1.0\n`)
    await writeFile(path.join(hostedDir, 'hosted.go'), `package hosted\n\nimport "${TWO}"\n\nfunc Hello() string { return "hosted v1.0.0 with " + two.Hello() }\n`)
    const pushed = await push(hostedDir, 'v1.0.0', url, 'alice', await makeToken(services, alice, ['write:package']))
    assert.equal(pushed.code, 0, show('push', pushed))

    const home = await tempDir(t, 'wharf-go-home-')
    const app = path.join(home, 'app')
    await mkdir(app)
    await writeFile(path.join(app, 'go.mod'), 'module example.com/app\n\ngo 1.19\n')
    await writeFile(path.join(app, 'main.go'), `package main\n\nimport (\n\t"fmt"\n\n\t"${HOSTED}"\n\t"${ONE}"\n)\n\n`
      + 'func main() {\n\tfmt.Println(hosted.Hello())\n\tfmt.Println(one.Hello())\n}\n')
    const proxy = `${url}/api/packages/alice/go`
    // The checksum database is known by name and key only: the go command reaches it through Wharf.
    const sumEnv = { GOSUMDB: up.sumdbKey, GONOSUMDB: 'example.com/team' }
    const envFor = async (n: number) => goEnv(home, proxy, { ...sumEnv, GOPATH: path.join(home, `gopath-${n}`), GOMODCACHE: path.join(home, `modcache-${n}`) })

    const env1 = await envFor(1)
    const tidy = await run(GO, ['mod', 'tidy'], { cwd: app, env: env1 })
    assert.equal(tidy.code, 0, show('go mod tidy', tidy))
    const build = await run(GO, ['build', '-o', 'app-bin', '.'], { cwd: app, env: env1 })
    assert.equal(build.code, 0, show('go build', build))
    const ran = await run(path.join(app, 'app-bin'), [], { cwd: app, env: env1 })
    assert.equal(ran.stdout, 'hosted v1.0.0 with two v1.1.0\none v1.0.0\n')

    const goSum = await readFile(path.join(app, 'go.sum'), 'utf8')
    assert.match(goSum, new RegExp(`^${ONE} v1\\.0\\.0 h1:`, 'm'))
    assert.match(goSum, new RegExp(`^${TWO} v1\\.1\\.0/go\\.mod h1:`, 'm'))
    // Verified through Wharf: the checksum database saw lookups, and the hosted module was never asked
    // for (its parent paths were: the go command probes them, and only WHARF_GO_PRIVATE keeps them in).
    assert.ok(up.requests.some((r) => r.startsWith('/sumdb-server/lookup/')), up.requests.join('\n'))
    assert.ok(up.requests.some((r) => r.startsWith('/sumdb-server/tile/')), up.requests.join('\n'))
    assert.ok(!up.requests.some((r) => r.includes(HOSTED)), up.requests.join('\n'))
    assert.equal(up.count(`${ONE}/@v/v1.0.0.zip`), 1)

    // Kept as go.sum says: the h1: hashes Wharf computed are the go command's.
    for (const [mod, v] of [[ONE, 'v1.0.0'], [TWO, 'v1.1.0']] as const) {
      const cached = (await services.goProxy.versionsOf(mod))[0]!
      assert.equal(cached.version, v)
      assert.ok(goSum.includes(`${mod} ${v} ${cached.zipH1}\n`), `${mod} zip hash ${cached.zipH1} in\n${goSum}`)
      assert.ok(goSum.includes(`${mod} ${v}/go.mod ${cached.modH1}\n`), `${mod} go.mod hash in\n${goSum}`)
    }

    // The upstream is gone: fresh module and checksum caches, no go.sum, and Wharf alone suffices.
    await up.stop()
    await rm(path.join(app, 'go.sum'))
    await rm(path.join(app, 'app-bin'))
    const env2 = await envFor(2)
    const tidy2 = await run(GO, ['mod', 'tidy'], { cwd: app, env: env2 })
    assert.equal(tidy2.code, 0, show('go mod tidy with the upstream down', tidy2))
    const build2 = await run(GO, ['build', '-o', 'app-bin', '.'], { cwd: app, env: env2 })
    assert.equal(build2.code, 0, show('go build with the upstream down', build2))
    const ran2 = await run(path.join(app, 'app-bin'), [], { cwd: app, env: env2 })
    assert.equal(ran2.stdout, 'hosted v1.0.0 with two v1.1.0\none v1.0.0\n')
    assert.equal(await readFile(path.join(app, 'go.sum'), 'utf8'), goSum)
  })
}

for (const db of testDatabases()) {
  test(`[${db}] go proxy: the go command's checksum database check through Wharf refuses a tampered upstream zip and an unrecorded version`, { skip, timeout: TIMEOUT }, async (t) => {
    const up = await startTestUpstream(t)
    // Recorded in the checksum database, then replaced upstream by other bytes (a compromised proxy).
    await up.add(ONE, 'v1.0.0', { files: { 'one.go': 'package one\n\nfunc Hello() string { return "one v1.0.0" }\n' } })
    await up.add(ONE, 'v1.0.0', { files: { 'one.go': 'package one\n\nfunc Hello() string { return "evil" }\n' }, noSum: true })
    // Never recorded at all.
    await up.add(ONE, 'v1.1.0', { files: { 'one.go': 'package one\n' }, noSum: true })
    const { url, services } = await startTestApp(t, {
      db, env: { WHARF_GO_UPSTREAM: up.url, WHARF_GO_UPSTREAM_ANONYMOUS: 'true', WHARF_GO_SUMDB: `${up.sumdbName} ${up.sumdbUrl}` },
    })
    await makeUser(services, 'alice')
    const home = await tempDir(t, 'wharf-go-home-')
    const env = await goEnv(home, `${url}/api/packages/alice/go`, { GOSUMDB: up.sumdbKey, GONOSUMDB: '' })

    const tampered = await run(GO, ['mod', 'download', '-json', `${ONE}@v1.0.0`], { cwd: home, env })
    assert.notEqual(tampered.code, 0, show('go mod download of the tampered zip', tampered))
    assert.match(tampered.stdout, /verifying module: checksum mismatch[\s\S]*SECURITY ERROR/, show('go mod download of the tampered zip', tampered))
    const unrecorded = await run(GO, ['mod', 'download', '-json', `${ONE}@v1.1.0`], { cwd: home, env })
    assert.notEqual(unrecorded.code, 0, show('go mod download of an unrecorded version', unrecorded))
    assert.match(unrecorded.stdout, /verifying (module|go\.mod): .*\/sumdb\/sum\.wharf\.test\/lookup\/.*404 Not Found/, show('go mod download of an unrecorded version', unrecorded))
    // The go command asked the database through Wharf (it knows the database by name and key only).
    assert.ok(up.requests.some((r) => r.startsWith('/sumdb-server/lookup/')), up.requests.join('\n'))
  })
}
