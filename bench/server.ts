// The server under test runs as its own process, so its RSS is the server's alone (not the load
// generator's) and a crash of one side cannot hide in the other.
import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createInterface } from 'node:readline'

export interface ServerOptions {
  repoRoot: string
  dataDir: string
  admin: { username: string; password: string }
  /** WHARF_* settings of the run (the blob store, serve-direct); set after the defaults. */
  env?: Record<string, string>
}

export interface RunningServer {
  readonly url: URL
  readonly pid: number
  readonly child: ChildProcess
  stop(): Promise<void>
}

const READY = /^wharf listening on (https?:\/\/\S+)/

export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  // The caller's own WHARF_* settings (a database URL, a size limit) must not leak into the run;
  // AWS_* credentials for an s3:// store do pass through.
  const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('WHARF_')))
  Object.assign(env, {
    WHARF_HOST: '127.0.0.1',
    WHARF_PORT: '0',
    WHARF_DATA: opts.dataDir,
    WHARF_LOG_LEVEL: 'warn',
    WHARF_ADMIN_USERNAME: opts.admin.username,
    WHARF_ADMIN_PASSWORD: opts.admin.password,
    WHARF_ADMIN_EMAIL: `${opts.admin.username}@localhost`,
  }, opts.env)
  // What `npm start` runs (compiled dist/, rebuilt when stale), without npm above it.
  const child = spawn(process.execPath, ['scripts/start.mjs', 'web'], {
    cwd: opts.repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'],
  })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const stderrTail: string[] = []
  createInterface({ input: child.stderr }).on('line', (line) => {
    stderrTail.push(line)
    if (stderrTail.length > 20) stderrTail.shift()
    process.stderr.write(`[server] ${line}\n`)
  })

  const url = await new Promise<URL>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the server did not print its ready line within 30 s')), 30_000)
    const fail = (code: number | null) => {
      clearTimeout(timer)
      reject(new Error(`the server exited (code ${code}) before it was ready:\n${stderrTail.join('\n')}`))
    }
    child.once('exit', fail)
    // Keep draining stdout after the ready line, or a chatty server would block on a full pipe.
    createInterface({ input: child.stdout }).on('line', (line) => {
      const m = READY.exec(line)
      if (!m) {
        process.stderr.write(`[server] ${line}\n`)
        return
      }
      clearTimeout(timer)
      child.off('exit', fail)
      resolve(new URL(m[1]!))
    })
  })
  if (url.hostname !== '127.0.0.1') throw new Error(`the server listens on ${url.hostname}, expected 127.0.0.1`)

  return {
    url, pid: child.pid!, child,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill('SIGTERM')
      const force = setTimeout(() => child.kill('SIGKILL'), 10_000)
      await exited
      clearTimeout(force)
    },
  }
}

/** VmRSS and VmHWM (peak RSS since start) of a process, in bytes. */
export function readMemory(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = (field: string) => {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)
    if (!m) throw new Error(`no ${field} in /proc/${pid}/status`)
    return Number(m[1]) * 1024
  }
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') }
}

/** CPU seconds (user + system) a process has used so far; /proc/<pid>/stat counts in 1/100 s on Linux. */
export function readCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // Fields after the parenthesised command name, which may itself contain spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) / 100
}

export interface RssPhase {
  /** Median RSS while the server sat idle just before the phase. */
  baseline: number
  /** Highest RSS seen during the phase (sampled, or VmHWM when that rose during the phase). */
  peak: number
  growth: number
  samples: number
  /** Longest gap between two samples: how much a short spike could have slipped past. */
  maxGapMs: number
}

/**
 * Measures the server's RSS around `work`: an idle baseline first, then samples every 50 ms.
 * VmHWM closes the gaps between samples: if it rose during the phase, its new value is the true peak.
 */
export async function measureRss<T>(pid: number, work: () => Promise<T>, trace?: (ms: number, rss: number) => void): Promise<{ result: T; rss: RssPhase }> {
  const idle: number[] = []
  for (let i = 0; i < 10; i++) {
    idle.push(readMemory(pid).rss)
    await sleep(50)
  }
  idle.sort((a, b) => a - b)
  const baseline = idle[Math.floor(idle.length / 2)]!
  const hwmBefore = readMemory(pid).hwm

  let peak = 0
  let samples = 0
  let maxGapMs = 0
  const t0 = performance.now()
  let last = t0
  const sample = () => {
    const now = performance.now()
    maxGapMs = Math.max(maxGapMs, now - last)
    last = now
    try {
      const rss = readMemory(pid).rss
      trace?.(now - t0, rss)
      peak = Math.max(peak, rss)
      samples++
    } catch {
      // the process is gone; the work will fail and say why
    }
  }
  sample()
  const timer = setInterval(sample, 50)
  try {
    const result = await work()
    sample()
    const hwmAfter = readMemory(pid).hwm
    if (hwmAfter > hwmBefore) peak = Math.max(peak, hwmAfter)
    return { result, rss: { baseline, peak, growth: peak - baseline, samples, maxGapMs: Math.round(maxGapMs) } }
  } finally {
    clearInterval(timer)
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))
