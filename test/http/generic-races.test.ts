// Racing uploads: the database decides, and nobody gets a 5xx.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { startTestApp, testMatrix } from '../helpers/test-app.js'
import { PASSWORD, basic, makeUser } from '../helpers/auth.js'
import { request, sha256Hex } from './generic-helpers.js'

const N = 16

for (const { db, storage, label } of testMatrix()) {
  test(`[${label}] generic: ${N} uploads of one file name → exactly one 201, the rest 409`, async (t) => {
    const { url, services } = await startTestApp(t, { db, storage })
    await makeUser(services, 'alice')
    const auth = { authorization: basic('alice', PASSWORD) }
    for (let round = 0; round < 3; round++) {
      const target = `${url}/api/packages/alice/generic/race${round}/1.0/same.bin`
      const bodies = Array.from({ length: N }, (_, i) => Buffer.from(`upload ${i} of round ${round} `.repeat(1000)))
      const results = await Promise.all(bodies.map((body, i) =>
        request({ method: 'PUT', url: round === 2 && i % 2 ? target.replace('same.bin', 'SAME.BIN') : target, headers: auth, body })))
      const statuses = results.map((r) => r.status).sort()
      assert.deepEqual(statuses, [201, ...Array<number>(N - 1).fill(409)], `round ${round}`)
      const winner = results.findIndex((r) => r.status === 201)
      const get = await request({ method: 'GET', url: target })
      assert.equal(get.sha256, sha256Hex(bodies[winner]!), 'the stored bytes are the winner\'s')
    }
  })

  test(`[${label}] generic: ${N} different files into a version that does not exist yet all succeed`, async (t) => {
    const { url, services } = await startTestApp(t, { db, storage })
    const alice = await makeUser(services, 'alice')
    const auth = { authorization: basic('alice', PASSWORD) }
    for (let round = 0; round < 3; round++) {
      const base = `${url}/api/packages/alice/generic/${round === 2 ? 'Fresh' : 'fresh'}${round === 1 ? 'er' : ''}/v${round}`
      // identical content in half of them: they also race for the same blob row
      const results = await Promise.all(Array.from({ length: N }, (_, i) =>
        request({ method: 'PUT', url: `${base}/f${i}.bin`, headers: auth, body: Buffer.from(i % 2 ? 'shared' : `own ${i}`) })))
      assert.deepEqual(results.map((r) => r.status), Array<number>(N).fill(201), `round ${round}`)
    }
    const versions = await services.packages.listVersions(alice.id, { type: 'generic' })
    assert.equal(versions.length, 3)
    for (const v of versions) assert.equal((await services.packages.listFiles(v.id)).length, N)
  })
}
