// The primary of WHARF_WORKERS > 1: migrates once, forks the workers (each runs `wharf web` as a
// cluster worker behind the one port), prints the ready line once all of them listen, restarts a
// worker that dies while serving, and on SIGTERM/SIGINT stops them all and exits 0 once they have
// finished their requests in flight.
import cluster, { type Worker } from 'node:cluster'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import pino from 'pino'
import type { Config } from '../config/config.js'
import { openServices } from '../services.js'
import { ensureBootstrapAdmin } from './web.js'

export const WORKER_LISTENING = 'wharf:listening'
export interface WorkerMessage { type: typeof WORKER_LISTENING; address: string }

const RESTART_DELAY_MS = 1000

export async function runPrimary(config: Config): Promise<void> {
  const log = pino({ level: config.logLevel, base: { pid: process.pid, role: 'primary' } })
  // Migrations and the bootstrap admin, once, before any worker opens the database.
  const services = await openServices(config)
  try {
    await ensureBootstrapAdmin(services)
  } finally {
    await services.close()
  }

  // Compiled (dist/): workers run dist/main.js itself, not the start script that checks the build,
  // so a worker restarted later runs the same code as the others. From sources (tsx) the default,
  // this process's own entry and node flags, is right.
  const here = fileURLToPath(import.meta.url)
  if (here.endsWith('.js')) cluster.setupPrimary({ exec: path.join(path.dirname(here), '..', 'main.js') })

  let ready = false
  let stopping = false
  let failed = false
  const listening = new Set<number>()
  const live = new Set<Worker>()

  const fork = () => {
    const w = cluster.fork()
    live.add(w)
    w.on('message', (m: WorkerMessage) => {
      if (m?.type !== WORKER_LISTENING) return
      listening.add(w.id)
      if (!ready && listening.size === config.workers) {
        ready = true
        process.stdout.write(`wharf listening on ${m.address}\n`)
        log.info({ workers: config.workers }, 'all workers listening')
      }
    })
    w.on('exit', (code, signal) => {
      live.delete(w)
      listening.delete(w.id)
      if (stopping || failed) {
        if (code !== 0 && !(code === null && signal === 'SIGTERM')) failed = true
        if (live.size === 0) process.exit(failed ? 1 : 0)
        return
      }
      if (!ready) {
        // A worker that cannot start (port taken, database down) will not start on a retry either;
        // it printed why on the shared stderr.
        failed = true
        log.error({ worker: w.id, code, signal }, 'a worker failed to start; stopping')
        for (const other of live) other.process.kill('SIGTERM')
        if (live.size === 0) process.exit(1)
        return
      }
      log.error({ worker: w.id, code, signal }, 'worker died; starting another')
      setTimeout(() => {
        if (!stopping) fork()
      }, RESTART_DELAY_MS).unref()
    })
  }

  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return
    stopping = true
    log.info({ signal }, 'stopping all workers')
    if (live.size === 0) process.exit(failed ? 1 : 0)
    for (const w of live) w.process.kill('SIGTERM')
  }
  process.on('SIGTERM', () => stop('SIGTERM'))
  process.on('SIGINT', () => stop('SIGINT'))

  for (let i = 0; i < config.workers; i++) fork()
}
