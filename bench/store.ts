// Which blob store the benchmarked server uses: local files in its temp folder (the default), or an
// S3 bucket named by BENCH_STORAGE_URL. Each S3 run writes under a fresh prefix of its own inside the
// URL's prefix and removes everything under it (objects and unfinished multipart uploads) at the end.
// BENCH_SERVE_DIRECT=true sends GETs to presigned URLs (a 307), as WHARF_STORAGE_SERVE_DIRECT=true.
import { randomBytes } from 'node:crypto'
import type { S3Client } from '@aws-sdk/client-s3'
import { describeS3, parseS3Url, type S3Location } from '../src/storage/blobs/s3-url.js'

export type ServeDirect = 'off' | 'redirect'

export interface BenchStore {
  readonly kind: 'files' | 's3'
  /** For the table and results.json: no credentials are ever part of it. */
  readonly description: string
  readonly serveDirect: ServeDirect
  /** WHARF_* variables for the server (AWS_* credentials pass through from the environment). */
  readonly env: Record<string, string>
  /** Removes what the run stored; never throws (a message says what is left). */
  cleanup(): Promise<void>
}

export class BenchConfigError extends Error {}

export async function openBenchStore(env: NodeJS.ProcessEnv): Promise<BenchStore> {
  const raw = env.BENCH_STORAGE_URL?.trim() ?? ''
  const serveDirect = parseServeDirect(env.BENCH_SERVE_DIRECT)
  if (raw === '' || raw === 'files') {
    if (serveDirect === 'redirect') throw new BenchConfigError('BENCH_SERVE_DIRECT=true needs an s3:// BENCH_STORAGE_URL (presigned URLs)')
    return { kind: 'files', description: 'local files (the server\'s temp folder)', serveDirect, env: {}, cleanup: async () => {} }
  }
  if (!raw.startsWith('s3://')) throw new BenchConfigError(`BENCH_STORAGE_URL must be s3://BUCKET[/PREFIX]?endpoint=…&region=…&forcePathStyle=true, got '${raw}'`)
  let loc: S3Location
  try {
    loc = parseS3Url(raw)
  } catch (err) {
    throw new BenchConfigError(`BENCH_STORAGE_URL: ${(err as Error).message}`)
  }
  const runPrefix = `${loc.prefix}wharf-bench-${new Date().toISOString().replace(/[-:.]/g, '').slice(0, 15)}-${randomBytes(4).toString('hex')}/`
  const url = new URL(raw)
  url.pathname = `/${runPrefix}`
  const { S3Client } = await import('@aws-sdk/client-s3')
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'
  // The SDK's own credential chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY …), as the server's.
  const client = new S3Client({
    region: loc.region, endpoint: loc.endpoint, forcePathStyle: loc.forcePathStyle,
    requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED',
  })
  await ensureBucket(client, loc.bucket)
  const description = describeS3({ ...loc, prefix: runPrefix })
  return {
    kind: 's3', description, serveDirect,
    env: { WHARF_STORAGE_URL: url.href, WHARF_STORAGE_SERVE_DIRECT: serveDirect === 'redirect' ? 'true' : 'false' },
    async cleanup() {
      try {
        await removePrefix(client, loc.bucket, runPrefix)
      } catch (err) {
        console.error(`bench: could not remove ${description}: ${(err as Error).message}`)
      } finally {
        client.destroy()
      }
    },
  }
}

function parseServeDirect(raw: string | undefined): ServeDirect {
  const v = (raw ?? '').trim().toLowerCase()
  if (['', 'off', 'false', '0', 'no'].includes(v)) return 'off'
  if (['true', 'on', '1', 'yes', 'redirect'].includes(v)) return 'redirect'
  if (v === 'x-accel') {
    throw new BenchConfigError('BENCH_SERVE_DIRECT=x-accel needs nginx in front of Wharf (it serves the X-Accel-Redirect); the bench talks to Wharf directly, so it measures true (S3) or off only')
  }
  throw new BenchConfigError(`BENCH_SERVE_DIRECT must be true or off, got '${raw}'`)
}

/** The bench may create its bucket (HeadBucket first, so an existing one is only looked at). */
async function ensureBucket(client: S3Client, Bucket: string): Promise<void> {
  const { CreateBucketCommand, HeadBucketCommand } = await import('@aws-sdk/client-s3')
  try {
    await client.send(new HeadBucketCommand({ Bucket }))
    return
  } catch (err) {
    const code = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode
    if (code !== 404) throw new Error(`the bucket '${Bucket}' cannot be used (HTTP ${code ?? 'no answer'}): ${(err as Error).message || (err as Error).name}`, { cause: err })
  }
  try {
    await client.send(new CreateBucketCommand({ Bucket }))
  } catch (err) {
    const name = (err as Error).name
    if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw err
  }
}

async function removePrefix(client: S3Client, Bucket: string, Prefix: string): Promise<void> {
  const { AbortMultipartUploadCommand, DeleteObjectsCommand, ListMultipartUploadsCommand, ListObjectsV2Command } = await import('@aws-sdk/client-s3')
  let ContinuationToken: string | undefined
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket, Prefix, ContinuationToken }))
    const Objects = (page.Contents ?? []).flatMap((o) => (o.Key ? [{ Key: o.Key }] : []))
    if (Objects.length > 0) await client.send(new DeleteObjectsCommand({ Bucket, Delete: { Objects } }))
    ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined
  } while (ContinuationToken)
  const up = await client.send(new ListMultipartUploadsCommand({ Bucket, Prefix }))
  for (const u of up.Uploads ?? []) {
    await client.send(new AbortMultipartUploadCommand({ Bucket, Key: u.Key, UploadId: u.UploadId }))
  }
}
