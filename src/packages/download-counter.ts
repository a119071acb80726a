// Download counts are added up in memory and written in one batch per flush, never a write per
// request: a popular file must not turn every GET into a database write.
import type { Kysely } from 'kysely'
import type { Database } from '../storage/db/schema.js'

export class DownloadCounter {
  #pending = new Map<number, number>()
  #flushing: Promise<void> | undefined

  constructor(private readonly db: Kysely<Database>) {}

  count(versionId: number): void {
    this.#pending.set(versionId, (this.#pending.get(versionId) ?? 0) + 1)
  }

  /** Writes the counts gathered so far; counts of a failed write are kept for the next flush. */
  async flush(): Promise<void> {
    while (this.#flushing) await this.#flushing
    if (this.#pending.size === 0) return
    const batch = this.#pending
    this.#pending = new Map()
    this.#flushing = (async () => {
      try {
        await this.db.transaction().execute(async (trx) => {
          for (const [id, n] of batch) {
            await trx.updateTable('package_version')
              .set((eb) => ({ download_count: eb('download_count', '+', n) }))
              .where('id', '=', id).execute()
          }
        })
      } catch (err) {
        for (const [id, n] of batch) this.#pending.set(id, (this.#pending.get(id) ?? 0) + n)
        throw err
      } finally {
        this.#flushing = undefined
      }
    })()
    await this.#flushing
  }
}
