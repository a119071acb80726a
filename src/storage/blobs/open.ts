// openBlobStore(url): file:PATH today; s3:// is refused by config until a backend exists.
import { FsBlobStore } from './fs-blob-store.js'
import type { BlobStore } from './blob-store.js'

export async function openBlobStore(url: string): Promise<BlobStore> {
  if (url.startsWith('file:')) {
    const root = url.slice('file:'.length)
    if (!root) throw new Error('file: storage needs a folder')
    const store = new FsBlobStore(root)
    await store.init()
    return store
  }
  throw new Error(`unsupported storage URL scheme: ${url.replace(/\?.*$/, '')}`)
}
