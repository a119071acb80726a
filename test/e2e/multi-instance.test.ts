// Several instances (issue 10): three `npm start` processes on one PostgreSQL schema and one S3
// prefix on the Ceph RGW, behind Debian's nginx as a round-robin load balancer written by the test.
// Uploads, racing uploads (one 201), downloads, deletes, token revocation and team removal through
// the balancer, each seen by every instance; then one instance SIGKILLed in a burst of uploads:
// every 201 stays downloadable with its SHA-256, nothing is half-visible, and after a GC with grace 0
// no object in the prefix lacks a referencing row.
import { test } from 'node:test'
import { storeBehind } from '../../src/storage/blobs/inline-blob-store.js'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import { createHash, randomBytes } from 'node:crypto'
import { request } from 'node:http'
import { createServer } from 'node:net'
import path from 'node:path'
import { basic, makeOrg, makeToken, makeUser, PASSWORD } from '../helpers/auth.js'
import { eventually, freshPostgresUrl, startServer, tempDir, type Started } from '../helpers/wharf-process.js'
import { listKeys, s3TestEnv, s3TestStorage } from '../helpers/s3.js'
import { loadConfig } from '../../src/config/config.js'
import { openServices } from '../../src/services.js'
import { gcBlobs } from '../../src/jobs/gc-blobs.js'

const NGINX = '/usr/sbin/nginx'
const ADMIN = { WHARF_ADMIN_USERNAME: 'root', WHARF_ADMIN_PASSWORD: 'root-pass-123' }
const root = basic('root', 'root-pass-123')
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex')

function skipReason(): string | false {
  const missing: string[] = []
  if (!existsSync(NGINX)) missing.push(`nginx (${NGINX})`)
  if (!process.env.WHARF_TEST_DATABASE_URL) missing.push('PostgreSQL (WHARF_TEST_DATABASE_URL)')
  else if (!s3TestEnv().env) missing.push(`S3 (${s3TestEnv().reason})`)
  if (missing.length === 0) return false
  if (process.env.CI === 'true') throw new Error(`the multi-instance test must run under CI=true; missing: ${missing.join(', ')}`)
  const reason = `multi-instance test needs ${missing.join(', ')}`
  console.log(`# skip: ${reason}`)
  return reason
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port
      s.close(() => resolve(port))
    })
  })
}

/** nginx in the foreground, a child of this process, every path under `dir`. */
async function startNginx(t: { after(fn: () => unknown): void }, dir: string, upstreams: string[]): Promise<string> {
  for (const d of ['logs', 'tmp/body', 'tmp/proxy', 'tmp/fastcgi', 'tmp/uwsgi', 'tmp/scgi']) await mkdir(path.join(dir, d), { recursive: true })
  const port = await freePort()
  const conf = `
daemon off;
master_process off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/logs/error.log warn;
events { worker_connections 256; }
http {
  access_log ${dir}/logs/access.log;
  client_body_temp_path ${dir}/tmp/body;
  proxy_temp_path ${dir}/tmp/proxy;
  fastcgi_temp_path ${dir}/tmp/fastcgi;
  uwsgi_temp_path ${dir}/tmp/uwsgi;
  scgi_temp_path ${dir}/tmp/scgi;
  upstream wharf {
${upstreams.map((u) => `    server ${new URL(u).host} max_fails=1 fail_timeout=30s;`).join('\n')}
  }
  server {
    listen 127.0.0.1:${port};
    client_max_body_size 0;
    location / {
      proxy_pass http://wharf;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_request_buffering off;
      proxy_buffering off;
      proxy_connect_timeout 5s;
      proxy_read_timeout 120s;
      proxy_send_timeout 120s;
    }
  }
}
`
  const confFile = path.join(dir, 'nginx.conf')
  await writeFile(confFile, conf)
  const child = spawn(NGINX, ['-p', dir, '-c', confFile, '-e', path.join(dir, 'logs/error.log')], { stdio: ['ignore', 'ignore', 'pipe'] })
  let err = ''
  child.stderr.on('data', (d: Buffer) => { err += d.toString() })
  t.after(() => { child.kill('SIGKILL') })
  const url = `http://127.0.0.1:${port}`
  await eventually(`nginx answers on ${url} (${err})`, async () => {
    if (child.exitCode !== null) throw new Error(`nginx exited with ${child.exitCode}: ${err}`)
    try {
      return (await fetch(`${url}/api/healthz`, { signal: AbortSignal.timeout(5_000) })).status > 0
    } catch {
      return false
    }
  }, 30_000, 100)
  return url
}

