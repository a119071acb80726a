// `wharf migrate-storage --to URL`: every blob of the current store (WHARF_STORAGE_URL) into another.
import type { Command } from 'commander'
import { ConfigError, loadConfig } from '../config/config.js'
import { openServices } from '../services.js'
import { openBlobStore } from '../storage/blobs/open.js'
import { migrateBlobs, type MigrateProgress } from '../storage/blobs/migrate.js'
import { withServices } from './index.js'

const line = (p: MigrateProgress) =>
  `migrate-storage: ${p.copied + p.skipped}/${p.total} blobs (${p.copied} copied, ${p.skipped} already there, ${(p.bytes / 2 ** 20).toFixed(1)} MiB)`

export function registerMigrateStorage(program: Command): void {
  program.command('migrate-storage').description('copy every blob to another store (file:PATH or s3://…), verified, resumable')
    .requiredOption('--to <url>', 'the target WHARF_STORAGE_URL')
    .action(withServices(() => openServices(loadConfig(process.env)), async (s, o: { to: string }) => {
      const target = loadConfig({ ...process.env, WHARF_STORAGE_URL: o.to })
      if (target.storageUrl === s.config.storageUrl) throw new ConfigError('--to', 'is the current WHARF_STORAGE_URL')
      let to
      try {
        to = await openBlobStore(target.storageUrl, target.storageOptions)
      } catch (err) {
        throw new ConfigError('--to', err instanceof Error ? err.message : String(err))
      }
      try {
        let last = 0
        const tty = process.stderr.isTTY
        const r = await migrateBlobs(s.db, s.blobs, to, {
          onProgress: (p) => {
            if (Date.now() - last < 1000 && p.copied + p.skipped < p.total) return
            last = Date.now()
            process.stderr.write(tty ? `\r${line(p)}` : `${line(p)}\n`)
          },
        })
        if (tty) process.stderr.write('\n')
        process.stdout.write(`${line(r)}: done; now set WHARF_STORAGE_URL=${o.to.replace(/\?.*$/, '?…')}\n`)
      } finally {
        await to.close()
      }
    }))
}
