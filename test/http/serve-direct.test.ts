// WHARF_STORAGE_SERVE_DIRECT: `true` answers a GET with 307 to a presigned S3 URL (followed by fetch,
// as curl -L does, and by the real go command through GOPROXY); `x-accel` hands the file to nginx
// (Debian's, with a config this test writes) by X-Accel-Redirect. Access checks, 304 and HEAD stay
// with Wharf; whole GETs are counted.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import net from 'node:net'
import path from 'node:path'
import { startTestApp, testDatabases } from '../helpers/test-app.js'
import { s3Skip, s3TestEnv } from '../helpers/s3.js'
import { PASSWORD, basic, makeUser } from '../helpers/auth.js'
import { request, sha256Hex } from './generic-helpers.js'
import { moduleZip } from './go-helpers.js'
import { GO, goEnv, run, show, skip as goSkip, tempDir, TIMEOUT } from '../helpers/go-command.js'

const s3skip = s3Skip()
const NGINX = '/usr/sbin/nginx'
const nginxSkip = existsSync(NGINX) ? false : 'nginx is not installed (apt-get install nginx)'
if (nginxSkip && process.env.CI === 'true') throw new Error('nginx must be installed under CI=true: .ci/run installs it')

const downloads = async (app: Awaited<ReturnType<typeof startTestApp>>, ownerId: number, version: string) => {
  await app.services.packages.downloads.flush()
  return (await app.services.packages.getVersion({ ownerId, type: 'generic', name: 'tool', version })).downloadCount
}

for (const db of testDatabases()) {
  test(`[${db}+s3] serve direct: GET answers 307 to a presigned URL that fetch follows; HEAD, 304 and access stay with Wharf`, { skip: s3skip }, async (t) => {
    const app = await startTestApp(t, { db, storage: 's3', env: { WHARF_STORAGE_SERVE_DIRECT: 'true' } })
    const alice = await makeUser(app.services, 'alice')
    await makeUser(app.services, 'priv', { visibility: 'private' })
    const auth = basic('alice', PASSWORD)
    const data = Buffer.from(Array.from({ length: 100_000 }, (_, i) => i % 251))
    const file = `${app.url}/api/packages/alice/generic/tool/1.0/my%20tool%20(1).bin`
    assert.equal((await fetch(file, { method: 'PUT', headers: { authorization: auth }, body: data })).status, 201)

    const raw = await fetch(file, { redirect: 'manual' })
    assert.equal(raw.status, 307)
    const location = raw.headers.get('location') ?? ''
    assert.ok(location.startsWith(`${s3TestEnv().env!.endpoint}/`), location)
    assert.match(location, /X-Amz-Expires=300/)
    assert.equal(raw.headers.get('cache-control'), 'private, no-store')

    // followed, as curl -L does: the bytes and the file name come from the store
    const got = await fetch(file)
    assert.equal(got.status, 200)
    assert.equal(sha256Hex(Buffer.from(await got.arrayBuffer())), sha256Hex(data))
    assert.equal(got.headers.get('content-disposition'), `attachment; filename="my tool (1).bin"; filename*=UTF-8''my%20tool%20%281%29.bin`)
    assert.equal(got.headers.get('content-type'), 'application/octet-stream')
    const part = await fetch(file, { headers: { range: 'bytes=10-19' } })
    assert.equal(part.status, 206)
    assert.ok(Buffer.from(await part.arrayBuffer()).equals(data.subarray(10, 20)))

    const head = await request({ method: 'HEAD', url: file })
    assert.equal(head.status, 200)
    assert.equal(head.headers.location, undefined)
    assert.equal(head.headers['x-checksum-sha256'], sha256Hex(data))
    assert.equal((await request({ method: 'GET', url: file, headers: { 'if-none-match': `"${sha256Hex(data)}"` } })).status, 304)
    assert.equal((await request({ method: 'GET', url: file.replace('1.0', '9.9') })).status, 404)
    assert.equal(await downloads(app, alice.id, '1.0'), 2, 'both whole GETs count, the range does not')

    // a private owner: anonymous → 401 without a Location; with credentials the redirect works too
    const privFile = `${app.url}/api/packages/priv/generic/tool/1.0/p.bin`
    const pauth = basic('priv', PASSWORD)
    assert.equal((await fetch(privFile, { method: 'PUT', headers: { authorization: pauth }, body: data })).status, 201)
    const anon = await fetch(privFile, { redirect: 'manual' })
    assert.equal(anon.status, 401)
    assert.equal(anon.headers.get('location'), null)
    const mine = await fetch(privFile, { headers: { authorization: pauth } })
    assert.equal(mine.status, 200)
    assert.equal(sha256Hex(Buffer.from(await mine.arrayBuffer())), sha256Hex(data))
  })
}

