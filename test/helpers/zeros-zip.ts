// A zip with one file of `size` zero bytes, deflated from a stream (never in memory): a few hundred
// KiB per 500 MiB, the shape of a zip bomb. Shared by the module-zip unit tests and the HTTP tests.
import { Readable } from 'node:stream'
import yazl from 'yazl'

export function zerosZipStream(name: string, size: number): Readable {
  const zero = Buffer.alloc(1 << 20)
  let left = size
  const source = new Readable({
    read() {
      const n = Math.min(left, zero.length)
      left -= n
      this.push(n > 0 ? zero.subarray(0, n) : null)
    },
  })
  const zip = new yazl.ZipFile()
  zip.addReadStream(source, name, { size, compressionLevel: 1, mtime: new Date(2020, 0, 1) })
  zip.end()
  return zip.outputStream as Readable
}
