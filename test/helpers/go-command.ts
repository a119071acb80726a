// The real go command in tests: finding it (skip outside CI when missing), running it without
// blocking the event loop, an environment with nothing inherited, `wharf go push`, temp folders
// the module cache's read-only files do not stick in, and a self-signed certificate.
import { after, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import { ROOT, WHARF } from './root.js'
export { ROOT }
export const GO = process.env.WHARF_TEST_GO ?? '/usr/bin/go'
export const TIMEOUT = 300_000

export function goMissing(): string | undefined {
  const r = spawnSync(GO, ['version'], { encoding: 'utf8' })
  if (r.status === 0) return undefined
  const why = `the go command (${GO}) is not available: ${r.error?.message ?? r.stderr}`
  if (process.env.CI === 'true') throw new Error(`${why}; CI must run these tests`)
  return why
}
export const skip = goMissing()
if (skip) process.stdout.write(`skipping tests with the go command: ${skip}\n`)

export interface Run { code: number | null; stdout: string; stderr: string }

/** Runs a command without blocking the event loop (the server answers from this process). */
export function run(cmd: string, args: string[], opts: { cwd: string; env: Record<string, string> }): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}

export const show = (what: string, r: Run) => `${what} exited ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`

export async function tempDir(t: TestContext, prefix: string): Promise<string> {
  const d = await mkdtemp(path.join(os.tmpdir(), prefix))
  t.after(async () => {
    // The go command makes its module cache read-only; without this a non-root rm fails.
    spawnSync('chmod', ['-R', 'u+w', d])
    await rm(d, { recursive: true, force: true })
  })
  return d
}

/** `wharf go push` as users run it: a separate process, token from WHARF_TOKEN. */
export async function push(dir: string, version: string, url: string, owner: string, token: string, extraEnv: Record<string, string> = {}): Promise<Run> {
  return run(process.execPath, [...WHARF, 'go', 'push', dir, '--version', version, '--url', url, '--owner', owner],
    { cwd: ROOT, env: { PATH: process.env.PATH ?? '', HOME: os.tmpdir(), WHARF_TOKEN: token, ...extraEnv } })
}

/** A module folder whose code says which version it is. */
export async function writeModule(base: string, module: string, pkg: string, version: string): Promise<string> {
  const dir = path.join(base, `${pkg}-${version}`)
  await mkdir(dir, { recursive: true })
  await writeFile(path.join(dir, 'go.mod'), `module ${module}\n\ngo 1.19\n`)
  await writeFile(path.join(dir, `${pkg}.go`), `package ${pkg}\n\n// Hello says which version was built.\nfunc Hello() string { return "${module} ${version}" }\n`)
  return dir
}

// One build cache for the whole file: it holds compiled code, not modules, and saves minutes.
let goCache: string | undefined
after(async () => {
  if (goCache) await rm(goCache, { recursive: true, force: true })
})

/** The go command's environment: nothing inherited but PATH, every cache and config in `home`. */
export async function goEnv(home: string, proxy: string, extra: Record<string, string> = {}): Promise<Record<string, string>> {
  goCache ??= await mkdtemp(path.join(os.tmpdir(), 'wharf-gocache-'))
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, GOPATH: path.join(home, 'gopath'), GOMODCACHE: path.join(home, 'modcache'),
    GOCACHE: goCache, GOENV: 'off', GOFLAGS: '-mod=mod', GO111MODULE: 'on', GOWORK: 'off', CGO_ENABLED: '0',
    GOPROXY: proxy, GONOSUMDB: 'example.com', GOSUMDB: 'off', GONOPROXY: 'none', GOPRIVATE: '', GOVCS: '*:off',
    GIT_TERMINAL_PROMPT: '0', ...extra,
  }
}

/** A certificate for 127.0.0.1 (and a DNS name when given), or undefined (the test skipped) when openssl is missing outside CI. */
export async function selfSignedCert(t: TestContext, dnsName?: string): Promise<{ cert: string; key: string } | undefined> {
  const dir = await tempDir(t, 'wharf-go-tls-')
  const cert = path.join(dir, 'cert.pem')
  const key = path.join(dir, 'key.pem')
  const gen = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1',
    '-subj', `/CN=${dnsName ?? '127.0.0.1'}`, '-addext', `subjectAltName=${dnsName ? `DNS:${dnsName},` : ''}IP:127.0.0.1`], { encoding: 'utf8' })
  if (gen.status !== 0) {
    if (process.env.CI === 'true') assert.fail(`openssl failed: ${gen.error?.message ?? gen.stderr}`)
    t.skip('openssl is not available')
    return undefined
  }
  return { cert, key }
}