test('[sqlite+s3] serve direct: the go command follows the 307 of a module zip through GOPROXY', { skip: s3skip || goSkip, timeout: TIMEOUT }, async (t) => {
  // The zip is small: kept in S3 only with inline blobs off (inline-blobs.test.ts covers those).
  const app = await startTestApp(t, { storage: 's3', env: { WHARF_STORAGE_SERVE_DIRECT: 'true', WHARF_STORAGE_INLINE_MAX: '0' } })
  await makeUser(app.services, 'alice')
  const zip = await moduleZip('example.com/direct', 'v1.0.0')
  const up = await request({ method: 'PUT', url: `${app.url}/api/packages/alice/go/upload`, headers: { authorization: basic('alice', PASSWORD) }, body: zip })
  assert.equal(up.status, 201)
  const raw = await fetch(`${app.url}/api/packages/alice/go/example.com/direct/@v/v1.0.0.zip`, { redirect: 'manual' })
  assert.equal(raw.status, 307)
  const home = await tempDir(t, 'wharf-go-direct-')
  const r = await run(GO, ['mod', 'download', '-json', 'example.com/direct@v1.0.0'], { cwd: home, env: await goEnv(home, `${app.url}/api/packages/alice/go`) })
  assert.equal(r.code, 0, show('go mod download', r))
  const info = JSON.parse(r.stdout) as { Zip: string; Sum: string }
  assert.equal(sha256Hex(await readFile(info.Zip)), sha256Hex(zip), 'the go command got the uploaded zip')
  assert.match(info.Sum, /^h1:/)
})

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port
      s.close(() => resolve(port))
    }).on('error', reject)
  })
}

/** The nginx block of the README, around a proxy to Wharf. */
function nginxConfig(dir: string, port: number, wharfPort: number, blobs: string): string {
  return `daemon off;
master_process off;
worker_processes 1;
${process.getuid?.() === 0 ? 'user root;' : ''}
pid ${dir}/nginx.pid;
error_log ${dir}/error.log;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fcgi;
  uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
  server {
    listen 127.0.0.1:${port};
    client_max_body_size 0;
    location / {
      proxy_pass http://127.0.0.1:${wharfPort};
      proxy_set_header Host $http_host;
      proxy_request_buffering off;
    }
    location /_wharf_blobs/ {
      internal;
      alias ${blobs}/;
      etag off;
      add_header ETag $upstream_http_etag;
      add_header X-Content-Type-Options nosniff;
      add_header X-Checksum-Md5 $upstream_http_x_checksum_md5;
      add_header X-Checksum-Sha1 $upstream_http_x_checksum_sha1;
      add_header X-Checksum-Sha256 $upstream_http_x_checksum_sha256;
      add_header X-Checksum-Sha512 $upstream_http_x_checksum_sha512;
    }
  }
}
`
}

