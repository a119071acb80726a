// `wharf go pack|push` through commander, with output captured: the default file name, the list of
// what was left out, and push's answers (no token, a bad URL, the server's refusal).
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'
import { Command } from 'commander'
import { registerGoCommands, uploadUrl, type GoCliEnv } from './cli.js'

let dir: string
before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'wharf-gocli-'))
  await mkdir(path.join(dir, 'mod', 'vendor', 'x'), { recursive: true })
  await writeFile(path.join(dir, 'mod', 'go.mod'), 'module example.com/Tool/v2\n\ngo 1.19\n')
  await writeFile(path.join(dir, 'mod', 'tool.go'), 'package tool\n')
  await writeFile(path.join(dir, 'mod', 'vendor', 'x', 'x.go'), 'package x\n')
})
after(() => rm(dir, { recursive: true, force: true }))

async function wharfGo(args: string[], env: GoCliEnv = {}): Promise<{ out: string[]; err: string[]; code: number }> {
  const out: string[] = []
  const err: string[] = []
  const program = new Command('wharf').exitOverride()
  registerGoCommands(program.command('go'), () => env, { out: (l) => out.push(l), err: (l) => err.push(l) })
  const before = process.exitCode
  process.exitCode = 0
  try {
    await program.parseAsync(['go', ...args], { from: 'user' })
    return { out, err, code: Number(process.exitCode ?? 0) }
  } finally {
    process.exitCode = before
  }
}

test('pack: default output {name}-{version}.zip in the current folder, and what was left out', async () => {
  const cwd = process.cwd()
  process.chdir(dir)
  try {
    const r = await wharfGo(['pack', 'mod', '--version', 'v2.1.0'])
    assert.equal(r.code, 0, r.err.join('\n'))
    const file = path.join(dir, 'Tool-v2.1.0.zip')
    assert.ok((await stat(file)).size > 0)
    assert.match(r.out[0]!, /^packed example\.com\/Tool\/v2@v2\.1\.0 into .*Tool-v2\.1\.0\.zip \(2 files, 1 left out\)$/)
    assert.deepEqual(r.out.slice(1), ['  included  go.mod', '  included  tool.go', '  left out  vendor/x/x.go: file is in vendor directory'])
  } finally {
    process.chdir(cwd)
  }
})

test('pack: a version the module path does not allow is an error, exit code 1', async () => {
  const r = await wharfGo(['pack', path.join(dir, 'mod'), '--version', 'v1.0.0', '--output', path.join(dir, 'x.zip')])
  assert.equal(r.code, 1)
  assert.deepEqual(r.err, ['wharf: example.com/Tool/v2@v1.0.0: invalid version: should be v2, not v1'])
})

test('push: needs WHARF_TOKEN and an http(s) URL', async () => {
  const args = ['push', path.join(dir, 'mod'), '--version', 'v2.0.0', '--owner', 'alice']
  const noToken = await wharfGo([...args, '--url', 'http://127.0.0.1:1'])
  assert.equal(noToken.code, 1)
  assert.match(noToken.err[0]!, /WHARF_TOKEN is not set/)
  const badUrl = await wharfGo([...args, '--url', 'ftp://example.com'], { token: 't' })
  assert.equal(badUrl.code, 1)
  assert.match(badUrl.err.at(-1)!, /--url: expected http:\/\/ or https:\/\//)
  assert.equal(uploadUrl('https://w.example.com/sub/', 'my org').href, 'https://w.example.com/sub/api/packages/my%20org/go/upload')
})

test('push: the server\'s refusal is printed and exits 1; the token is sent as "token …"', async (t) => {
  const seen: Array<string | undefined> = []
  const server = http.createServer((req, res) => {
    seen.push(req.headers.authorization)
    res.writeHead(409, { 'content-type': 'text/plain' }).end('module example.com/Tool/v2 version v2.0.0 already exists\n')
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())))
  const { port } = server.address() as { port: number }
  const r = await wharfGo(['push', path.join(dir, 'mod'), '--version', 'v2.0.0', '--url', `http://127.0.0.1:${port}`, '--owner', 'alice'], { token: 'secret' })
  assert.equal(r.code, 1)
  assert.deepEqual(seen, ['token secret'])
  assert.equal(r.err.at(-1), `wharf: http://127.0.0.1:${port}/api/packages/alice/go/upload answered 409: module example.com/Tool/v2 version v2.0.0 already exists`)
})
