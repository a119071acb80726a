// openBlobStore(url): file:PATH or s3://BUCKET[/PREFIX]?endpoint=…&region=…&forcePathStyle=…
import { FsBlobStore } from './fs-blob-store.js'
import type { S3Credentials } from './s3-blob-store.js'
import { parseS3Url } from './s3-url.js'
import type { BlobStore } from './blob-store.js'

export interface OpenBlobStoreOptions {
  /** For s3://; unset = the AWS SDK's own chain (environment, ~/.aws, instance role). */
  readonly credentials?: S3Credentials
  /** For s3:// without region=; AWS_REGION. */
  readonly defaultRegion?: string
}

/** Opens and checks a store; an s3:// bucket that is missing or refuses the credentials rejects with one clear line. */
export async function openBlobStore(url: string, opts: OpenBlobStoreOptions = {}): Promise<BlobStore> {
  if (url.startsWith('file:')) {
    const root = url.slice('file:'.length)
    if (!root) throw new Error('file: storage needs a folder')
    const store = new FsBlobStore(root)
    await store.init()
    return store
  }
  if (url.startsWith('s3://')) {
    // The AWS SDK is loaded only for an s3:// store: it is the biggest part of idle memory otherwise.
    const { S3BlobStore } = await import('./s3-blob-store.js')
    const store = new S3BlobStore(parseS3Url(url, opts.defaultRegion), opts.credentials)
    try {
      await store.init()
    } catch (err) {
      await store.close()
      throw err
    }
    return store
  }
  throw new Error(`unsupported storage URL scheme: ${url.replace(/\?.*$/, '')}`)
}
