// The Go proxy cache's singleflight across instances (issue 12, docs/go.md §7): two Wharf servers
// on one PostgreSQL database and one blob store, a test upstream that records every request and
// holds its answers until all requests are in. Cold requests for one missing version, split over
// both instances, make exactly one upstream fetch of each of its .info, .mod and .zip, and every
// client gets the same bytes. PostgreSQL only (SQLite is one machine's file): skipped with the
// reason when WHARF_TEST_DATABASE_URL is unset, and required under CI=true.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { startTestApp, type TestApp } from '../helpers/test-app.js'
import { makeUser } from '../helpers/auth.js'
import { startTestUpstream, type TestUpstream } from '../helpers/go-upstream.js'
import { goClient, moduleZip } from '../http/go-helpers.js'

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex')

let skip: string | undefined
if (!process.env.WHARF_TEST_DATABASE_URL) {
  if (process.env.CI === 'true') throw new Error('WHARF_TEST_DATABASE_URL must be set under CI=true')
  skip = 'WHARF_TEST_DATABASE_URL is not set: the cross-instance singleflight needs PostgreSQL'
  process.stdout.write(`skipping the Go proxy singleflight tests: ${skip}\n`)
}

type T = Parameters<typeof startTestApp>[0]

async function twoInstances(t: T, up: TestUpstream): Promise<[TestApp, TestApp]> {
  const env = { WHARF_GO_UPSTREAM: up.url, WHARF_GO_UPSTREAM_ANONYMOUS: 'true' }
  const a = await startTestApp(t, { db: 'postgres', env })
  const b = await startTestApp(t, { env: { ...env, WHARF_DATABASE_URL: a.services.config.databaseUrl, WHARF_STORAGE_URL: a.services.config.storageUrl } })
  await makeUser(a.services, 'alice')
  return [a, b]
}

/** Sends the requests with the upstream holding its answers, lets them all arrive, then releases it. */
async function heldBurst<R>(up: TestUpstream, send: () => Array<Promise<R>>): Promise<R[]> {
  up.hold()
  const before = up.requests.length
  const pending = send()
  for (let i = 0; i < 200 && up.requests.length === before; i++) await new Promise((r) => setTimeout(r, 25))
  // The waiters are polling the lease by now; give the slowest request time to arrive as well.
  await new Promise((r) => setTimeout(r, 750))
  up.release()
  return Promise.all(pending)
}

test('[postgres] go proxy: 20 cold .zip requests over two instances make one upstream fetch of .info, .mod and .zip', { skip, timeout: 120_000 }, async (t) => {
  const up = await startTestUpstream(t)
  const M = 'example.org/busy'
  await up.add(M, 'v1.0.0', {})
  const [a, b] = await twoInstances(t, up)
  const results = await heldBurst(up, () => Array.from({ length: 20 }, (_, i) => goClient((i % 2 ? b : a).url, 'alice').get(`${M}/@v/v1.0.0.zip`)))
  const want = sha256(await moduleZip(M, 'v1.0.0'))
  for (const r of results) {
    assert.equal(r.status, 200, r.body.toString())
    assert.equal(r.sha256, want)
  }
  for (const ext of ['info', 'mod', 'zip']) assert.equal(up.count(`${M}/@v/v1.0.0.${ext}`), 1, `${ext}:\n${up.requests.join('\n')}`)
  assert.equal((await a.services.goProxy.versionsOf(M)).length, 1)
})

test('[postgres] go proxy: 20 go commands at once over two instances (each asking .info, .mod and .zip) make one upstream fetch of each', { skip, timeout: 120_000 }, async (t) => {
  const up = await startTestUpstream(t)
  const M = 'example.org/crowd'
  await up.add(M, 'v1.2.3', { files: { 'crowd.go': 'package crowd\n' } })
  const [a, b] = await twoInstances(t, up)
  const exts = ['info', 'mod', 'zip'] as const
  const results = await heldBurst(up, () => Array.from({ length: 20 }, (_, i) => exts.map((ext) =>
    goClient((i % 2 ? b : a).url, 'alice').get(`${M}/@v/v1.2.3.${ext}`).then((r) => ({ ext, ...r })))).flat())
  assert.equal(results.length, 60)
  for (const ext of exts) {
    const bodies = results.filter((r) => r.ext === ext)
    for (const r of bodies) assert.equal(r.status, 200, `${ext}: ${r.body.toString()}`)
    assert.equal(new Set(bodies.map((r) => r.sha256)).size, 1, `every ${ext} answer has the same bytes`)
    assert.equal(up.count(`${M}/@v/v1.2.3.${ext}`), 1, `${ext}:\n${up.requests.join('\n')}`)
  }
  const cached = (await b.services.goProxy.versionsOf(M))[0]!
  assert.equal(results.find((r) => r.ext === 'info')!.body.toString(), cached.infoJson)
})
