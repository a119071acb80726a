// A real Wharf server on 127.0.0.1:0 over a temp data folder, on SQLite or on PostgreSQL in a schema
// of its own (WHARF_TEST_DATABASE_URL), with blobs in files or in S3 (Ceph RGW, a key prefix of its
// own: test/helpers/s3.ts). Everything is removed when the test ends.
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
import { listFiles } from '../http/generic-helpers.js'
import { s3Skip, s3TestStorage } from './s3.js'
import { storeBehind } from '../../src/storage/blobs/inline-blob-store.js'

export type DbKind = 'sqlite' | 'postgres'

/** The databases every storage test runs on: SQLite always, PostgreSQL when WHARF_TEST_DATABASE_URL is set. */
export function testDatabases(): DbKind[] {
  if (process.env.WHARF_TEST_DATABASE_URL) return ['sqlite', 'postgres']
  if (process.env.CI === 'true') throw new Error('WHARF_TEST_DATABASE_URL must be set under CI=true')
  return ['sqlite']
}

export type StorageKind = 'file' | 's3'

/** The blob stores storage tests run on: files always, S3 when the Ceph RGW is available (always under CI=true). */
export function testStorages(): StorageKind[] {
  return s3Skip() === false ? ['file', 's3'] : ['file']
}

export interface MatrixEntry {
  readonly db: DbKind
  readonly storage: StorageKind
  /** For test names: "sqlite", "postgres", "sqlite+s3", "postgres+s3". */
  readonly label: string
}

/**
 * Every database × every blob store, for the tests whose subject is stored packages (Generic, Go,
 * the package API, GC, health). Tests of accounts and access rules use testDatabases() alone.
 */
export function testMatrix(): MatrixEntry[] {
  const out: MatrixEntry[] = []
  for (const storage of testStorages()) {
    for (const db of testDatabases()) out.push({ db, storage, label: storage === 'file' ? db : `${db}+${storage}` })
  }
  return out
}

export interface TestApp {
  url: string
  app: FastifyInstance
  services: Services
  dataDir: string
  storage: StorageKind
  /** Stops the server (the t.after hook then only removes files). */
  stop(): Promise<void>
}

export interface StartOptions {
  db?: DbKind
  storage?: StorageKind
  env?: Record<string, string>
  ext?: AppExtensions
  /** Builds the app itself; defaults to buildApp. Web tests pass the app with pages. */
  build?: (services: Services) => Promise<FastifyInstance>
}

export async function startTestApp(t: TestContext | { after(fn: () => Promise<void>): void }, opts: StartOptions = {}): Promise<TestApp> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'wharf-test-'))
  const env: Record<string, string> = { WHARF_DATA: dataDir, WHARF_LOG_LEVEL: process.env.WHARF_TEST_LOG_LEVEL ?? 'silent', WHARF_PORT: '0',
    // Tests create many users: cheap hashes here (the default is OWASP's 2^17; test/http/passwords.test.ts covers it).
    WHARF_PASSWORD_HASH_COST: '10' }
  // A prefix of its own in the test bucket, emptied when the test ends.
  if (opts.storage === 's3') Object.assign(env, (await s3TestStorage(t)).env)
  Object.assign(env, opts.env)
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
  return { url: address, app, services, dataDir, storage: opts.storage ?? 'file', stop }
}

/**
 * What the blob store holds, whatever its kind: the stored keys, and what half-done writes left
 * (temp files of the file store, multipart uploads in progress on S3). Tests assert both.
 */
export async function blobInventory(app: Pick<TestApp, 'services' | 'dataDir'>): Promise<{ keys: string[]; partial: string[] }> {
  const keys: string[] = []
  for await (const k of app.services.blobs.keys()) keys.push(k)
  keys.sort()
  const blobs = storeBehind(app.services.blobs) as { pendingUploads?: () => Promise<number> }
  const partial = blobs.pendingUploads
    ? Array.from({ length: await blobs.pendingUploads() }, (_, i) => `multipart upload ${i + 1}`)
    : (await listFiles(`${app.dataDir}/blobs/tmp`)).filter((f) => !f.startsWith('.ping-'))
  return { keys, partial }
}
