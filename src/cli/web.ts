// `wharf web`: load config → open services → build app → listen → ready line → graceful stop.
// With WHARF_WORKERS > 1 this process becomes the primary of a node:cluster (cluster.ts) and every
// worker runs serve() behind the one port.
import cluster from 'node:cluster'
import type { Command } from 'commander'
import { loadConfig, type Config } from '../config/config.js'
import { openServices, type Services } from '../services.js'
import { buildApp } from '../app.js'
import { reportError } from './index.js'
import { WharfError } from '../errors.js'
import { startupDone } from '../startup-heap.js'
import { runPrimary, WORKER_LISTENING, type WorkerMessage } from './cluster.js'

export function registerWeb(program: Command): void {
  program.command('web').description('run the web server')
    .option('--port <port>', 'listen port (0 = any free port)')
    .option('--host <host>', 'listen address')
    .action(async (o: { port?: string; host?: string }) => {
      try {
        await runWeb(loadConfig(process.env, { port: o.port, host: o.host }))
      } catch (err) {
        reportError(err)
        process.exit(1)
      }
    })
}

export async function ensureBootstrapAdmin(services: Services): Promise<void> {
  const admin = services.config.bootstrapAdmin
  if (!admin) return
  if (await services.users.findOwner(admin.username)) return
  try {
    await services.users.create({
      username: admin.username, password: admin.password, email: admin.email ?? `${admin.username}@localhost`, isAdmin: true,
    }, { userId: null, name: 'WHARF_ADMIN_USERNAME', kind: 'system' })
  } catch (err) {
    // Another instance starting at the same moment may have created it.
    if (err instanceof WharfError && err.kind === 'unprocessable' && (await services.users.findOwner(admin.username))) return
    throw err
  }
}

export async function runWeb(config: Config): Promise<void> {
  if (cluster.isWorker) return serve(config, true)
  if (config.workers > 1) return runPrimary(config)
  return serve(config, false)
}

/**
 * One server process. A cluster worker skips what the primary did once before forking (migrations,
 * the bootstrap admin), reports its address to the primary instead of printing the ready line, and
 * exits once stopped (its IPC channel would keep it alive).
 */
async function serve(config: Config, worker: boolean): Promise<void> {
  const services = await openServices(config, { migrate: !worker })
  if (!worker) await ensureBootstrapAdmin(services)
  const app = await buildApp(services)
  const address = await app.listen({ host: config.host, port: config.port })
  startupDone()
  services.setListenUrl(new URL(`${address}/`))
  if (worker) process.send?.({ type: WORKER_LISTENING, address } satisfies WorkerMessage)
  else process.stdout.write(`wharf listening on ${address}\n`)
  services.startJobs(app.log)

  let stopping = false
  const stop = async (signal: string) => {
    if (stopping) return
    stopping = true
    app.log.info({ signal }, 'stopping: no new connections, waiting for requests in flight')
    const force = setTimeout(() => {
      app.log.warn('grace period over; closing remaining connections')
      app.server.closeAllConnections?.()
    }, config.shutdownGraceMs)
    force.unref()
    try {
      await app.close()
      await services.close()
      process.exitCode = 0
    } catch (err) {
      app.log.error({ err }, 'error while stopping')
      process.exitCode = 1
    }
    clearTimeout(force)
    if (worker) process.exit()
  }
  // `on`, not `once`: Ctrl-C reaches a worker from the terminal and again from the primary; a
  // second signal must not kill it mid-shutdown.
  process.on('SIGTERM', () => void stop('SIGTERM'))
  process.on('SIGINT', () => void stop('SIGINT'))
}
