// wharf migrate-db: an SQLite database moved into an empty PostgreSQL one, every row and the identity
// sequences; then a server on PostgreSQL serves the same files with the same SHA-256, the old token
// and password work, new rows get fresh ids. A non-empty target is refused.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import path from 'node:path'
import { startTestApp } from '../helpers/test-app.js'
import { PASSWORD, basic, makeOrg, makeTeam, makeToken, makeUser } from '../helpers/auth.js'
import { ROOT, WHARF, freshPostgresUrl } from '../helpers/wharf-process.js'
import { openDatabase } from '../../src/storage/db/open.js'

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex')
const TABLES = ['user', 'team', 'team_user', 'access_token', 'package', 'package_version', 'package_file', 'package_blob', 'session']

function cli(args: string[], env: Record<string, string>) {
  const r = spawnSync(process.execPath, [...WHARF, ...args], { cwd: ROOT, env: { ...process.env, ...env }, encoding: 'utf8', timeout: 120_000 })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

async function counts(url: string): Promise<Record<string, number>> {
  const { db } = openDatabase(url)
  try {
    const out: Record<string, number> = {}
    for (const t of TABLES) out[t] = Number((await db.selectFrom(t as 'user').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n)
    return out
  } finally {
    await db.destroy()
  }
}

test('migrate-db: SQLite → empty PostgreSQL, rows and sequences, same files after', async (t) => {
  const target = freshPostgresUrl(t)
  if (!target) {
    if (process.env.CI === 'true') assert.fail('WHARF_TEST_DATABASE_URL must be set under CI=true')
    t.skip('WHARF_TEST_DATABASE_URL is not set (no PostgreSQL to migrate into)')
    return
  }
  // The laptop: SQLite and files.
  const laptop = await startTestApp(t)
  const s = laptop.services
  const alice = await makeUser(s, 'alice')
  const bob = await makeUser(s, 'bob')
  const acme = await makeOrg(s, 'acme', alice, 'private')
  await makeTeam(s, acme, 'release', 'write', [bob])
  const token = await makeToken(s, bob, ['write:package', 'read:user'])
  const files = new Map<string, Buffer<ArrayBuffer>>()
  for (const [i, p] of ['acme/generic/tool/1.0/a.bin', 'acme/generic/tool/1.0/b.bin', 'alice/generic/x/2.0/x.tar.gz', 'acme/generic/tool/1.1/a.bin'].entries()) {
    const body = i === 3 ? files.get('acme/generic/tool/1.0/a.bin')! : randomBytes(1000 + i * 5000)
    const who = p.startsWith('alice/') ? basic('alice', PASSWORD) : `token ${token}`
    const r = await fetch(`${laptop.url}/api/packages/${p}`, { method: 'PUT', headers: { authorization: who }, body })
    assert.equal(r.status, 201, p)
    files.set(p, body)
  }
  const del = await fetch(`${laptop.url}/api/packages/alice/generic/x/2.0/x.tar.gz`, { method: 'DELETE', headers: { authorization: basic('alice', PASSWORD) } })
  assert.equal(del.status, 204)
  files.delete('alice/generic/x/2.0/x.tar.gz')
  for (let i = 0; i < 3; i++) await (await fetch(`${laptop.url}/api/packages/acme/generic/tool/1.0/a.bin`, { headers: { authorization: `token ${token}` } })).arrayBuffer()
  await laptop.stop()
  const sourceUrl = s.config.databaseUrl
  const before = await counts(sourceUrl)

  const env = { WHARF_DATA: laptop.dataDir }
  const moved = cli(['migrate-db', '--to', target], env)
  assert.equal(moved.code, 0, moved.stderr)
  assert.match(moved.stdout, /package_file: 3 rows/)
  assert.match(moved.stdout, /counts match/)
  assert.deepEqual(await counts(target), before)

  const again = cli(['migrate-db', '--to', target], env)
  assert.equal(again.code, 1)
  assert.match(again.stderr, /not empty/)
  assert.deepEqual(await counts(target), before, 'a refused run changes nothing')
  const wrong = cli(['migrate-db', '--to', 'mysql://x'], env)
  assert.equal(wrong.code, 1)
  assert.match(wrong.stderr, /postgres/)

  // The cluster: the same blobs, the PostgreSQL database.
  const server = await startTestApp(t, { env: { WHARF_DATABASE_URL: target, WHARF_STORAGE_URL: `file:${path.join(laptop.dataDir, 'blobs')}` } })
  for (const [p, body] of files) {
    const r = await fetch(`${server.url}/api/packages/${p}`, { headers: { authorization: `token ${token}` } })
    assert.equal(r.status, 200, p)
    assert.equal(r.headers.get('x-checksum-sha256'), sha256(body))
    assert.equal(sha256(Buffer.from(await r.arrayBuffer())), sha256(body))
  }
  assert.equal((await fetch(`${server.url}/api/packages/alice/generic/x/2.0/x.tar.gz`, { headers: { authorization: basic('alice', PASSWORD) } })).status, 404)
  assert.equal((await fetch(`${server.url}/api/v1/user`, { headers: { authorization: basic('alice', PASSWORD) } })).status, 200, 'passwords moved')
  const version = await fetch(`${server.url}/api/v1/packages/acme/generic/tool/1.0`, { headers: { authorization: `token ${token}` } })
  assert.equal(version.status, 200)
  // New rows after the move: fresh ids, no collisions with the copied ones.
  const carol = await makeUser(server.services, 'carol')
  assert.ok(carol.id > bob.id)
  assert.ok((await makeToken(server.services, carol)).length > 0)
  const r = await fetch(`${server.url}/api/packages/acme/generic/tool/2.0/new.bin`, { method: 'PUT', headers: { authorization: `token ${token}` }, body: randomBytes(50) })
  assert.equal(r.status, 201)
  const { db } = openDatabase(target)
  try {
    const row = await db.selectFrom('package_version').innerJoin('package', 'package.id', 'package_version.package_id')
      .select('download_count').where('package.lower_name', '=', 'tool').where('lower_version', '=', '1.0').executeTakeFirstOrThrow()
    assert.equal(Number(row.download_count), 3, 'download counts moved')
  } finally {
    await db.destroy()
  }
})