interface Got { status: number; sha?: string }

async function get(url: string, headers: Record<string, string> = {}): Promise<Got> {
  const r = await fetch(url, { headers, signal: AbortSignal.timeout(60_000) })
  const body = Buffer.from(await r.arrayBuffer())
  return { status: r.status, sha: r.status === 200 ? sha256(body) : undefined }
}

async function put(url: string, auth: string, body: Buffer): Promise<number> {
  const r = await fetch(url, { method: 'PUT', headers: { authorization: auth }, body: new Uint8Array(body), signal: AbortSignal.timeout(60_000) })
  await r.arrayBuffer()
  return r.status
}

/** A PUT whose body trickles in `chunks` pieces `gapMs` apart, so it is in flight for a while; 0 when the connection breaks. */
function slowPut(url: string, auth: string, body: Buffer, chunks: number, gapMs: number): Promise<number> {
  const u = new URL(url)
  return new Promise((resolve) => {
    let done = false
    const finish = (s: number) => { if (!done) { done = true; clearTimeout(timer); resolve(s) } }
    const timer = setTimeout(() => { req.destroy(); finish(0) }, 90_000)
    const req = request({ host: u.hostname, port: u.port, method: 'PUT', path: u.pathname, headers: { authorization: auth, 'content-length': String(body.length) } }, (res) => {
      res.resume()
      res.on('end', () => finish(res.statusCode ?? 0))
      res.on('error', () => finish(0))
    })
    req.on('error', () => finish(0))
    const size = Math.ceil(body.length / chunks)
    let i = 0
    const next = () => {
      if (done || req.destroyed) return
      const part = body.subarray(i * size, (i + 1) * size)
      i++
      if (i >= chunks) req.end(part)
      else {
        req.write(part)
        setTimeout(next, gapMs)
      }
    }
    next()
  })
}

