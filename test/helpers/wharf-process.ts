// Real Wharf processes for end-to-end tests: spawned as users run them, the URL read from the ready
// line, stopped by PID. Each gets a temp folder (and a PostgreSQL schema of its own when asked).
import { spawn, type ChildProcessByStdio } from 'node:child_process'
import type { Readable } from 'node:stream'
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { randomBytes } from 'node:crypto'
import { dropPostgresSchema } from '../../src/storage/db/open.js'

export { ROOT, WHARF } from './root.js'
import { ROOT } from './root.js'

type After = { after(fn: () => unknown): void }

export async function tempDir(t: After, prefix = 'wharf-e2e-'): Promise<string> {
  const d = await mkdtemp(path.join(os.tmpdir(), prefix))
  t.after(() => rm(d, { recursive: true, force: true }))
  return d
}

/** A PostgreSQL URL with a fresh schema (dropped after the test), or undefined without WHARF_TEST_DATABASE_URL. */
export function freshPostgresUrl(t: After): string | undefined {
  const base = process.env.WHARF_TEST_DATABASE_URL
  if (!base) return undefined
  const u = new URL(base)
  u.searchParams.set('schema', `e_${randomBytes(6).toString('hex')}`)
  const url = u.toString()
  t.after(() => dropPostgresSchema(url))
  return url
}

export interface Started {
  child: ChildProcessByStdio<null, Readable, Readable>
  /** The URL of the ready line. */
  ready: Promise<string>
  /** The exit code (null when killed by a signal). */
  exited: Promise<number | null>
  output(): string
  /** SIGKILL to the whole process group (npm, the primary, its workers): for cleanup hooks. */
  killAll(): void
}

/** Starts a command; `ready` resolves with the URL from the ready line. */
export function startServer(cmd: string, args: string[], env: Record<string, string>, opts: { cwd?: string } = {}): Started {
  // A process group of its own, so cleanup can kill what it started (npm's child, cluster workers).
  const child = spawn(cmd, args, { cwd: opts.cwd ?? ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
  let out = ''
  const ready = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ready line in 90 s:\n${out}`)), 90_000)
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString()
      const m = /wharf listening on (https?:\/\/\S+)/.exec(out)
      if (m) {
        clearTimeout(timer)
        resolve(m[1]!)
      }
    })
    child.stderr.on('data', (d: Buffer) => { out += d.toString() })
    child.on('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`exited with ${code} before ready:\n${out}`))
    })
  })
  ready.catch(() => {})
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  const killAll = () => {
    try {
      process.kill(-child.pid!, 'SIGKILL')
    } catch {
      // already gone
    }
  }
  return { child, ready, exited, output: () => out, killAll }
}

/** Polls `check` until it returns true, up to `timeoutMs` (generous: the machine may be busy). */
export async function eventually(what: string, check: () => Promise<boolean>, timeoutMs = 30_000, everyMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (await check()) return
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`)
    await new Promise((r) => setTimeout(r, everyMs))
  }
}
