// What several workers or instances on one database must agree on, with two real servers sharing
// one database and one blob store: the TOTP replay guard, token revocation and team removal seen by
// the other instance within the caches' lifetime, download counts written when an instance stops,
// and background jobs run by one holder at a time (advisory lock or lease row).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { startTestApp, testDatabases, type DbKind, type TestApp } from '../helpers/test-app.js'
import { PASSWORD, basic, makeOrg, makeToken, makeUser } from '../helpers/auth.js'
import { WebClient } from '../web/web-client.js'
import { totp, matchTotp } from '../../src/auth/totp.js'
import { claimTotpStep } from '../../src/accounts/totp-replay.js'
import { runExclusive, takeLease } from '../../src/jobs/lock.js'
import { TOKEN_CACHE_MS } from '../../src/accounts/tokens.js'
import { eventually } from '../helpers/wharf-process.js'

type T = Parameters<typeof startTestApp>[0]

/** Two servers on one database and one blob store, as two instances behind a load balancer. */
async function twoInstances(t: T, db: DbKind): Promise<[TestApp, TestApp]> {
  const a = await startTestApp(t, { db })
  const b = await startTestApp(t, { env: { WHARF_DATABASE_URL: a.services.config.databaseUrl, WHARF_STORAGE_URL: a.services.config.storageUrl } })
  return [a, b]
}

