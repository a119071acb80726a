// WHARF_WORKERS: several worker processes behind one port (node:cluster), on SQLite and PostgreSQL.
// Real processes: the ready line once, every worker serving, racing uploads decided by the database,
// download counts of every worker written at SIGTERM, requests in flight finished, a dead worker
// replaced, exit code 0.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { readFileSync, readdirSync, readlinkSync, realpathSync } from 'node:fs'
import { request } from 'node:http'
import path from 'node:path'
import { basic } from '../helpers/auth.js'
import { WHARF, eventually, freshPostgresUrl, startServer, tempDir } from '../helpers/wharf-process.js'
import { openDatabase } from '../../src/storage/db/open.js'
import { testDatabases, type DbKind } from '../helpers/test-app.js'

const ADMIN = { WHARF_ADMIN_USERNAME: 'root', WHARF_ADMIN_PASSWORD: 'root-pass-123' }
const auth = basic('root', 'root-pass-123')
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex')

const NODE = realpathSync(process.execPath)

/** Whether `pid` runs this node binary (not tsx's esbuild). Its name is no guide: Node 24 calls its
 *  main thread "MainThread", and npm renames itself "npm …". */
function isNode(pid: number): boolean {
  try {
    return readlinkSync(`/proc/${pid}/exe`) === NODE
  } catch {
    return false // gone meanwhile
  }
}

/** PIDs of the node processes whose parent is `pid` (Linux /proc): the workers, not tsx's esbuild. */
function childrenOf(pid: number): number[] {
  const out: number[] = []
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8')
      // pid (comm) state ppid …; comm may contain spaces, so split after the last ')'.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      if (ppid === pid && isNode(Number(name))) out.push(Number(name))
    } catch {
      // gone meanwhile
    }
  }
  return out
}

/** The workers of a started server: children of the primary, which is the child of npm under `npm start`. */
function workersOf(s: { child: { pid?: number } }): number[] {
  const comm = readFileSync(`/proc/${s.child.pid!}/comm`, 'utf8').trim()
  const primary = !comm.startsWith('npm') && isNode(s.child.pid!) ? s.child.pid! : childrenOf(s.child.pid!)[0]
  return primary === undefined ? [] : childrenOf(primary)
}

async function env(t: { after(fn: () => unknown): void }, db: DbKind) {
  const data = await tempDir(t)
  const e: Record<string, string> = { WHARF_DATA: data, WHARF_PORT: '0', WHARF_LOG_LEVEL: 'debug', WHARF_WORKERS: '2', ...ADMIN }
  if (db === 'postgres') e.WHARF_DATABASE_URL = freshPostgresUrl(t)!
  return { data, env: e, dbUrl: e.WHARF_DATABASE_URL ?? `sqlite:${path.join(data, 'wharf.db')}` }
}

