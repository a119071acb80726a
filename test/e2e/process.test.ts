// The process as users run it: npm start, the ready line, SIGTERM, bad configuration, the CLI.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { basic } from '../helpers/auth.js'
import { ROOT, WHARF, startServer, tempDir } from '../helpers/wharf-process.js'

function cli(args: string[], env: Record<string, string>) {
  const r = spawnSync(process.execPath, [...WHARF, ...args], { cwd: ROOT, env: { ...process.env, ...env }, encoding: 'utf8', timeout: 60_000 })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

test('npm start: ready line, bootstrap admin works, SIGTERM stops with exit code 0', async (t) => {
  const data = await tempDir(t)
  const s = startServer('npm', ['start', '--silent'], {
    WHARF_DATA: data, WHARF_PORT: '0', WHARF_ADMIN_USERNAME: 'root', WHARF_ADMIN_PASSWORD: 'root-pass-123', WHARF_ADMIN_EMAIL: 'root@example.com',
  })
  t.after(() => s.killAll())
  const url = await s.ready
  assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/)
  const me = await fetch(`${url}/api/v1/user`, { headers: { authorization: basic('root', 'root-pass-123') } })
  assert.equal(me.status, 200)
  const body = await me.json() as { login: string; is_admin: boolean; email: string }
  assert.deepEqual([body.login, body.is_admin, body.email], ['root', true, 'root@example.com'])
  s.child.kill('SIGTERM')
  assert.equal(await s.exited, 0, s.output())
})

test('SIGINT lets an upload in flight finish, then exits 0', async (t) => {
  const data = await tempDir(t)
  // debug: Fastify logs each request as it comes in (at info only once it is answered).
  const s = startServer(process.execPath, [...WHARF, 'web'], {
    WHARF_DATA: data, WHARF_PORT: '0', WHARF_ADMIN_USERNAME: 'root', WHARF_ADMIN_PASSWORD: 'root-pass-123', WHARF_LOG_LEVEL: 'debug',
  })
  t.after(() => s.killAll())
  const url = new URL(await s.ready)
  const { request } = await import('node:http')
  const chunk = Buffer.alloc(64 * 1024, 7)
  const done = new Promise<number>((resolve, reject) => {
    const req = request({
      host: url.hostname, port: url.port, method: 'PUT', path: '/api/packages/root/generic/inflight/1.0.0/f.bin',
      headers: { authorization: basic('root', 'root-pass-123'), 'content-length': String(chunk.length * 2) },
    }, (res) => { res.resume(); resolve(res.statusCode ?? 0) })
    req.on('error', reject)
    req.write(chunk)
    // Half the body is sent and the server has the request (its log says so): now ask it to stop,
    // then send the rest.
    const waitForRequest = () => {
      if (!s.output().includes('/api/packages/root/generic/inflight/')) return setTimeout(waitForRequest, 20)
      s.child.kill('SIGINT')
      setTimeout(() => req.end(chunk), 300)
    }
    waitForRequest()
  })
  assert.equal(await done, 201)
  assert.equal(await s.exited, 0, s.output())
})

test('bad configuration stops start-up with exit code 1 and one line naming the variable', async (t) => {
  const data = await tempDir(t)
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ WHARF_PORT: 'abc' }, /WHARF_PORT/],
    [{ WHARF_PORT: '70000' }, /WHARF_PORT/],
    [{ WHARF_DATABASE_URL: 'mysql://x' }, /WHARF_DATABASE_URL/],
    [{ WHARF_STORAGE_URL: 'ftp://x' }, /WHARF_STORAGE_URL/],
    [{ WHARF_TLS_CERT: path.join(data, 'missing.pem'), WHARF_TLS_KEY: path.join(data, 'missing.pem') }, /WHARF_TLS_CERT/],
    [{ WHARF_TLS_CERT: path.join(data, 'missing.pem') }, /WHARF_TLS_KEY/],
    [{ WHARF_LIMIT_SIZE_GENERIC: 'lots' }, /WHARF_LIMIT_SIZE_GENERIC/],
    [{ WHARF_REQUIRE_SIGNIN_VIEW: 'maybe' }, /WHARF_REQUIRE_SIGNIN_VIEW/],
    [{ WHARF_LOG_LEVEL: 'loud' }, /WHARF_LOG_LEVEL/],
    [{ WHARF_WORKERS: 'many' }, /WHARF_WORKERS/],
    [{ WHARF_WORKERS: '0' }, /WHARF_WORKERS/],
  ]
  for (const [env, re] of cases) {
    const r = cli(['web'], { WHARF_DATA: data, WHARF_PORT: '0', ...env })
    assert.equal(r.code, 1, JSON.stringify(env))
    const lines = r.stderr.trim().split('\n')
    assert.equal(lines.length, 1, r.stderr)
    assert.match(lines[0]!, re)
  }
  const r = cli(['web', '--port', 'x'], { WHARF_DATA: data })
  assert.equal(r.code, 1)
  assert.match(r.stderr, /--port/)
})

