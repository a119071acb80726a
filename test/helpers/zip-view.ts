// A second reading of a zip, independent of Wharf's checker: yauzl from memory with all its
// validation, every file inflated and its size and CRC-32 compared with the directory's.
import { buffer } from 'node:stream/consumers'
import { crc32 } from 'node:zlib'
import yauzl from 'yauzl'

export interface ZipView { files: string[]; goMod: string | undefined }

export async function independentView(zip: Buffer): Promise<ZipView> {
  const z = await yauzl.fromBufferPromise(zip, { lazyEntries: true, validateEntrySizes: true, strictFileNames: true })
  const files: string[] = []
  let goMod: string | undefined
  for await (const e of z.eachEntry()) {
    if (e.fileName.endsWith('/')) continue
    const data = await buffer(await z.openReadStreamPromise(e))
    if (data.length !== e.uncompressedSize || crc32(data) !== e.crc32) throw new Error(`${e.fileName}: size or CRC-32 disagrees`)
    files.push(e.fileName)
    if (/^[^@]*@[^/]*\/go\.mod$/.test(e.fileName)) goMod = data.toString('utf8')
  }
  return { files, goMod }
}