for (const db of testDatabases()) {
  test(`[${db}] WHARF_WORKERS=2: one ready line, both workers serve, races decided once, counts flushed at SIGTERM`, async (t) => {
    const { env: e, dbUrl } = await env(t, db)
    const s = startServer(process.execPath, [...WHARF, 'web'], e)
    t.after(() => s.killAll())
    const url = await s.ready
    await eventually('two workers are running', async () => workersOf(s).length === 2)

    // Racing uploads of one file name: exactly one 201, the others 409 (never a 5xx), whichever
    // worker each lands on. Different files into a version that does not exist yet all succeed.
    const bodies = Array.from({ length: 8 }, () => randomBytes(20_000))
    const race = await Promise.all(bodies.map((b) => fetch(`${url}/api/packages/root/generic/race/1.0.0/same.bin`, { method: 'PUT', headers: { authorization: auth }, body: b })))
    const statuses = race.map((r) => r.status).sort()
    assert.deepEqual(statuses, [201, 409, 409, 409, 409, 409, 409, 409], `statuses: ${statuses.join(',')}`)
    const winner = bodies[race.findIndex((r) => r.status === 201)]!
    const many = await Promise.all(bodies.map((b, i) => fetch(`${url}/api/packages/root/generic/fresh/2.0.0/f${i}.bin`, { method: 'PUT', headers: { authorization: auth }, body: b })))
    assert.deepEqual(many.map((r) => r.status), bodies.map(() => 201))

    // Downloads spread over both workers; every byte right.
    const DOWNLOADS = 24
    for (let i = 0; i < DOWNLOADS; i++) {
      const r = await fetch(`${url}/api/packages/root/generic/race/1.0.0/same.bin`, { headers: { authorization: auth } })
      assert.equal(r.status, 200)
      assert.equal(sha256(Buffer.from(await r.arrayBuffer())), sha256(winner))
    }

    // SIGTERM while an upload is in flight: it finishes, every worker flushes its counts, exit 0.
    const target = new URL(url)
    const chunk = Buffer.alloc(64 * 1024, 7)
    const inflight = new Promise<number>((resolve, reject) => {
      const req = request({
        host: target.hostname, port: target.port, method: 'PUT', path: '/api/packages/root/generic/inflight/1.0.0/f.bin',
        headers: { authorization: auth, 'content-length': String(chunk.length * 2) },
      }, (res) => { res.resume(); resolve(res.statusCode ?? 0) })
      req.on('error', reject)
      req.write(chunk)
      // Half the body is sent and a worker has the request (its log says so): now stop, then send the rest.
      void eventually('a worker logs the upload', async () => s.output().includes('/api/packages/root/generic/inflight/'), 60_000, 20)
        .then(() => {
          s.child.kill('SIGTERM')
          setTimeout(() => req.end(chunk), 300)
        }, reject)
    })
    assert.equal(await inflight, 201)
    assert.equal(await s.exited, 0, s.output())
    assert.equal(s.output().match(/wharf listening on/g)?.length, 1, 'the ready line is printed once')

    const { db: kdb } = openDatabase(dbUrl)
    try {
      const row = await kdb.selectFrom('package_version').innerJoin('package', 'package.id', 'package_version.package_id')
        .select('package_version.download_count').where('package.lower_name', '=', 'race').executeTakeFirstOrThrow()
      assert.equal(Number(row.download_count), DOWNLOADS, 'no count lost at shutdown')
      const files = await kdb.selectFrom('package_file').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()
      assert.equal(Number(files.n), 1 + bodies.length + 1)
    } finally {
      await kdb.destroy()
    }
  })
}

test('WHARF_WORKERS (npm start, compiled): a worker that dies is replaced; the server keeps serving', async (t) => {
  const { env: e } = await env(t, 'sqlite')
  const s = startServer('npm', ['start', '--silent'], e)
  t.after(() => s.killAll())
  const url = await s.ready
  await eventually('two workers are running', async () => workersOf(s).length === 2)
  const [victim] = workersOf(s)
  process.kill(victim!, 'SIGKILL')
  await eventually('a new worker replaces the dead one', async () => {
    const now = workersOf(s)
    return now.length === 2 && !now.includes(victim!)
  }, 60_000)
  for (let i = 0; i < 6; i++) {
    assert.equal((await fetch(`${url}/api/v1/user`, { headers: { authorization: auth } })).status, 200)
  }
  s.child.kill('SIGTERM')
  assert.equal(await s.exited, 0, s.output())
})

test('WHARF_WORKERS: a worker that cannot start stops start-up with exit code 1', async (t) => {
  const first = await env(t, 'sqlite')
  const a = startServer(process.execPath, [...WHARF, 'web'], { ...first.env, WHARF_WORKERS: '1' })
  t.after(() => a.killAll())
  const port = new URL(await a.ready).port
  const second = await env(t, 'sqlite')
  const b = startServer(process.execPath, [...WHARF, 'web'], { ...second.env, WHARF_PORT: port })
  t.after(() => b.killAll())
  assert.equal(await b.exited, 1, b.output())
  assert.match(b.output(), /EADDRINUSE|address already in use/)
  assert.deepEqual(childrenOf(b.child.pid!), [], 'no worker is left behind')
  a.child.kill('SIGTERM')
  assert.equal(await a.exited, 0)
})