test('TLS: WHARF_TLS_CERT/KEY make Wharf serve https', async (t) => {
  const data = await tempDir(t)
  const cert = path.join(data, 'cert.pem')
  const key = path.join(data, 'key.pem')
  const gen = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1',
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { encoding: 'utf8' })
  if (gen.status !== 0) {
    if (process.env.CI === 'true') assert.fail(`openssl failed: ${gen.stderr}`)
    t.skip('openssl is not available')
    return
  }
  const s = startServer(process.execPath, [...WHARF, 'web'], { WHARF_DATA: data, WHARF_PORT: '0', WHARF_TLS_CERT: cert, WHARF_TLS_KEY: key })
  t.after(() => s.killAll())
  const url = await s.ready
  assert.match(url, /^https:\/\//)
  const { request } = await import('node:https')
  const status = await new Promise<number>((resolve, reject) => {
    request(`${url}/api/healthz`, { ca: [readFileSync(cert)] }, (res) => { res.resume(); resolve(res.statusCode ?? 0) }).on('error', reject).end()
  })
  assert.equal(status, 200)
  s.child.kill('SIGTERM')
  assert.equal(await s.exited, 0)
})

test('CLI: admin user create / list / generate-access-token / change-password, migrate', async (t) => {
  const data = await tempDir(t)
  const env = { WHARF_DATA: data }
  assert.equal(cli(['migrate'], env).code, 0)
  const c = cli(['admin', 'user', 'create', '--username', 'ann', '--password', 'ann-pass-123', '--email', 'ann@example.com', '--admin'], env)
  assert.equal(c.code, 0, c.stderr)
  const dup = cli(['admin', 'user', 'create', '--username', 'ann', '--password', 'ann-pass-123', '--email', 'ann@example.com'], env)
  assert.equal(dup.code, 1)
  assert.match(dup.stderr, /already exists/)
  const bad = cli(['admin', 'user', 'create', '--username', 'bo b', '--password', 'x', '--email', 'b@example.com'], env)
  assert.equal(bad.code, 1)
  const l = cli(['admin', 'user', 'list'], env)
  assert.equal(l.code, 0)
  assert.match(l.stdout, /\bann\b.*\btrue\b/)
  const tok = cli(['admin', 'user', 'generate-access-token', '--username', 'ann', '--token-name', 'ci', '--scopes', 'write:package,read:user', '--raw'], env)
  assert.equal(tok.code, 0, tok.stderr)
  assert.match(tok.stdout, /^[0-9a-f]{40}\n$/)
  const badScope = cli(['admin', 'user', 'generate-access-token', '--username', 'ann', '--token-name', 'x', '--scopes', 'write:nothing'], env)
  assert.equal(badScope.code, 1)
  assert.match(badScope.stderr, /scope/)
  const pw = cli(['admin', 'user', 'change-password', '--username', 'ann', '--password', 'new-pass-456'], env)
  assert.equal(pw.code, 0, pw.stderr)

  const s = startServer(process.execPath, [...WHARF, 'web', '--port', '0'], env)
  t.after(() => s.killAll())
  const url = await s.ready
  const h = (auth: string) => fetch(`${url}/api/v1/user`, { headers: { authorization: auth } })
  assert.equal((await h(`token ${tok.stdout.trim()}`)).status, 200)
  assert.equal((await h(basic('ann', 'new-pass-456'))).status, 200)
  assert.equal((await h(basic('ann', 'ann-pass-123'))).status, 401)
  s.child.kill('SIGTERM')
  await s.exited
  const unknown = cli(['admin', 'user', 'frobnicate'], env)
  assert.notEqual(unknown.code, 0)
})
