// The byte layout of a module zip, checked so strictly that Go's archive/zip (which the go command
// reads module zips with) and yauzl (which Wharf inflates them with) cannot see two different zips.
//
// archive/zip finds the end-of-central-directory record by searching backwards from the end of the
// file, derives a base offset from the directory's size and offset, reads directory headers until
// one fails to parse (checking the entry count only modulo 65536), takes sizes, method and flags from
// the central directory, reads a data descriptor when the central flags say so, and checks CRC-32s
// on what it inflates. yauzl reads exactly the entry count from the declared offset. Wherever the
// two could disagree, this file refuses the zip rather than picking one reading:
//
// - the end record is the last 22 bytes of the file: no comment, no trailing bytes, one disk;
// - no zip64 records or fields at all (module zips are at most 500 MiB and never need them);
// - the central directory ends exactly where the end record starts, holds exactly the declared
//   number of headers, and fills exactly the declared size;
// - the entries' local headers and data tile the file from byte 0 up to the central directory, in
//   directory order, with nothing before, between or after them;
// - every local header agrees with its central header in name, method and flags, and (without a
//   data descriptor) in CRC-32 and sizes; a data descriptor, when flagged, is present (with its
//   signature) and agrees too;
// - only stored and deflated entries, no encryption, well-formed extra fields;
// - directory entries hold no data.
//
// A zip the go command would accept may still be refused here (a comment, trailing bytes, zip64);
// docs/go.md lists those. What passes is read identically by both.

import type { FileHandle } from 'node:fs/promises'
import { ModuleZipError, quote } from './errors.js'

const EOCD_SIG = 0x06054b50
const CENTRAL_SIG = 0x02014b50
const LOCAL_SIG = 0x04034b50
const DESCRIPTOR_SIG = 0x08074b50
const EOCD_LEN = 22
const CENTRAL_LEN = 46
const LOCAL_LEN = 30
const DESCRIPTOR_LEN = 16
const ZIP64_EXTRA = 0x0001
/** Flags a module zip may carry: deflate options (bits 1, 2), data descriptor (3), UTF-8 names (11). */
const ALLOWED_FLAGS = 0x0002 | 0x0004 | 0x0008 | 0x0800
const FLAG_DESCRIPTOR = 0x0008
const STORE = 0
const DEFLATE = 8
/** Largest central directory read into memory (about 600,000 entries of ordinary names). */
export const MAX_CENTRAL_DIRECTORY = 64 << 20

export interface LayoutEntry {
  /** The name's bytes, as both the local and the central header spell it. */
  readonly nameRaw: Buffer
  readonly method: number
  readonly flags: number
  readonly crc32: number
  readonly compressedSize: number
  readonly uncompressedSize: number
  /** Offset of the local header. */
  readonly localOffset: number
}

const bad = (reason: string) => new ModuleZipError('not-zip', `not a valid zip file: ${reason}`)

/** Reads `length` bytes at `position`; fewer bytes in the file is a malformed zip. */
async function readAt(fh: FileHandle, position: number, length: number): Promise<Buffer> {
  const buf = Buffer.alloc(length)
  let got = 0
  while (got < length) {
    const { bytesRead } = await fh.read(buf, got, length - got, position + got)
    if (bytesRead === 0) throw bad('unexpected end of file')
    got += bytesRead
  }
  return buf
}

/** Checks that extra fields are a well-formed sequence of (id, size, data) records without zip64. */
function checkExtra(extra: Buffer, where: string): void {
  let i = 0
  while (i < extra.length) {
    if (extra.length - i < 4) throw bad(`${where}: malformed extra field`)
    const id = extra.readUInt16LE(i)
    const size = extra.readUInt16LE(i + 2)
    if (id === ZIP64_EXTRA) throw bad(`${where}: zip64 extra field (not used by module zips)`)
    i += 4 + size
    if (i > extra.length) throw bad(`${where}: malformed extra field`)
  }
}

/**
 * Checks the layout of the zip open as `fh` (of `size` bytes) and returns its entries in directory
 * order. Throws ModuleZipError('not-zip') for anything two zip readers could read differently.
 */
