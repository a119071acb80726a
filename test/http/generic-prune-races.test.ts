// An upload racing a delete that prunes the version or package it thinks is empty (issue 8, item 1):
// whatever the interleaving, an upload answered 201 must stay downloadable with its bytes.
// Each scenario repeats the race many times, bounded in rounds and in time.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { startTestApp, testDatabases } from '../helpers/test-app.js'
import { PASSWORD, basic, makeUser } from '../helpers/auth.js'
import { request, sha256Hex } from './generic-helpers.js'

const ROUNDS = 300
const BUDGET_MS = 45_000

type Scenario = { name: string; target: (round: number) => string }

const scenarios: Scenario[] = [
  // The delete removes the version's only other file, so it prunes the version (and the package).
  { name: 'a file into an existing version', target: () => 'v1/b.bin' },
  // The delete removes the package's only other version, so it prunes the package.
  { name: 'a new version into an existing package', target: () => 'v2/b.bin' },
]

for (const db of testDatabases()) {
  for (const s of scenarios) {
    test(`[${db}] generic: ${s.name} while a delete prunes what it thinks is empty, every 201 stays downloadable`, { timeout: 300_000 }, async (t) => {
      const { url, services } = await startTestApp(t, { db })
      await makeUser(services, 'alice')
      const auth = { authorization: basic('alice', PASSWORD) }
      const deadline = Date.now() + BUDGET_MS
      let rounds = 0
      let created = 0
      const lost: string[] = []
      for (let round = 0; round < ROUNDS && Date.now() < deadline; round++) {
        rounds++
        const pkg = `${url}/api/packages/alice/generic/p${round}`
        assert.equal((await request({ method: 'PUT', url: `${pkg}/v1/a.bin`, headers: auth, body: Buffer.from(`a ${round}`) })).status, 201)
        const body = Buffer.from(`b ${round} `.repeat(50))
        const target = `${pkg}/${s.target(round)}`
        const [put, del] = await Promise.all([
          request({ method: 'PUT', url: target, headers: auth, body }),
          request({ method: 'DELETE', url: `${pkg}/v1/a.bin`, headers: auth }),
        ])
        assert.equal(del.status, 204, `round ${round}: delete`)
        // 201, or (rarely) a retried transaction still losing: never a 5xx and never a silent loss.
        assert.ok(put.status === 201, `round ${round}: upload answered ${put.status} ${put.body.toString()}`)
        created++
        const get = await request({ method: 'GET', url: target })
        if (get.status !== 200 || get.sha256 !== sha256Hex(body)) lost.push(`round ${round}: GET ${get.status}`)
      }
      t.diagnostic(`${rounds} rounds, ${created} uploads answered 201`)
      assert.ok(rounds >= 20, `only ${rounds} rounds ran in the time budget`)
      assert.deepEqual(lost, [], `${lost.length} of ${created} uploads answered 201 were lost`)
    })
  }
}

for (const db of testDatabases()) {
  test(`[${db}] deleting a user or organization while a package is uploaded for it: a 201 upload is never cascaded away`, { timeout: 300_000 }, async (t) => {
    const { url, services } = await startTestApp(t, { db })
    const alice = await makeUser(services, 'alice', { admin: true })
    const auth = { authorization: basic('alice', PASSWORD) }
    const deadline = Date.now() + BUDGET_MS / 2
    const lost: string[] = []
    let rounds = 0
    for (let round = 0; round < 100 && Date.now() < deadline; round++) {
      rounds++
      const org = await services.orgs.create({ name: `org${round}` }, alice)
      const user = await makeUser(services, `user${round}`)
      const body = Buffer.from(`round ${round}`)
      const orgFile = `${url}/api/packages/org${round}/generic/p/1/f.bin`
      const userFile = `${url}/api/packages/user${round}/generic/p/1/f.bin`
      const [orgPut, orgDel, userPut, userDel] = await Promise.all([
        request({ method: 'PUT', url: orgFile, headers: auth, body }),
        services.orgs.delete(org).then(() => 'deleted', (err: Error) => err.message),
        request({ method: 'PUT', url: userFile, headers: { authorization: basic(`user${round}`, PASSWORD) }, body }),
        services.users.delete(user.name).then(() => 'deleted', (err: Error) => err.message),
      ])
      for (const [name, put, del, file] of [['org', orgPut, orgDel, orgFile], ['user', userPut, userDel, userFile]] as const) {
        assert.ok(put.status < 500, `round ${round} ${name}: upload answered ${put.status} ${put.body.toString()}`)
        if (put.status !== 201) continue
        assert.match(del, /still owns/, `round ${round} ${name}: the delete went ahead after a 201 upload`)
        const get = await request({ method: 'GET', url: file })
        if (get.status !== 200 || get.sha256 !== sha256Hex(body)) lost.push(`round ${round} ${name}: GET ${get.status}`)
      }
    }
    t.diagnostic(`${rounds} rounds`)
    assert.deepEqual(lost, [])
  })
}
