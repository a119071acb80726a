// The `wharf` command line, named as Gitea names its commands.
import { Command, CommanderError } from 'commander'
import { ConfigError, loadConfig } from '../config/config.js'
import { WharfError } from '../errors.js'
import { openServices, type Services } from '../services.js'
import { registerWeb } from './web.js'
import { registerAdminUser } from './admin-user.js'
import { registerMigrateDb } from './migrate-db.js'
import { registerMigrateStorage } from './migrate-storage.js'
import { packageTypes } from '../registries/index.js'
import { registerDoctor } from './doctor.js'
import { startupDone } from '../startup-heap.js'

export async function runCli(argv: string[]): Promise<void> {
  const program = new Command('wharf')
    .description(`Wharf: a self-hosted package registry (${packageTypes.map((t) => t.displayName).join(', ')}), wire-compatible with Gitea`)
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) })
  // Only `web` holds the young generation small until it listens (startup-heap.ts).
  program.hook('preAction', (_program, command) => {
    if (command.name() !== 'web') startupDone()
  })
  registerWeb(program)
  registerMigrateStorage(program)
  const admin = program.command('admin').description('administration commands')
  registerAdminUser(admin.command('user').description('manage users'), () => openServices(loadConfig(process.env)))
  program.command('migrate').description('apply database migrations and exit')
    .action(withServices(() => openServices(loadConfig(process.env)), async () => {
      process.stdout.write('database is up to date\n')
    }))
  registerMigrateDb(program)
  for (const type of packageTypes) type.cli?.(program, process.env)
  registerDoctor(program)
  try {
    await program.parseAsync(argv)
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode
      return
    }
    reportError(err)
  }
}

export function reportError(err: unknown): void {
  if (err instanceof WharfError || err instanceof ConfigError) process.stderr.write(`wharf: ${err.message}\n`)
  else if (err instanceof Error) process.stderr.write(`wharf: ${err.message}\n${err.stack ?? ''}\n`)
  else process.stderr.write(`wharf: ${String(err)}\n`)
  process.exitCode = 1
}

/** Opens services, runs the action, always closes them; errors print to stderr with exit code 1. */
export function withServices<A extends unknown[]>(open: () => Promise<Services>, action: (s: Services, ...args: A) => Promise<void>) {
  return async (...args: A) => {
    let services: Services | undefined
    try {
      services = await open()
      await action(services, ...args)
    } catch (err) {
      reportError(err)
    } finally {
      await services?.close()
    }
  }
}