export async function checkZipLayout(fh: FileHandle, size: number): Promise<LayoutEntry[]> {
  if (size < EOCD_LEN) throw bad('too short to be a zip file')
  const eocdAt = size - EOCD_LEN
  const eocd = await readAt(fh, eocdAt, EOCD_LEN)
  if (eocd.readUInt32LE(0) !== EOCD_SIG) {
    throw bad('the end of central directory record is not the last 22 bytes (a zip comment or trailing bytes)')
  }
  const disk = eocd.readUInt16LE(4)
  const cdDisk = eocd.readUInt16LE(6)
  const countHere = eocd.readUInt16LE(8)
  const count = eocd.readUInt16LE(10)
  const cdSize = eocd.readUInt32LE(12)
  const cdOffset = eocd.readUInt32LE(16)
  // A comment (or trailing bytes that happen to end in an end record) would make archive/zip give up.
  if (eocd.readUInt16LE(20) !== 0) throw bad('zip comment')
  if (disk !== 0 || cdDisk !== 0 || countHere !== count) throw bad('multi-disk zip')
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) throw bad('zip64 (not used by module zips)')
  if (cdOffset + cdSize !== eocdAt) {
    throw bad(`the central directory (offset ${cdOffset}, size ${cdSize}) does not end where its end record starts (${eocdAt})`)
  }
  if (cdSize > MAX_CENTRAL_DIRECTORY) {
    throw new ModuleZipError('too-large', `zip central directory too large (${cdSize} bytes; limit is ${MAX_CENTRAL_DIRECTORY})`)
  }
  if (count * CENTRAL_LEN > cdSize) throw bad(`${count} entries cannot fit in a central directory of ${cdSize} bytes`)
  const cd = await readAt(fh, cdOffset, cdSize)

  const entries: LayoutEntry[] = []
  let at = 0
  for (let n = 0; n < count; n++) {
    if (cdSize - at < CENTRAL_LEN || cd.readUInt32LE(at) !== CENTRAL_SIG) throw bad(`central directory header ${n + 1} is malformed`)
    const flags = cd.readUInt16LE(at + 8)
    const method = cd.readUInt16LE(at + 10)
    const crc32 = cd.readUInt32LE(at + 16)
    const compressedSize = cd.readUInt32LE(at + 20)
    const uncompressedSize = cd.readUInt32LE(at + 24)
    const nameLen = cd.readUInt16LE(at + 28)
    const extraLen = cd.readUInt16LE(at + 30)
    const commentLen = cd.readUInt16LE(at + 32)
    const startDisk = cd.readUInt16LE(at + 34)
    const localOffset = cd.readUInt32LE(at + 42)
    const end = at + CENTRAL_LEN + nameLen + extraLen + commentLen
    if (end > cdSize) throw bad(`central directory header ${n + 1} runs past the directory`)
    const nameRaw = cd.subarray(at + CENTRAL_LEN, at + CENTRAL_LEN + nameLen)
    const where = `entry ${quote(nameRaw.toString('latin1'))}`
    checkExtra(cd.subarray(at + CENTRAL_LEN + nameLen, at + CENTRAL_LEN + nameLen + extraLen), where)
    if (startDisk !== 0) throw bad(`${where}: multi-disk zip`)
    if (compressedSize === 0xffffffff || uncompressedSize === 0xffffffff || localOffset === 0xffffffff) {
      throw bad(`${where}: zip64 sizes (not used by module zips)`)
    }
    if ((flags & 1) !== 0) throw bad(`${where} is encrypted`)
    if ((flags & ~ALLOWED_FLAGS) !== 0) throw bad(`${where}: unsupported flags 0x${flags.toString(16)}`)
    if (method !== STORE && method !== DEFLATE) throw bad(`${where}: unsupported compression method ${method}`)
    if (method === STORE && compressedSize !== uncompressedSize) throw bad(`${where}: stored entry whose sizes differ`)
    if (nameLen > 0 && nameRaw[nameLen - 1] === 0x2f && (uncompressedSize !== 0 || compressedSize !== 0 || crc32 !== 0)) {
      throw bad(`${where}: a directory entry with data`)
    }
    entries.push({ nameRaw, method, flags, crc32, compressedSize, uncompressedSize, localOffset })
    at = end
  }
  if (at !== cdSize) throw bad(`the central directory holds more than its ${count} declared entries`)

  // Local headers and data tile [0, cdOffset) in directory order.
  let next = 0
  for (const e of entries) {
    const where = `entry ${quote(e.nameRaw.toString('latin1'))}`
    if (e.localOffset !== next) {
      throw bad(`${where}: its local header is at ${e.localOffset}, not ${next} where the previous entry ends (bytes outside the directory, or entries out of order)`)
    }
    if (next + LOCAL_LEN > cdOffset) throw bad(`${where}: local header overlaps the central directory`)
    const head = await readAt(fh, next, LOCAL_LEN)
    if (head.readUInt32LE(0) !== LOCAL_SIG) throw bad(`${where}: bad local header signature`)
    const flags = head.readUInt16LE(6)
    const method = head.readUInt16LE(8)
    const crc32 = head.readUInt32LE(14)
    const compressedSize = head.readUInt32LE(18)
    const uncompressedSize = head.readUInt32LE(22)
    const nameLen = head.readUInt16LE(26)
    const extraLen = head.readUInt16LE(28)
    if (flags !== e.flags || method !== e.method) throw bad(`${where}: local and central headers disagree in flags or method`)
    const dataAt = next + LOCAL_LEN + nameLen + extraLen
    if (dataAt > cdOffset) throw bad(`${where}: local header overlaps the central directory`)
    const nameAndExtra = await readAt(fh, next + LOCAL_LEN, nameLen + extraLen)
    if (!nameAndExtra.subarray(0, nameLen).equals(e.nameRaw)) throw bad(`${where}: local and central headers disagree in the name`)
    checkExtra(nameAndExtra.subarray(nameLen), where)
    const descriptor = (flags & FLAG_DESCRIPTOR) !== 0
    const agrees = (local: number, central: number) => local === central || (descriptor && local === 0)
    if (!agrees(crc32, e.crc32) || !agrees(compressedSize, e.compressedSize) || !agrees(uncompressedSize, e.uncompressedSize)) {
      throw bad(`${where}: local and central headers disagree in CRC-32 or sizes`)
    }
    next = dataAt + e.compressedSize
    if (descriptor) {
      if (next + DESCRIPTOR_LEN > cdOffset) throw bad(`${where}: missing data descriptor`)
      const d = await readAt(fh, next, DESCRIPTOR_LEN)
      if (d.readUInt32LE(0) !== DESCRIPTOR_SIG || d.readUInt32LE(4) !== e.crc32
        || d.readUInt32LE(8) !== e.compressedSize || d.readUInt32LE(12) !== e.uncompressedSize) {
        throw bad(`${where}: data descriptor missing or disagreeing with the central directory`)
      }
      next += DESCRIPTOR_LEN
    }
    if (next > cdOffset) throw bad(`${where}: data runs into the central directory`)
  }
  if (next !== cdOffset) throw bad(`${cdOffset - next} bytes between the last entry and the central directory`)
  return entries
}