for (const db of testDatabases()) {
  test(`[${db}] a TOTP code signs in once across instances`, async (t) => {
    const [a, b] = await twoInstances(t, db)
    const alice = await makeUser(a.services, 'alice')
    const secret = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP'
    await a.services.users.setTotp(alice.id, secret, [])
    // Far enough from a step boundary that both sign-ins see the same code.
    await eventually('not at the end of a TOTP step', async () => Date.now() % 30_000 < 20_000, 40_000, 200)
    const code = totp(secret)
    const signIn = async (app: TestApp) => {
      const web = new WebClient(app.url)
      assert.equal((await web.signIn('alice', PASSWORD)).status, 303)
      const _csrf = await web.csrf('/-/login/2fa')
      return (await web.post('/-/login/2fa', { _csrf, code, next: '/' })).res.status
    }
    assert.equal(await signIn(a), 303)
    assert.equal(await signIn(b), 401, 'the same code on the other instance is a replay')

    // Claims racing for one step: exactly one wins; an older step never wins after a newer one.
    const step = matchTotp(secret, code) + 1
    const claims = await Promise.all([a, b, a, b].map((app) => claimTotpStep(app.services.db, alice.id, step)))
    assert.equal(claims.filter(Boolean).length, 1)
    assert.equal(await claimTotpStep(b.services.db, alice.id, step - 1), false)
    assert.equal(await claimTotpStep(b.services.db, alice.id, step + 1), true)
  })

  test(`[${db}] a revoked token and a removed team member stop working on the other instance`, async (t) => {
    const [a, b] = await twoInstances(t, db)
    assert.ok(TOKEN_CACHE_MS <= 5_000, 'token lookups are cached at most 5 s')
    const owner = await makeUser(a.services, 'owner')
    const bob = await makeUser(a.services, 'bob')
    const org = await makeOrg(a.services, 'acme', owner, 'private')
    const team = await a.services.orgs.createTeam(org, { name: 'release', packagesAccess: 'write' })
    await a.services.orgs.addMember(team, bob)
    const token = await makeToken(a.services, bob, ['write:package', 'read:user'])
    const put = (app: TestApp, name: string) => fetch(`${app.url}/api/packages/acme/generic/tool/1.0/${name}`, {
      method: 'PUT', headers: { authorization: `token ${token}` }, body: randomBytes(100),
    })
    // B has seen (and may cache) the token and the membership.
    assert.equal((await put(b, 'one.bin')).status, 201)
    assert.equal((await fetch(`${b.url}/api/v1/user`, { headers: { authorization: `token ${token}` } })).status, 200)

    const removed = await fetch(`${a.url}/api/v1/teams/${team.id}/members/bob`, { method: 'DELETE', headers: { authorization: basic('owner', PASSWORD) } })
    assert.equal(removed.status, 204)
    let n = 0
    await eventually('B refuses the removed member', async () => [403, 404].includes((await put(b, `after-${n++}.bin`)).status))

    const revoked = await fetch(`${a.url}/api/v1/users/bob/tokens/${encodeURIComponent((await a.services.tokens.list(bob))[0]!.name)}`, {
      method: 'DELETE', headers: { authorization: basic('bob', PASSWORD) },
    })
    assert.equal(revoked.status, 204)
    await eventually('B refuses the revoked token', async () =>
      (await fetch(`${b.url}/api/v1/user`, { headers: { authorization: `token ${token}` } })).status === 401)
  })

  test(`[${db}] download counts are written when an instance stops`, async (t) => {
    const [a, b] = await twoInstances(t, db)
    const alice = await makeUser(a.services, 'alice')
    const token = await makeToken(a.services, alice)
    const url = (app: TestApp) => `${app.url}/api/packages/alice/generic/tool/1.0/f.bin`
    assert.equal((await fetch(url(a), { method: 'PUT', headers: { authorization: `token ${token}` }, body: randomBytes(10) })).status, 201)
    for (let i = 0; i < 7; i++) {
      const r = await fetch(url(i % 2 ? a : b), { headers: { authorization: `token ${token}` } })
      assert.equal(r.status, 200)
      await r.arrayBuffer()
    }
    await b.stop()
    await a.stop()
    const { openDatabase } = await import('../../src/storage/db/open.js')
    const { db: kdb } = openDatabase(a.services.config.databaseUrl)
    try {
      const row = await kdb.selectFrom('package_version').select('download_count').executeTakeFirstOrThrow()
      assert.equal(Number(row.download_count), 7)
    } finally {
      await kdb.destroy()
    }
  })

  test(`[${db}] a job runs on one holder at a time`, async (t) => {
    const [a, b] = await twoInstances(t, db)
    let release!: () => void
    const gate = new Promise<void>((r) => { release = r })
    let started!: () => void
    const running = new Promise<void>((r) => { started = r })
    const first = runExclusive(a.services.db, a.services.flavor, 'test-job', async () => {
      started()
      await gate
      return 'a'
    }, { holder: 'instance-a' })
    await running
    const second = await runExclusive(b.services.db, b.services.flavor, 'test-job', async () => 'b', { holder: 'instance-b' })
    assert.deepEqual(second, { ran: false }, 'the other instance skips while one runs')
    const other = await runExclusive(b.services.db, b.services.flavor, 'other-job', async () => 'b', { holder: 'instance-b' })
    assert.deepEqual(other, { ran: true, value: 'b' }, 'other jobs are not blocked')
    release()
    assert.deepEqual(await first, { ran: true, value: 'a' })
    assert.deepEqual(await runExclusive(b.services.db, b.services.flavor, 'test-job', async () => 'b', { holder: 'instance-b' }), { ran: true, value: 'b' })

    if (db === 'sqlite') {
      // A holder that died mid-run blocks the job until its lease runs out, then another takes over.
      assert.equal(await takeLease(a.services.db, 'dead-job', 'dead-holder', 3_600_000), true)
      assert.deepEqual(await runExclusive(b.services.db, 'sqlite', 'dead-job', async () => 1, { holder: 'instance-b' }), { ran: false })
      await a.services.db.updateTable('job_lock').set({ expires_ms: Date.now() - 1 }).where('name', '=', 'dead-job').execute()
      assert.deepEqual(await runExclusive(b.services.db, 'sqlite', 'dead-job', async () => 1, { holder: 'instance-b' }), { ran: true, value: 1 })
      const left = await a.services.db.selectFrom('job_lock').selectAll().execute()
      assert.deepEqual(left, [], 'leases are released after the run')
    }
  })
}
