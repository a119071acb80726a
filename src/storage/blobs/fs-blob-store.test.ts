import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { blobStoreContract } from './blob-store.contract.js'
import { openBlobStore } from './open.js'

blobStoreContract('fs', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'wharf-blobs-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  return openBlobStore(`file:${dir}`)
})
