// A real Wharf server on 127.0.0.1:0 over a temp data folder, on SQLite or on PostgreSQL in a schema
// of its own (WHARF_TEST_DATABASE_URL). Everything is removed when the test ends.
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { randomBytes } from 'node:crypto'
import type { TestContext } from 'node:test'
import type { FastifyInstance } from 'fastify'
import { loadConfig } from '../../src/config/config.js'
import { openServices, type Services } from '../../src/services.js'
import { buildApp, type AppExtensions } from '../../src/app.js'
import { dropPostgresSchema } from '../../src/storage/db/open.js'

export type DbKind = 'sqlite' | 'postgres'

/** The databases every storage test runs on: SQLite always, PostgreSQL when WHARF_TEST_DATABASE_URL is set. */
export function testDatabases(): DbKind[] {
  if (process.env.WHARF_TEST_DATABASE_URL) return ['sqlite', 'postgres']
  if (process.env.CI === 'true') throw new Error('WHARF_TEST_DATABASE_URL must be set under CI=true')
  return ['sqlite']
}

export interface TestApp {
  url: string
  app: FastifyInstance
  services: Services
  dataDir: string
  /** Stops the server (the t.after hook then only removes files). */
  stop(): Promise<void>
}

export interface StartOptions {
  db?: DbKind
  env?: Record<string, string>
  ext?: AppExtensions
  /** Builds the app itself; defaults to buildApp. Web tests pass the app with pages. */
  build?: (services: Services) => Promise<FastifyInstance>
}

export async function startTestApp(t: TestContext | { after(fn: () => Promise<void>): void }, opts: StartOptions = {}): Promise<TestApp> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'wharf-test-'))
  const env: Record<string, string> = { WHARF_DATA: dataDir, WHARF_LOG_LEVEL: process.env.WHARF_TEST_LOG_LEVEL ?? 'silent', WHARF_PORT: '0', ...opts.env }
  let pgUrl: string | undefined
  if (opts.db === 'postgres') {
    const base = process.env.WHARF_TEST_DATABASE_URL
    if (!base) throw new Error('WHARF_TEST_DATABASE_URL is not set')
    const u = new URL(base)
    u.searchParams.set('schema', `t_${randomBytes(6).toString('hex')}`)
    pgUrl = u.toString()
    env.WHARF_DATABASE_URL = pgUrl
  }
  const opened: { services?: Services; app?: FastifyInstance } = {}
  let stopped = false
  const stop = async () => {
    if (stopped) return
    stopped = true
    await opened.app?.close()
    await opened.services?.close()
  }
  // Registered before anything opens, so a failed start-up still drops its schema and files.
  t.after(async () => {
    await stop()
    if (pgUrl) await dropPostgresSchema(pgUrl)
    await rm(dataDir, { recursive: true, force: true })
  })
  const services = opened.services = await openServices(loadConfig(env))
  const app = opened.app = opts.build ? await opts.build(services) : await buildApp(services, opts.ext)
  const address = await app.listen({ host: '127.0.0.1', port: 0 })
  services.setListenUrl(new URL(`${address}/`))
  return { url: address, app, services, dataDir, stop }
}
