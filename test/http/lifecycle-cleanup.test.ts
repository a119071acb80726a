// Issue 11, cleanup rules: Gitea's fields, a preview equal to what the run removes, a hostile
// pattern that cannot hang the server, the run log, the daily job under a lease.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { startTestApp, testDatabases } from '../helpers/test-app.js'
import { PASSWORD, basic, makeOrg, makeTeam, makeUser } from '../helpers/auth.js'
import { call } from '../helpers/http.js'
import { request } from './generic-helpers.js'
import { runCleanupRules } from '../../src/jobs/cleanup-rules.js'
import { compilePattern } from '../../src/packages/cleanup.js'

for (const db of testDatabases()) {
  test(`[${db}] cleanup rules: preview lists exactly what the run removes; keep count, patterns, full names, age`, async (t) => {
    const { url, services } = await startTestApp(t, { db })
    const alice = await makeUser(services, 'alice')
    const bob = await makeUser(services, 'bob')
    const acme = await makeOrg(services, 'acme', alice)
    await makeTeam(services, acme, 'writers', 'write', [bob])
    const asAlice = basic('alice', PASSWORD)
    const rules = `${url}/api/v1/packages/acme/-/cleanup-rules`
    const versions = ['1.0', '1.1-dev', '1.2-dev', '1.3', '1.4-dev', '1.5']
    for (const pkg of ['tool', 'other']) {
      for (const v of versions) {
        assert.equal((await request({ method: 'PUT', url: `${url}/api/packages/acme/generic/${pkg}/${v}/f.bin`, headers: { authorization: asAlice }, body: Buffer.from(`${pkg}${v}`) })).status, 201)
      }
    }
    assert.equal((await call(`${rules}/generic`, 'GET', asAlice)).status, 404)
    assert.equal((await call(`${rules}/generic`, 'PUT', basic('bob', PASSWORD), { enabled: true })).status, 403, 'a writer may not')
    assert.equal((await call(`${rules}/nosuchtype`, 'PUT', asAlice, { enabled: true })).status, 404)
    assert.equal((await call(`${rules}/generic`, 'PUT', asAlice, { keep_count: -1 })).status, 422)
    assert.equal((await call(`${rules}/generic`, 'PUT', asAlice, { remove_pattern: '(a)\\1' })).status, 422, 'backreferences are not RE2')
    assert.equal((await call(`${rules}/generic`, 'PUT', asAlice, { keep_pattern: '(?=x)' })).status, 422, 'nor are look-aheads')

    const put = await call(`${rules}/generic`, 'PUT', asAlice, { enabled: true, keep_count: 2, remove_pattern: '.*-DEV' })
    assert.equal(put.status, 200)
    assert.equal(put.body.type, 'generic')
    assert.equal(put.body.match_full_name, false)
    const preview = await call(`${rules}/generic/preview`, 'GET', basic('bob', PASSWORD))
    assert.equal(preview.status, 200)
    const names = (xs: Array<{ name: string; version: string }>) => xs.map((c) => `${c.name} ${c.version}`)
    assert.deepEqual(names(preview.body), ['other 1.2-dev', 'other 1.1-dev', 'tool 1.2-dev', 'tool 1.1-dev'])
    const ran = await call(`${rules}/generic/run`, 'POST', asAlice)
    assert.equal(ran.status, 200)
    assert.deepEqual(names(ran.body), names(preview.body), 'the run removes exactly what the preview listed')
    const left = await services.packages.listVersionsOfPackage({ ownerId: acme.id, type: 'generic', name: 'tool' })
    assert.deepEqual(left.map((v) => v.version), ['1.0', '1.3', '1.4-dev', '1.5'])
    assert.deepEqual((await call(`${rules}/generic/preview`, 'GET', asAlice)).body, [], 'nothing left to do')

    // match against "name/version", keep pattern, and age (a run 30 days from now)
    await call(`${rules}/generic`, 'PUT', asAlice, { keep_count: 0, remove_pattern: 'tool/.*', match_full_name: true, keep_pattern: '.*/1\\.5' })
    assert.deepEqual(names((await call(`${rules}/generic/preview`, 'GET', asAlice)).body), ['tool 1.4-dev', 'tool 1.3', 'tool 1.0'])
    await call(`${rules}/generic`, 'PUT', asAlice, { remove_days: 7 })
    const rule = await services.cleanup.get(acme.id, 'generic')
    assert.deepEqual(await services.cleanup.preview(rule), [], 'all younger than 7 days')
    assert.deepEqual((await services.cleanup.preview(rule, Date.now() + 30 * 86_400_000)).map((c) => c.version), ['1.4-dev', '1.3', '1.0'])

    // the log of runs
    const runs = await call(`${url}/api/v1/packages/acme/-/cleanup-runs`, 'GET', asAlice)
    assert.equal(runs.body.length, 1)
    assert.equal(runs.body[0].trigger, 'manual')
    assert.equal(runs.body[0].removed_count, 4)
    assert.deepEqual(names(runs.body[0].removed), names(preview.body))
    assert.equal((await call(`${rules}/generic`, 'DELETE', asAlice)).status, 204)
    assert.deepEqual((await call(rules, 'GET', asAlice)).body, [])
  })

  test(`[${db}] cleanup rules: a catastrophic-backtracking pattern is matched in linear time`, { timeout: 120_000 }, async (t) => {
    const { url, services } = await startTestApp(t, { db })
    await makeUser(services, 'alice')
    const auth = basic('alice', PASSWORD)
    const hostile = `${'a'.repeat(254)}!`
    for (const v of [hostile, 'aaab']) {
      assert.equal((await request({ method: 'PUT', url: `${url}/api/packages/alice/generic/evil/${v}/f.bin`, headers: { authorization: auth }, body: Buffer.from('x') })).status, 201)
    }
    // (a+)+b backtracks exponentially in a backtracking engine on "aaaa…!"; RE2 semantics do not
    assert.equal((await call(`${url}/api/v1/packages/alice/-/cleanup-rules/generic`, 'PUT', auth, { enabled: true, remove_pattern: '(a+)+b', keep_pattern: '(a|aa)*c' })).status, 200)
    const preview = await call(`${url}/api/v1/packages/alice/-/cleanup-rules/generic/preview`, 'GET', auth)
    assert.equal(preview.status, 200)
    assert.deepEqual(preview.body.map((c: { version: string }) => c.version), ['aaab'])
    assert.equal((await fetch(`${url}/api/healthz`)).status, 200, 'the server still answers')
    // a backtracking engine would need ~2^100000 steps here; this returns at once
    assert.equal(compilePattern('remove_pattern', '(a+)+b')!.matches(`${'a'.repeat(100_000)}!`), false)
  })

  test(`[${db}] cleanup job: enabled rules run once per interval, on one instance at a time`, async (t) => {
    const { url, services } = await startTestApp(t, { db })
    const alice = await makeUser(services, 'alice')
    const bob = await makeUser(services, 'bob')
    for (const [owner, who] of [['alice', alice], ['bob', bob]] as const) {
      for (const v of ['1', '2', '3']) {
        assert.equal((await request({ method: 'PUT', url: `${url}/api/packages/${owner}/generic/p/${v}/f`, headers: { authorization: basic(who.name, PASSWORD) }, body: Buffer.from(v) })).status, 201)
      }
    }
    await services.cleanup.put(alice.id, 'generic', { enabled: true, keep_count: 1 })
    await services.cleanup.put(bob.id, 'generic', { enabled: false, keep_count: 1 })
    const deps = { db: services.db, cleanup: services.cleanup, intervalMs: 86_400_000 }
    // two instances tick at the same moment: one runs
    const both = await Promise.all([runCleanupRules({ ...deps, holder: 'a' }), runCleanupRules({ ...deps, holder: 'b' })])
    assert.deepEqual(both.map((r) => r.ran).sort(), [false, true])
    assert.equal(both.find((r) => r.ran)!.removed, 2)
    assert.equal((await runCleanupRules(deps)).ran, false, 'not due again for a day')
    assert.deepEqual((await services.packages.listVersionsOfPackage({ ownerId: alice.id, type: 'generic', name: 'p' })).map((v) => v.version), ['3'])
    assert.equal((await services.packages.listVersionsOfPackage({ ownerId: bob.id, type: 'generic', name: 'p' })).length, 3, 'a disabled rule does not run')
    const runs = await services.cleanup.runs(alice.id)
    assert.equal(runs[0]!.trigger, 'schedule')
    assert.deepEqual(runs[0]!.removed.map((c) => c.version), ['2', '1'])
    assert.equal((await runCleanupRules({ ...deps, intervalMs: 0 })).ran, true, 'due at once with a zero interval')
  })
}
