// The go.sum hashes ("h1:"), as golang.org/x/mod/sumdb/dirhash computes them: SHA-256 over a
// summary with one line "<sha256 hex>  <name>\n" per file, names sorted, base64 of that digest.
import { createHash } from 'node:crypto'
import yauzl from 'yauzl'

function hash1(files: Array<{ name: string; sha256: string }>): string {
  const summary = createHash('sha256')
  for (const f of [...files].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    if (f.name.includes('\n')) throw new Error('dirhash: filenames with newlines are not supported')
    summary.update(`${f.sha256}  ${f.name}\n`)
  }
  return `h1:${summary.digest('base64')}`
}

/** The hash of a go.mod file as go.sum records it (`… vX.Y.Z/go.mod h1:…`). */
export function goModHash(goMod: Buffer | string): string {
  return hash1([{ name: 'go.mod', sha256: createHash('sha256').update(goMod).digest('hex') }])
}

/** dirhash.HashZip: every entry of the zip under its full name (`module@version/file`). */
export async function zipHash(file: string): Promise<string> {
  const zip = await yauzl.openPromise(file, { lazyEntries: true, autoClose: true, decodeStrings: false, validateEntrySizes: true })
  zip.on('error', () => {})
  const files = new Map<string, string>()
  try {
    for await (const entry of zip.eachEntry()) {
      const name = new TextDecoder('utf-8', { fatal: true }).decode(entry.fileNameRaw)
      const h = createHash('sha256')
      if (!name.endsWith('/')) {
        const stream = await zip.openReadStreamPromise(entry)
        for await (const chunk of stream as AsyncIterable<Buffer>) h.update(chunk)
      }
      files.set(name, h.digest('hex'))
    }
  } finally {
    zip.close()
  }
  return hash1([...files].map(([name, sha256]) => ({ name, sha256 })))
}