test('three instances on one PostgreSQL and one bucket behind nginx agree; one SIGKILLed mid-upload leaves nothing half-done', { skip: skipReason(), timeout: 600_000 }, async (t) => {
  const dbUrl = freshPostgresUrl(t)!
  const s3 = await s3TestStorage(t)
  const common: Record<string, string> = {
    ...ADMIN, ...s3.env, WHARF_DATABASE_URL: dbUrl, WHARF_PORT: '0', WHARF_WORKERS: '1', WHARF_LOG_LEVEL: 'warn',
    // The GC of the instances stays out of the way; the test runs it itself with grace 0.
    WHARF_GC_INTERVAL: '24h', WHARF_GC_GRACE: '24h',
  }
  // Started one after another: the first migrates the schema (and builds dist/ when needed).
  const instances: Started[] = []
  const urls: string[] = []
  for (let i = 0; i < 3; i++) {
    const s = startServer('npm', ['start', '--silent'], { ...common, WHARF_DATA: await tempDir(t) })
    t.after(() => s.killAll())
    instances.push(s)
    urls.push(await s.ready)
  }
  const lb = await startNginx(t, await tempDir(t, 'wharf-nginx-'), urls)

  // The accounts, through the services on the same database and store (as an operator's CLI would).
  const config = loadConfig({ ...process.env, ...common, WHARF_DATA: await tempDir(t) })
  const services = await openServices(config)
  t.after(() => services.close())
  const owner = await makeUser(services, 'owner')
  const bob = await makeUser(services, 'bob')
  const org = await makeOrg(services, 'acme', owner, 'private')
  const team = await services.orgs.createTeam(org, { name: 'release', packagesAccess: 'write' })
  await services.orgs.addMember(team, bob)

  // Uploads through the balancer, then every download right from the balancer and from each instance.
  const files = new Map<string, Buffer>()
  for (let i = 0; i < 6; i++) {
    const body = randomBytes(10_000 + i * 50_000)
    const name = `f${i}.bin`
    assert.equal(await put(`${lb}/api/packages/root/generic/tool/1.0.0/${name}`, root, body), 201)
    files.set(name, body)
  }
  for (const [name, body] of files) {
    for (const base of [lb, lb, lb, ...urls]) {
      const g = await get(`${base}/api/packages/root/generic/tool/1.0.0/${name}`)
      assert.deepEqual(g, { status: 200, sha: sha256(body) }, `${name} from ${base}`)
    }
  }

  // Racing uploads of one name, spread by the balancer over the three: exactly one 201, the rest 409.
  const bodies = Array.from({ length: 16 }, () => randomBytes(30_000))
  const race = await Promise.all(bodies.map((b) => put(`${lb}/api/packages/root/generic/race/1.0.0/same.bin`, root, b)))
  assert.deepEqual([...race].sort(), [201, ...Array<number>(15).fill(409)], `statuses: ${race.join(',')}`)
  const winner = bodies[race.indexOf(201)]!
  for (const base of [lb, ...urls]) {
    assert.deepEqual(await get(`${base}/api/packages/root/generic/race/1.0.0/same.bin`), { status: 200, sha: sha256(winner) })
  }

  // Deletes: 204 through the balancer, then 404 from every instance.
  for (const name of ['f0.bin', 'f1.bin']) {
    const r = await fetch(`${lb}/api/packages/root/generic/tool/1.0.0/${name}`, { method: 'DELETE', headers: { authorization: root }, signal: AbortSignal.timeout(60_000) })
    assert.equal(r.status, 204)
    files.delete(name)
    for (const base of urls) assert.equal((await get(`${base}/api/packages/root/generic/tool/1.0.0/${name}`)).status, 404, `${name} on ${base}`)
  }

  // Team removal: bob writes to acme on every instance (each may cache it), is removed through the
  // balancer, and every instance refuses him within the caches' lifetime.
  const token = await makeToken(services, bob, ['write:package', 'read:user'], 'ci')
  const bobAuth = `token ${token}`
  let n = 0
  for (const base of urls) assert.equal(await put(`${base}/api/packages/acme/generic/app/1.0/pre-${n++}.bin`, bobAuth, randomBytes(100)), 201)
  const removed = await fetch(`${lb}/api/v1/teams/${team.id}/members/bob`, { method: 'DELETE', headers: { authorization: basic('owner', PASSWORD) }, signal: AbortSignal.timeout(60_000) })
  assert.equal(removed.status, 204)
  await Promise.all(urls.map((base) => eventually(`${base} refuses the removed member`, async () =>
    [403, 404].includes(await put(`${base}/api/packages/acme/generic/app/1.0/after-${n++}.bin`, bobAuth, randomBytes(100))), 20_000, 100)))

  // Token revocation: the token works everywhere, is deleted through the balancer, then every
  // instance answers 401 (5 s of cache, plus slack for a busy machine).
  for (const base of urls) assert.equal((await fetch(`${base}/api/v1/user`, { headers: { authorization: bobAuth } })).status, 200)
  const revoked = await fetch(`${lb}/api/v1/users/bob/tokens/ci`, { method: 'DELETE', headers: { authorization: basic('bob', PASSWORD) }, signal: AbortSignal.timeout(60_000) })
  assert.equal(revoked.status, 204)
  await Promise.all(urls.map((base) => eventually(`${base} refuses the revoked token`, async () =>
    (await fetch(`${base}/api/v1/user`, { headers: { authorization: bobAuth }, signal: AbortSignal.timeout(10_000) })).status === 401, 20_000, 100)))

  // SIGKILL one instance while ~20 uploads run through the balancer.
  const burst = Array.from({ length: 20 }, (_, i) => ({ name: `b${i}.bin`, body: randomBytes(200_000 + i * 37_000) }))
  const runs = burst.map((f) => slowPut(`${lb}/api/packages/root/generic/burst/1.0.0/${f.name}`, root, f.body, 10, 150))
  await new Promise((r) => setTimeout(r, 600))
  const victim = instances[1]!
  victim.killAll()
  await victim.exited
  const statuses = await Promise.all(runs)
  t.diagnostic(`burst statuses with instance 2 killed: ${statuses.join(',')}`)
  const ok = burst.filter((_, i) => statuses[i] === 201)
  const failed = burst.filter((_, i) => statuses[i] !== 201)
  for (const s of statuses) assert.ok(s === 201 || s === 0 || s >= 500 || s === 409, `status ${s}`)

  const listing = async (): Promise<Map<string, string>> => {
    const r = await fetch(`${lb}/api/v1/packages/root/generic/burst/1.0.0/files`, { headers: { authorization: root }, signal: AbortSignal.timeout(60_000) })
    if (r.status === 404) return new Map()
    assert.equal(r.status, 200)
    return new Map(((await r.json()) as Array<{ name: string; sha256: string }>).map((f) => [f.name, f.sha256]))
  }
  const listed = await listing()
  const live = urls.filter((_, i) => i !== 1)
  for (const f of ok) {
    assert.equal(listed.get(f.name), sha256(f.body), `${f.name} is listed with its SHA-256`)
    for (const base of [lb, lb, ...live]) {
      assert.deepEqual(await get(`${base}/api/packages/root/generic/burst/1.0.0/${f.name}`), { status: 200, sha: sha256(f.body) }, `${f.name} (201) from ${base}`)
    }
  }
  for (const f of failed) {
    // Either not there at all, or (the instance committed, then died before answering) there whole.
    const g = await get(`${lb}/api/packages/root/generic/burst/1.0.0/${f.name}`)
    if (g.status === 404) assert.equal(listed.has(f.name), false, `${f.name}: 404 but listed`)
    else {
      assert.deepEqual(g, { status: 200, sha: sha256(f.body) }, `${f.name}: failed upload visible but not whole`)
      assert.equal(listed.get(f.name), sha256(f.body))
    }
  }

  // The GC with grace 0 (as an instance would run it): afterwards every object in the prefix (and
  // every inline blob) is a blob a file references, and no multipart upload is left.
  const gc = await gcBlobs({ db: services.db, flavor: services.flavor, blobs: services.blobs, tmpDir: services.tmpDir, graceMs: 0 })
  assert.equal(gc.ran, true)
  const aborted = await (services.blobs as { sweepLeftovers?: (cutoffMs: number) => Promise<number> }).sweepLeftovers?.(Date.now())
  t.diagnostic(`gc: ${JSON.stringify(gc)}, multipart uploads aborted: ${aborted}`)
  const referenced = (await services.db.selectFrom('package_file').innerJoin('package_blob', 'package_blob.id', 'package_file.blob_id')
    .select('package_blob.hash_sha256').distinct().execute()).map((r) => r.hash_sha256).sort()
  const objects = (await listKeys(s3.client, s3.prefix)).map((k) => k.slice(s3.prefix.length))
  const blobs = objects.map((k) => /^[0-9a-f]{2}\/[0-9a-f]{2}\/([0-9a-f]{64})$/.exec(k)?.[1] ?? k).sort()
  // Small blobs are kept in the database instead (WHARF_STORAGE_INLINE_MAX): together, exactly once.
  const inline = (await services.db.selectFrom('blob_inline').select('key').execute()).map((r) => r.key)
  assert.deepEqual([...blobs, ...inline].sort(), referenced, 'the prefix and the inline blobs hold exactly the blobs the database references')
  assert.equal(await (storeBehind(services.blobs) as { pendingUploads?: () => Promise<number> }).pendingUploads?.(), 0, 'no multipart upload is left')
  for (const f of ok) assert.ok(referenced.includes(sha256(f.body)))

  for (const s of instances) if (s !== victim) s.child.kill('SIGTERM')
  // unref: a pending 60 s timer would otherwise hold the test file open for a minute after it passed.
  for (const s of instances) if (s !== victim) assert.equal(await Promise.race([s.exited, new Promise((r) => setTimeout(() => r('timeout'), 60_000).unref())]), 0, s.output())
})
