// The real go command and a hosted module whose highest version retracts itself and an earlier
// one: `go get …@latest` picks the highest version no retraction covers, and so does our @latest.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdir, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { startTestApp, testDatabases } from '../helpers/test-app.js'
import { makeToken, makeUser } from '../helpers/auth.js'
import { GO, TIMEOUT, goEnv, push, run, show, skip, tempDir, writeModule } from '../helpers/go-command.js'

const MOD = 'example.com/retracted'

for (const db of testDatabases()) {
  test(`[${db}] go client: go get @latest skips retracted versions`, { skip, timeout: TIMEOUT }, async (t) => {
    const { url, services } = await startTestApp(t, { db })
    const alice = await makeUser(services, 'alice')
    const token = await makeToken(services, alice)
    const src = await tempDir(t, 'wharf-go-src-')
    for (const v of ['v1.0.0', 'v1.1.0', 'v1.2.0', 'v1.3.0']) {
      const dir = await writeModule(src, MOD, 'retracted', v)
      if (v === 'v1.3.0') {
        await writeFile(path.join(dir, 'go.mod'), `module ${MOD}\n\ngo 1.19\n\n// Published by mistake.\nretract v1.3.0\n\nretract v1.2.0 // Broken.\n`)
      }
      const r = await push(dir, v, url, 'alice', token)
      assert.equal(r.code, 0, show(`push ${v}`, r))
    }
    const latest = await fetch(`${url}/api/packages/alice/go/${MOD}/@latest`)
    assert.equal((await latest.json() as { Version: string }).Version, 'v1.1.0')

    const home = await tempDir(t, 'wharf-go-home-')
    const env = await goEnv(home, `${url}/api/packages/alice/go`)
    const app = path.join(home, 'app')
    await mkdir(app)
    await writeFile(path.join(app, 'go.mod'), 'module example.com/consumer\n\ngo 1.19\n')
    const go = (...args: string[]) => run(GO, args, { cwd: app, env })
    const get = await go('get', `${MOD}@latest`)
    assert.equal(get.code, 0, show('go get @latest', get))
    const m = await go('list', '-m', '-json', MOD)
    assert.equal(m.code, 0, show('go list -m', m))
    assert.equal((JSON.parse(m.stdout) as { Version: string }).Version, 'v1.1.0')
    const all = await go('list', '-m', '-retracted', '-versions', '-json', MOD)
    assert.equal(all.code, 0, show('go list -retracted', all))
    assert.deepEqual((JSON.parse(all.stdout) as { Versions: string[] }).Versions, ['v1.0.0', 'v1.1.0', 'v1.2.0', 'v1.3.0'])
    // Asked for by name, a retracted version is still fetched (go warns).
    const named = await go('get', `${MOD}@v1.2.0`)
    assert.equal(named.code, 0, show('go get @v1.2.0', named))
    assert.match(named.stderr, /retracted/)
  })
}
