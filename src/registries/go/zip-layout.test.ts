// The layout rules of zip-layout.ts, each with the kind of zip that made Go's archive/zip and
// Wharf's reader see different files (found by feeding mutated zips to both).
import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { checkModuleZip } from './module-zip.js'
import { ModuleZipError } from './errors.js'
import { locate, zipBytes, type ZipEntry } from '../../../test/helpers/zip-bytes.js'

let dir: string
let n = 0
before(async () => { dir = await mkdtemp(join(tmpdir(), 'wharf-ziplayout-')) })
after(async () => { await rm(dir, { recursive: true, force: true }) })

const P = 'example.com/fz@v1.0.0/'
const FILES: ZipEntry[] = [[P + 'go.mod', 'module example.com/fz\n'], [P + 'fz.go', 'package fz\n']]

async function check(buf: Buffer) {
  const file = join(dir, `z${n++}.zip`)
  await writeFile(file, buf)
  return checkModuleZip(file)
}

async function refused(buf: Buffer, message: RegExp) {
  await assert.rejects(check(buf), (err: unknown) => {
    assert.ok(err instanceof ModuleZipError, String(err))
    assert.equal(err.rule, 'not-zip', err.message)
    assert.match(err.message, message)
    return true
  })
}

describe('zip layout', () => {
  test('zips as yazl and Go write them pass: with and without data descriptors, stored and deflated', async () => {
    for (const descriptors of [false, true]) {
      for (const compress of [false, true]) {
        const info = await check(await zipBytes([[P], ...FILES], { descriptors, compress }))
        assert.equal(info.files, 2)
        assert.equal(info.goMod, 'module example.com/fz\n')
      }
    }
  })

  test('a comment or trailing bytes after the end record', async () => {
    const z = await zipBytes(FILES)
    await refused(Buffer.concat([z, Buffer.from('trailing')]), /end of central directory record is not the last 22 bytes/)
    const commented = Buffer.concat([z, Buffer.from('hello')])
    commented.writeUInt16LE(5, z.length - 2)
    await refused(commented, /not the last 22 bytes/)
  })

  test('a central directory size that disagrees with where the directory ends', async () => {
    const z = await zipBytes(FILES)
    const { eocd, cdSize } = locate(z)
    for (const delta of [-1, 1, -46]) {
      const m = Buffer.from(z)
      m.writeUInt32LE(cdSize + delta, eocd + 12)
      await refused(m, /does not end where its end record starts/)
    }
  })

  test('an entry count smaller or larger than the headers present', async () => {
    const z = await zipBytes(FILES)
    const { eocd } = locate(z)
    for (const count of [1, 3]) {
      const m = Buffer.from(z)
      m.writeUInt16LE(count, eocd + 8)
      m.writeUInt16LE(count, eocd + 10)
      await refused(m, count === 1 ? /holds more than its 1 declared entries/ : /cannot fit|malformed|runs past/)
    }
  })

  test('a data-descriptor flag in the central directory that the local header lacks, and the reverse', async () => {
    const plain = await zipBytes(FILES, { compress: false })
    const a = Buffer.from(plain)
    const { central, local } = locate(a)
    a.writeUInt16LE(a.readUInt16LE(central[1]! + 8) | 8, central[1]! + 8)
    await refused(a, /disagree in flags or method/)
    const b = Buffer.from(plain)
    b.writeUInt16LE(b.readUInt16LE(local[1]! + 6) | 8, local[1]! + 6)
    await refused(b, /disagree in flags or method/)
  })

  test('a data descriptor that is missing or disagrees', async () => {
    const z = await zipBytes(FILES, { descriptors: true })
    const { cdOffset } = locate(z)
    const m = Buffer.from(z)
    m.writeUInt32LE((m.readUInt32LE(cdOffset - 12) ^ 1) >>> 0, cdOffset - 12)   // the last descriptor's CRC
    await refused(m, /data descriptor missing or disagreeing/)
  })

  test('a directory entry with data', async () => {
    const z = await zipBytes([[P + 'sub/'], ...FILES])
    const { central } = locate(z)
    const m = Buffer.from(z)
    m.writeUInt32LE(0xdeadbeef, central[0]! + 16)                         // a CRC on the directory entry
    await refused(m, /a directory entry with data|disagree in CRC/)
  })

  test('two central directories: a second zip appended inside the first cannot be seen by only one reader', async () => {
    const first = await zipBytes(FILES)
    const second = await zipBytes([[P + 'go.mod', 'module example.com/fz\n\nrequire example.com/evil v1.0.0\n'], [P + 'vendor/a/a.go', 'package a\n']])
    const a = locate(first)
    const b = locate(second)
    // first's entries, then second's entries and directory, then first's directory and end record:
    // a reader starting from the end sees first's directory, one that starts from a directory it finds
    // in the middle sees second's.
    const body = Buffer.concat([first.subarray(0, a.cdOffset), second.subarray(0, b.eocd)])
    const cd = Buffer.from(first.subarray(a.cdOffset, a.eocd))
    const end = Buffer.from(first.subarray(a.eocd))
    end.writeUInt32LE(body.length, 16)
    await refused(Buffer.concat([body, cd, end]), /bytes between the last entry and the central directory/)
    // ...and the end record pointing at the inner directory instead.
    const inner = Buffer.from(first.subarray(a.eocd))
    inner.writeUInt32LE(a.cdOffset + b.cdOffset, 16)
    inner.writeUInt32LE(b.cdSize, 12)
    await refused(Buffer.concat([body, inner]), /does not end where its end record starts|local header is at|disagree/)
  })

  test('bytes before the first entry, or entries out of order', async () => {
    const z = await zipBytes(FILES)
    const { cdOffset, eocd } = locate(z)
    const pre = Buffer.concat([Buffer.from('MZ prepended'), z])
    pre.writeUInt32LE(cdOffset + 12, pre.length - 22 + 16)
    await refused(pre, /bad local header signature/)   // archive/zip would shift every offset by 12; Wharf refuses
    const swapped = Buffer.from(z)
    const c = locate(swapped).central
    // swap the local offsets of the two central headers
    const o0 = swapped.readUInt32LE(c[0]! + 42)
    const o1 = swapped.readUInt32LE(c[1]! + 42)
    swapped.writeUInt32LE(o1, c[0]! + 42)
    swapped.writeUInt32LE(o0, c[1]! + 42)
    await refused(swapped, /local header is at/)
    assert.ok(eocd > 0)
  })

  test('local and central names that differ', async () => {
    const z = await zipBytes(FILES)
    const { local } = locate(z)
    const m = Buffer.from(z)
    m[local[1]! + 30 + P.length] = 'F'.charCodeAt(0)                        // fz.go → Fz.go in the local header only
    await refused(m, /disagree in the name/)
  })

  test('zip64 records and unsupported methods', async () => {
    const z = await zipBytes(FILES, { compress: false })
    const { central, local, eocd } = locate(z)
    const m = Buffer.from(z)
    m.writeUInt16LE(12, central[0]! + 10)
    m.writeUInt16LE(12, local[0]! + 8)
    await refused(m, /unsupported compression method 12/)
    const e = Buffer.from(z)
    e.writeUInt16LE(0xffff, eocd + 8)
    e.writeUInt16LE(0xffff, eocd + 10)
    await refused(e, /zip64/)
  })
})
