// BlobStore on a local folder: <root>/ab/cd/<sha256>. A blob appears only by atomic rename of a
// fully written, fsynced temp file, so readers never see a partial blob, even after a crash.
import { createReadStream, createWriteStream } from 'node:fs'
import { mkdir, open, readdir, rename, rm, stat, utimes, writeFile, type FileHandle } from 'node:fs/promises'
import path from 'node:path'
import { randomUUID } from 'node:crypto'
import { Transform, type Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { FileSendStream } from './file-send-stream.js'
import { BlobNotFoundError, isBlobKey, type BlobKey, type BlobStat, type BlobStore, type ByteRange } from './blob-store.js'

export class FsBlobStore implements BlobStore {
  readonly #root: string
  readonly #tmp: string

  constructor(root: string) {
    this.#root = path.resolve(root)
    this.#tmp = path.join(this.#root, 'tmp')
  }

  async init(): Promise<void> {
    await mkdir(this.#tmp, { recursive: true })
  }

  /** Folder of half-written blobs; gc-blobs removes old leftovers of crashed writes. */
  get tmpDir(): string {
    return this.#tmp
  }

  /** The folder blobs live in (the nginx `alias` of WHARF_STORAGE_SERVE_DIRECT=x-accel). */
  get root(): string {
    return this.#root
  }

  relativePath(key: BlobKey): string {
    // keys are validated hex digests (BlobKey), so this path cannot escape the root
    if (!isBlobKey(key)) throw new TypeError(`not a blob key: ${String(key)}`)
    return `${key.slice(0, 2)}/${key.slice(2, 4)}/${key}`
  }

  #path(key: BlobKey): string {
    return path.join(this.#root, this.relativePath(key))
  }

  async sweepLeftovers(cutoffMs: number, signal?: AbortSignal): Promise<number> {
    return deleteOldFiles(this.#tmp, cutoffMs, signal)
  }

  async put(key: BlobKey, body: Readable, size?: number): Promise<boolean> {
    const final = this.#path(key)
    if (await this.#touchIfExists(final)) {
      body.destroy()
      return true
    }
    await mkdir(path.dirname(final), { recursive: true })
    await mkdir(this.#tmp, { recursive: true })
    const tmp = path.join(this.#tmp, `${key}.${randomUUID()}`)
    try {
      let written = 0
      const count = new Transform({
        transform(chunk: Buffer, _enc, cb) {
          written += chunk.length
          cb(null, chunk)
        },
      })
      await pipeline(body, count, createWriteStream(tmp, { flags: 'wx' }))
      if (size !== undefined && written !== size) throw new Error(`blob ${key}: expected ${size} bytes, got ${written}`)
      const fh = await open(tmp, 'r')
      try {
        await fh.sync()
      } finally {
        await fh.close()
      }
      await rename(tmp, final)
      await syncDir(path.dirname(final))
    } finally {
      await rm(tmp, { force: true })
    }
    return false
  }

  async putFile(key: BlobKey, file: string, size: number): Promise<boolean> {
    const final = this.#path(key)
    if (await this.#touchIfExists(final)) return true
    const fh = await open(file, 'r+')
    try {
      const s = await fh.stat()
      if (s.size !== size) throw new Error(`blob ${key}: expected ${size} bytes, got ${s.size}`)
      await fh.sync()
    } finally {
      await fh.close()
    }
    try {
      await renameInto(file, final)
    } catch (err) {
      // another file system (WHARF_STORAGE_URL elsewhere than WHARF_DATA): copy instead
      if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err
      return this.put(key, createReadStream(file), size)
    }
    await syncDir(path.dirname(final))
    return false
  }

  /**
   * Small uploads: the bytes go to a temp file in one write, are flushed (fdatasync) and renamed
   * into place — seven file-system operations for a new blob, one for an existing one.
   */
  async putBytes(key: BlobKey, bytes: Buffer): Promise<boolean> {
    const final = this.#path(key)
    if (await this.#touchIfExists(final)) return true
    const tmp = path.join(this.#tmp, `${key}.${randomUUID()}`)
    const fh = await openCreating(tmp)
    try {
      try {
        await fh.writeFile(bytes)
        await fh.datasync()
      } finally {
        await fh.close()
      }
      await renameInto(tmp, final)
    } catch (err) {
      await rm(tmp, { force: true })
      throw err
    }
    await syncDir(path.dirname(final))
    return false
  }

  /** Refreshes the mtime of an existing blob: the GC spares blobs written within its grace period. */
  async #touchIfExists(final: string): Promise<boolean> {
    const now = new Date()
    try {
      await utimes(final, now, now)
      return true
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false
      throw err
    }
  }

  async open(key: BlobKey, range?: ByteRange): Promise<Readable> {
    const file = this.#path(key)
    // open first so a missing blob rejects here, not as a stream error after headers went out
    let fh
    try {
      fh = await open(file, 'r')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new BlobNotFoundError(key)
      throw err
    }
    // 1 MiB reads (the default is 64 KiB): a 1 GiB download went at half the bare Node server's
    // speed with 16k small reads and socket writes. Never more than the bytes asked for; into
    // reused buffers when sent to a response (file-send-stream.ts says why).
    const start = range?.start ?? 0
    let end = range?.end
    if (end === undefined) {
      try {
        end = (await fh.stat()).size - 1
      } catch (err) {
        await fh.close()
        throw err
      }
    }
    return new FileSendStream(fh, start, end)
  }

  async stat(key: BlobKey): Promise<BlobStat | undefined> {
    try {
      const s = await stat(this.#path(key))
      return { size: s.size, modifiedAt: s.mtime }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw err
    }
  }

  async delete(key: BlobKey): Promise<void> {
    await rm(this.#path(key), { force: true })
  }

  async *keys(): AsyncIterable<BlobKey> {
    for (const a of await listDir(this.#root)) {
      if (!/^[0-9a-f]{2}$/.test(a)) continue
      for (const b of await listDir(path.join(this.#root, a))) {
        if (!/^[0-9a-f]{2}$/.test(b)) continue
        for (const name of await listDir(path.join(this.#root, a, b))) {
          if (isBlobKey(name) && name.startsWith(a + b)) yield name
        }
      }
    }
  }

  async ping(): Promise<void> {
    const probe = path.join(this.#tmp, `.ping-${randomUUID()}`)
    await writeFile(probe, '')
    await rm(probe, { force: true })
  }

  async close(): Promise<void> {}
}

/** Removes the plain files in `dir` last modified before the cutoff (leftovers of crashed writes). */
export async function deleteOldFiles(dir: string, cutoffMs: number, signal?: AbortSignal): Promise<number> {
  let deleted = 0
  for (const name of await listDir(dir)) {
    if (signal?.aborted) break
    const p = path.join(dir, name)
    try {
      const s = await stat(p)
      if (!s.isFile() || s.mtimeMs > cutoffMs) continue
      await rm(p, { force: true })
      deleted++
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    }
  }
  return deleted
}

async function listDir(dir: string): Promise<string[]> {
  try {
    return await readdir(dir)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw err
  }
}

/** Creates `file` (exclusively), making its folder only when it is missing: one operation, not two, per upload. */
export async function openCreating(file: string): Promise<FileHandle> {
  try {
    return await open(file, 'wx')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    await mkdir(path.dirname(file), { recursive: true })
    return open(file, 'wx')
  }
}

/** Renames `from` to `to`, making the folder of `to` only when it is missing (most are there). */
async function renameInto(from: string, to: string): Promise<void> {
  try {
    await rename(from, to)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    const dir = path.dirname(to)
    const made = await mkdir(dir, { recursive: true })
    await rename(from, to)
    // New folders are entries of their parents: flushed too, up to the first one that existed
    // (the caller flushes `dir` itself after the rename).
    if (made !== undefined) {
      for (let d = path.dirname(dir); ; d = path.dirname(d)) {
        await syncDir(d)
        if (d === path.dirname(made) || d === path.dirname(d)) break
      }
    }
  }
}

/** Makes the rename itself durable (the directory entry). Not supported everywhere; best effort. */
async function syncDir(dir: string): Promise<void> {
  try {
    const fh = await open(dir, 'r')
    try {
      await fh.sync()
    } finally {
      await fh.close()
    }
  } catch {
    // some platforms cannot fsync a directory; the file itself is already durable
  }
}
