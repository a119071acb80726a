// Mutations of valid module zips aimed at the places where zip readers disagree: fields of the end
// record, the central and local headers and data descriptors (set, nudged), duplicated or dropped
// records, bytes inserted, appended, removed or flipped. Shared by the property tests, the
// differential test against the go command and scripts/fuzz-module-zip.ts.
import fc from 'fast-check'
import { zipBytes, type ZipEntry } from './zip-bytes.js'

export interface Mutation { kind: number; at: number; value: number }

export const KINDS = 10

/** fast-check arbitrary of 1–4 mutations. */
export const mutationsArb = fc.array(
  fc.record({ kind: fc.integer({ min: 0, max: KINDS - 1 }), at: fc.nat(), value: fc.nat() }),
  { minLength: 1, maxLength: 4 },
)

/** Field offsets (and widths) worth changing, per record type. */
const EOCD_FIELDS: [number, 2 | 4][] = [[4, 2], [6, 2], [8, 2], [10, 2], [12, 4], [16, 4], [20, 2]]
const CENTRAL_FIELDS: [number, 2 | 4][] = [[4, 2], [6, 2], [8, 2], [10, 2], [12, 2], [14, 2], [16, 4], [20, 4], [24, 4], [28, 2], [30, 2], [32, 2], [34, 2], [36, 2], [38, 4], [42, 4]]
const LOCAL_FIELDS: [number, 2 | 4][] = [[4, 2], [6, 2], [8, 2], [10, 2], [12, 2], [14, 4], [18, 4], [22, 4], [26, 2], [28, 2]]
const DELTAS = [1, -1, 2, -2, 4, -4, 12, -12, 16, -16, 22, -22, 30, 46, -46, 0x8, 0x800, 0x10000]

/** Offsets of every record signature in buf (any position, also inside data). */
function records(buf: Buffer): { at: number; fields: [number, 2 | 4][] }[] {
  const out: { at: number; fields: [number, 2 | 4][] }[] = []
  for (let i = buf.indexOf('PK'); i >= 0 && i + 4 <= buf.length; i = buf.indexOf('PK', i + 1)) {
    const t = buf.readUInt16LE(i + 2)
    if (t === 0x0605) out.push({ at: i, fields: EOCD_FIELDS })
    else if (t === 0x0201) out.push({ at: i, fields: CENTRAL_FIELDS })
    else if (t === 0x0403) out.push({ at: i, fields: LOCAL_FIELDS })
    else if (t === 0x0807) out.push({ at: i, fields: [[4, 4], [8, 4], [12, 4]] })
  }
  return out
}

function writeField(buf: Buffer, at: number, width: 2 | 4, v: number): void {
  if (at + width > buf.length) return
  if (width === 2) buf.writeUInt16LE(((v % 0x10000) + 0x10000) % 0x10000, at)
  else buf.writeUInt32LE(((v % 0x100000000) + 0x100000000) % 0x100000000, at)
}

function readField(buf: Buffer, at: number, width: 2 | 4): number {
  if (at + width > buf.length) return 0
  return width === 2 ? buf.readUInt16LE(at) : buf.readUInt32LE(at)
}

/** Applies one mutation; the result may be anything from a valid zip to garbage. */
export function mutate(input: Buffer, m: Mutation): Buffer {
  if (input.length === 0) return Buffer.from([m.value & 0xff])
  const buf = Buffer.from(input)
  const pos = m.at % buf.length
  const recs = records(buf)
  const rec = recs.length ? recs[m.at % recs.length]! : undefined
  switch (m.kind) {
    case 0: {                                                   // flip bits of one byte
      buf[pos] = buf[pos]! ^ ((m.value % 255) + 1)
      return buf
    }
    case 1:                                                     // set a record field to a small value
    case 2: {                                                   // nudge a record field
      if (!rec) return buf
      const [off, width] = rec.fields[m.value % rec.fields.length]!
      const v = m.kind === 1 ? (m.value >> 4) % 70 : readField(buf, rec.at + off, width) + DELTAS[(m.value >> 4) % DELTAS.length]!
      writeField(buf, rec.at + off, width, v)
      return buf
    }
    case 3:                                                     // truncate
      return buf.subarray(0, pos)
    case 4:                                                     // append bytes (garbage, or a copy of the tail)
      return Buffer.concat([buf, m.value % 2 ? buf.subarray(buf.length - (m.value % 64)) : Buffer.alloc(m.value % 64, m.value & 0xff)])
    case 5: {                                                   // insert a copy of a record's first bytes elsewhere
      if (!rec) return buf
      const len = 22 + (m.value % 64)
      return Buffer.concat([buf.subarray(0, pos), buf.subarray(rec.at, rec.at + len), buf.subarray(pos)])
    }
    case 6: {                                                   // duplicate everything from a record to the end
      if (!rec) return buf
      return Buffer.concat([buf.subarray(0, buf.length - 22), buf.subarray(rec.at, buf.length - 22), buf.subarray(buf.length - 22)])
    }
    case 7: {                                                   // remove a range
      const len = 1 + (m.value % 48)
      return Buffer.concat([buf.subarray(0, pos), buf.subarray(pos + len)])
    }
    case 8: {                                                   // set a data-descriptor or UTF-8 flag
      if (!rec || rec.fields === EOCD_FIELDS) return buf
      const off = rec.fields === CENTRAL_FIELDS ? 8 : 6
      writeField(buf, rec.at + off, 2, readField(buf, rec.at + off, 2) ^ (m.value % 2 ? 0x8 : 0x800))
      return buf
    }
    default: {                                                  // overwrite bytes with a copy of another region
      const from = m.value % buf.length
      const len = 1 + ((m.value >> 8) % 32)
      buf.subarray(from, from + len).copy(buf, pos)
      return buf
    }
  }
}

export function applyAll(input: Buffer, ms: readonly Mutation[]): Buffer {
  return ms.reduce((b, m) => mutate(b, m), input)
}

export const SHAPES = 9

/** Valid module zip number `shape` (0 … SHAPES-1) for one module version: three file sets, each with
 * sizes in the headers, with data descriptors (as Go writes them), and stored. */
export async function baseZip(module: string, version: string, shape: number): Promise<Buffer> {
  const p = `${module}@${version}/`
  const goMod = `module ${module}\n\ngo 1.19\n`
  const shapes: ZipEntry[][] = [
    [[p + 'go.mod', goMod], [p + 'fz.go', 'package fz\n']],
    [[p], [p + 'go.mod', goMod], [p + 'sub/'], [p + 'sub/a.go', 'package sub\n'.repeat(20)], [p + 'vendor/modules.txt', '# x\n']],
    [[p + 'fz.go', 'package fz\n\nfunc F() int { return 1 }\n'], [p + 'LICENSE', 'MIT\n'.repeat(50)]],
  ]
  const entries = shapes[Math.floor(shape / 3) % 3]!
  return zipBytes(entries, [{}, { descriptors: true }, { compress: false }][shape % 3])
}