for (const db of testDatabases()) {
  test(`[${db}] serve direct: x-accel hands the file to nginx, which serves it with Wharf's headers`, { skip: nginxSkip, timeout: 120_000 }, async (t) => {
    const app = await startTestApp(t, { db, env: { WHARF_STORAGE_SERVE_DIRECT: 'x-accel' } })
    const alice = await makeUser(app.services, 'alice')
    const dir = await tempDir(t, 'wharf-nginx-')
    for (const d of ['body', 'proxy', 'fcgi', 'uwsgi', 'scgi']) await mkdir(path.join(dir, d))
    const port = await freePort()
    const conf = path.join(dir, 'nginx.conf')
    await writeFile(conf, nginxConfig(dir, port, Number(new URL(app.url).port), path.join(app.dataDir, 'blobs')))
    const check = spawnSync(NGINX, ['-t', '-c', conf, '-p', dir], { encoding: 'utf8' })
    assert.equal(check.status, 0, check.stderr)
    const nginx = spawn(NGINX, ['-c', conf, '-p', dir], { stdio: ['ignore', 'ignore', 'pipe'] })
    let stderr = ''
    nginx.stderr.on('data', (c: Buffer) => { stderr += c.toString() })
    t.after(async () => {
      if (nginx.exitCode === null) {
        const exited = new Promise((resolve) => nginx.once('exit', resolve))
        nginx.kill('SIGTERM')
        await exited
      }
    })
    const base = `http://127.0.0.1:${port}`
    for (let i = 0; ; i++) {
      try {
        await fetch(`${base}/api/healthz`)
        break
      } catch {
        if (i > 200 || nginx.exitCode !== null) assert.fail(`nginx did not start: ${stderr}`)
        await new Promise((r) => setTimeout(r, 100))
      }
    }
    const data = Buffer.from(Array.from({ length: 200_000 }, (_, i) => (i * 7) % 256))
    const file = `${base}/api/packages/alice/generic/tool/1.0/a.bin`
    assert.equal((await request({ method: 'PUT', url: file, headers: { authorization: basic('alice', PASSWORD) }, body: data })).status, 201)

    // Straight to Wharf: no bytes, only the redirect nginx acts on.
    const direct = await request({ method: 'GET', url: file.replace(base, app.url) })
    assert.equal(direct.status, 200)
    assert.equal(direct.body.length, 0)
    const sha = sha256Hex(data)
    assert.equal(direct.headers['x-accel-redirect'], `/_wharf_blobs/${sha.slice(0, 2)}/${sha.slice(2, 4)}/${sha}`)

    const got = await request({ method: 'GET', url: file })
    assert.equal(got.status, 200, got.body.toString())
    assert.equal(got.sha256, sha)
    assert.equal(got.headers['content-length'], String(data.length))
    assert.equal(got.headers['content-disposition'], `attachment; filename="a.bin"; filename*=UTF-8''a.bin`)
    assert.equal(got.headers['content-type'], 'application/octet-stream')
    assert.equal(got.headers.etag, `"${sha}"`)
    assert.equal(got.headers['x-checksum-sha256'], sha)
    assert.equal(got.headers['x-checksum-md5'], createHash('md5').update(data).digest('hex'))
    const part = await request({ method: 'GET', url: file, headers: { range: 'bytes=100-199' } })
    assert.equal(part.status, 206)
    assert.ok(part.body.equals(data.subarray(100, 200)))
    const head = await request({ method: 'HEAD', url: file })
    assert.equal(head.status, 200)
    assert.equal(head.headers['content-length'], String(data.length))
    assert.equal((await request({ method: 'GET', url: file, headers: { 'if-none-match': `"${sha}"` } })).status, 304)
    // the internal location is not reachable from outside
    assert.equal((await request({ method: 'GET', url: `${base}/_wharf_blobs/${sha.slice(0, 2)}/${sha.slice(2, 4)}/${sha}` })).status, 404)
    await app.services.packages.downloads.flush()
    assert.equal((await app.services.packages.getVersion({ ownerId: alice.id, type: 'generic', name: 'tool', version: '1.0' })).downloadCount, 2)
  })
}
