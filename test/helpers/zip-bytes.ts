// Builds module zips in memory and locates their records, for tests that mutate zips byte by byte
// (the layout unit tests, the property tests and the differential test against the go command).
import { createWriteStream } from 'node:fs'
import { pipeline } from 'node:stream/promises'
import { Readable, Writable } from 'node:stream'
import yazl from 'yazl'

export type ZipEntry = readonly [name: string, data: string | Buffer] | readonly [name: string]

export interface ZipOptions {
  /** Deflate the files (default true). */
  compress?: boolean
  /** Write files as streams, as Go's archive/zip writer does: local headers with zero sizes and a data descriptor. */
  descriptors?: boolean
}

function build(entries: readonly ZipEntry[], opts: ZipOptions): yazl.ZipFile {
  const zip = new yazl.ZipFile()
  const mtime = new Date(2020, 0, 1)
  for (const [name, data] of entries) {
    if (data === undefined) zip.addEmptyDirectory(name, { mtime })
    else if (opts.descriptors) {
      const buf = Buffer.from(data)
      zip.addReadStreamLazy(name, { mtime, compress: opts.compress ?? true, size: buf.length }, (cb) => {
        cb(null, Readable.from([buf]))
      })
    } else zip.addBuffer(Buffer.from(data), name, { mtime, compress: opts.compress ?? true })
  }
  zip.end()
  return zip
}

/** The zip's bytes. */
export async function zipBytes(entries: readonly ZipEntry[], opts: ZipOptions = {}): Promise<Buffer> {
  const chunks: Buffer[] = []
  await pipeline(build(entries, opts).outputStream, new Writable({
    write(chunk: Buffer, _enc, cb) { chunks.push(chunk); cb() },
  }))
  return Buffer.concat(chunks)
}

/** Writes the zip to `file`. */
export async function writeZipFile(file: string, entries: readonly ZipEntry[], opts: ZipOptions = {}): Promise<void> {
  await pipeline(build(entries, opts).outputStream, createWriteStream(file))
}

export interface Located {
  eocd: number
  cdOffset: number
  cdSize: number
  count: number
  /** Offsets of the central headers, in order. */
  central: number[]
  /** Offsets of the local headers, in directory order. */
  local: number[]
}

/** Finds the records of a well-formed zip (no comment). */
export function locate(buf: Buffer): Located {
  const eocd = buf.length - 22
  if (buf.readUInt32LE(eocd) !== 0x06054b50) throw new Error('no end record in the last 22 bytes')
  const count = buf.readUInt16LE(eocd + 10)
  const cdSize = buf.readUInt32LE(eocd + 12)
  const cdOffset = buf.readUInt32LE(eocd + 16)
  const central: number[] = []
  const local: number[] = []
  let at = cdOffset
  for (let i = 0; i < count; i++) {
    central.push(at)
    local.push(buf.readUInt32LE(at + 42))
    at += 46 + buf.readUInt16LE(at + 28) + buf.readUInt16LE(at + 30) + buf.readUInt16LE(at + 32)
  }
  return { eocd, cdOffset, cdSize, count, central, local }
}
