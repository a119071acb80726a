// The S3 endpoint the tests use: the one-node Ceph RGW of scripts/ceph-rgw.sh (started here when Ceph is
// installed and it is not running yet; .ci/run starts it up front). Each test gets its own key prefix
// in one shared bucket, removed when the test ends. No fake S3 stands in for it.
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import path from 'node:path'
import { ROOT } from './root.js'
import {
  AbortMultipartUploadCommand, CreateBucketCommand, DeleteObjectsCommand, ListMultipartUploadsCommand,
  ListObjectsV2Command, S3Client,
} from '@aws-sdk/client-s3'

export interface S3TestEnv {
  readonly endpoint: string
  readonly region: string
  readonly accessKeyId: string
  readonly secretAccessKey: string
}

export const TEST_BUCKET = 'wharf-test'
const SCRIPT = path.join(ROOT, 'scripts/ceph-rgw.sh')

let cached: { env?: S3TestEnv; reason?: string } | undefined

function hasCeph(): boolean {
  try {
    execFileSync('sh', ['-c', 'command -v ceph-mon && command -v ceph-osd && command -v radosgw && command -v radosgw-admin'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

/** The endpoint and keys, starting the cluster when needed; undefined (with a reason) when Ceph is absent outside CI. */
export function s3TestEnv(): { env?: S3TestEnv; reason?: string } {
  if (cached) return cached
  const file = process.env.WHARF_TEST_S3 ?? '/tmp/wharf-ceph/s3.json'
  if (process.env.WHARF_TEST_S3 === 'off') return (cached = { reason: 'WHARF_TEST_S3=off' })
  if (hasCeph()) {
    // Idempotent and serialised by a lock: reuses the running cluster (about a second), else starts one.
    execFileSync('bash', [SCRIPT, 'start'], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 600_000 })
  } else if (process.env.CI === 'true') {
    throw new Error('Ceph (ceph-mon, ceph-osd, radosgw) must be installed under CI=true: .ci/run installs it')
  }
  if (!existsSync(file)) {
    if (process.env.CI === 'true') throw new Error(`no S3 test endpoint (${file}) under CI=true`)
    return (cached = { reason: 'Ceph RGW is not installed (apt-get install ceph-mon ceph-osd radosgw ceph-common); S3 tests skipped' })
  }
  const j = JSON.parse(readFileSync(file, 'utf8')) as S3TestEnv
  return (cached = { env: { endpoint: j.endpoint, region: j.region, accessKeyId: j.accessKeyId, secretAccessKey: j.secretAccessKey } })
}

/** false when S3 tests can run, else the reason they are skipped (printed by node:test). */
export function s3Skip(): string | false {
  const r = s3TestEnv()
  if (!r.env) console.log(`# skip: ${r.reason}`)
  return r.env ? false : r.reason!
}

export function s3Client(env: S3TestEnv): S3Client {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true' // as the store does
  return new S3Client({
    endpoint: env.endpoint, region: env.region, forcePathStyle: true,
    credentials: { accessKeyId: env.accessKeyId, secretAccessKey: env.secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED',
  })
}

let bucketReady: Promise<void> | undefined

async function ensureBucket(client: S3Client): Promise<void> {
  try {
    await client.send(new CreateBucketCommand({ Bucket: TEST_BUCKET }))
  } catch (err) {
    const name = (err as Error).name
    if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw err
  }
}

export interface S3TestStorage {
  /** WHARF_STORAGE_URL with a prefix of its own. */
  readonly url: string
  readonly prefix: string
  readonly options: { credentials: { accessKeyId: string; secretAccessKey: string } }
  /** The variables a Wharf process needs for it. */
  readonly env: Record<string, string>
  readonly client: S3Client
}

/** A fresh prefix in the test bucket; everything under it is deleted when the test ends. */
export async function s3TestStorage(t: { after(fn: () => Promise<void>): void }): Promise<S3TestStorage> {
  const { env, reason } = s3TestEnv()
  if (!env) throw new Error(reason)
  const client = s3Client(env)
  bucketReady ??= ensureBucket(client)
  await bucketReady
  const prefix = `t-${randomBytes(8).toString('hex')}/`
  const url = `s3://${TEST_BUCKET}/${prefix}?endpoint=${encodeURIComponent(env.endpoint)}&region=${env.region}&forcePathStyle=true`
  t.after(async () => {
    await removePrefix(client, prefix)
    client.destroy()
  })
  return {
    url, prefix, client,
    options: { credentials: { accessKeyId: env.accessKeyId, secretAccessKey: env.secretAccessKey } },
    env: { WHARF_STORAGE_URL: url, AWS_ACCESS_KEY_ID: env.accessKeyId, AWS_SECRET_ACCESS_KEY: env.secretAccessKey },
  }
}

/** Object keys under a prefix (what a test may assert is empty). */
export async function listKeys(client: S3Client, prefix: string): Promise<string[]> {
  const keys: string[] = []
  let ContinuationToken: string | undefined
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: TEST_BUCKET, Prefix: prefix, ContinuationToken }))
    for (const o of page.Contents ?? []) if (o.Key) keys.push(o.Key)
    ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined
  } while (ContinuationToken)
  return keys
}

async function removePrefix(client: S3Client, prefix: string): Promise<void> {
  for (let round = 0; round < 20; round++) {
    const keys = await listKeys(client, prefix)
    if (keys.length === 0) break
    for (let i = 0; i < keys.length; i += 1000) {
      await client.send(new DeleteObjectsCommand({ Bucket: TEST_BUCKET, Delete: { Objects: keys.slice(i, i + 1000).map((Key) => ({ Key })) } }))
    }
  }
  const up = await client.send(new ListMultipartUploadsCommand({ Bucket: TEST_BUCKET, Prefix: prefix }))
  for (const u of up.Uploads ?? []) {
    await client.send(new AbortMultipartUploadCommand({ Bucket: TEST_BUCKET, Key: u.Key, UploadId: u.UploadId }))
  }
}
