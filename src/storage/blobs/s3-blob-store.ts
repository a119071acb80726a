// BlobStore on an S3 bucket (AWS, Ceph RGW, MinIO …): <prefix>ab/cd/<sha256>, as the file store lays
// out its folder. A local file (putFile: every upload, spooled first) goes up streamed from the file:
// one PutObject up to PART_SIZE, else a multipart upload whose parts are read from their range of the
// file as they are sent, QUEUE_SIZE at a time, so no part is ever held in memory (issue 10: a 1 GiB
// upload through lib-storage's 8 MiB buffers grew the server's RSS by ~70 MiB). Other bodies (put)
// go through lib-storage: PART_SIZE parts, at most QUEUE_SIZE in memory.
// An object appears only when its upload completes; a body that fails or has the wrong size aborts the
// multipart upload, so nothing partial is ever visible under a key.
import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import { Transform, type Readable } from 'node:stream'
import {
  AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CopyObjectCommand, CreateMultipartUploadCommand,
  DeleteObjectCommand, GetObjectCommand, HeadBucketCommand, HeadObjectCommand, ListMultipartUploadsCommand,
  ListObjectsV2Command, PutObjectCommand, S3Client, S3ServiceException, UploadPartCommand,
  type S3ClientConfig,
} from '@aws-sdk/client-s3'
import { Upload } from '@aws-sdk/lib-storage'
import { getSignedUrl } from '@aws-sdk/s3-request-presigner'
import { BlobNotFoundError, isBlobKey, type BlobKey, type BlobStat, type BlobStore, type ByteRange, type PresignOptions } from './blob-store.js'
import { describeS3, type S3Location } from './s3-url.js'

export interface S3Credentials {
  readonly accessKeyId: string
  readonly secretAccessKey: string
  readonly sessionToken?: string
}

const PART_SIZE = 8 * 1024 * 1024
const QUEUE_SIZE = 3
/** S3's limit on parts per upload: bigger files get bigger parts (streamed, so it costs no memory). */
const MAX_PARTS = 10_000
/** Attempts per streamed request (each with a fresh stream of its range; the SDK cannot replay one). */
const FILE_ATTEMPTS = 3
/** CopyObject's limit; larger blobs are not touched (see #touch). */
const MAX_COPY = 5 * 1024 ** 3

export class S3BlobStore implements BlobStore {
  readonly remote = true
  readonly #s3: S3Client
  /** For requests whose body is a file stream: no SDK retries (a consumed stream cannot be sent again). */
  readonly #streaming: S3Client
  readonly #loc: S3Location

  constructor(loc: S3Location, credentials?: S3Credentials) {
    this.#loc = loc
    const config: S3ClientConfig = {
      region: loc.region,
      endpoint: loc.endpoint,
      forcePathStyle: loc.forcePathStyle,
      // Since SDK 3.729 streamed PutObject bodies are sent aws-chunked with a checksum trailer, which
      // RGW (and other S3 implementations) refuse; Wharf checks its own SHA-256 anyway.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      maxAttempts: 3,
    }
    // A copy: the SDK tags the credentials object it is given (a frozen Config's would throw).
    if (credentials) config.credentials = { ...credentials }
    // Wharf supports Node 20 (package.json engines) with the SDK version in the lockfile; the SDK's
    // warning about its future releases would only be noise in every start-up.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'
    this.#s3 = new S3Client(config)
    this.#streaming = new S3Client({ ...config, maxAttempts: 1 })
  }

  get location(): S3Location {
    return this.#loc
  }

  /** Checks that the bucket exists and the credentials are accepted; a message a user can act on otherwise. */
  async init(): Promise<void> {
    try {
      await this.#s3.send(new HeadBucketCommand({ Bucket: this.#loc.bucket }))
    } catch (err) {
      throw new Error(explainBucketError(err, this.#loc), { cause: err })
    }
  }

  #objectKey(key: BlobKey): string {
    if (!isBlobKey(key)) throw new TypeError(`not a blob key: ${String(key)}`)
    return `${this.#loc.prefix}${key.slice(0, 2)}/${key.slice(2, 4)}/${key}`
  }

  async put(key: BlobKey, body: Readable, size?: number): Promise<boolean> {
    const Key = this.#objectKey(key)
    if (await this.#touch(Key)) {
      body.destroy()
      return true
    }
    let written = 0
    const counted = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        written += chunk.length
        cb(null, chunk)
      },
      // An error here, before the end, makes lib-storage abort instead of completing the upload.
      flush(cb) {
        cb(size !== undefined && written !== size ? new Error(`blob ${key}: expected ${size} bytes, got ${written}`) : null)
      },
    })
    body.once('error', (err) => counted.destroy(err))
    body.pipe(counted)
    const upload = new Upload({
      client: this.#s3,
      params: { Bucket: this.#loc.bucket, Key, Body: counted, ContentType: 'application/octet-stream' },
      partSize: PART_SIZE,
      queueSize: QUEUE_SIZE,
      leavePartsOnError: false,
    })
    try {
      await upload.done()
    } catch (err) {
      body.destroy()
      counted.destroy()
      throw err
    }
    return false
  }

  /**
   * A local file, streamed from disk (the body of a PutObject, or each part of a multipart upload
   * from its own range of the file): memory does not grow with the file, and no part is hashed for
   * the signature (a stream body is sent as UNSIGNED-PAYLOAD). The file is left where it is.
   */
  /** Small uploads: one PutObject of the bytes in memory. */
  async putBytes(key: BlobKey, bytes: Buffer): Promise<boolean> {
    const Key = this.#objectKey(key)
    if (await this.#touch(Key)) return true
    await this.#s3.send(new PutObjectCommand({ Bucket: this.#loc.bucket, Key, ContentType: 'application/octet-stream', ContentLength: bytes.length, Body: bytes }))
    return false
  }

  async putFile(key: BlobKey, file: string, size: number): Promise<boolean> {
    const Key = this.#objectKey(key)
    if (await this.#touch(Key)) return true
    const actual = (await stat(file)).size
    if (actual !== size) throw new Error(`blob ${key}: expected ${size} bytes, got ${actual}`)
    const Bucket = this.#loc.bucket
    const ContentType = 'application/octet-stream'
    if (size === 0) {
      await this.#s3.send(new PutObjectCommand({ Bucket, Key, ContentType, Body: new Uint8Array(0) }))
      return false
    }
    if (size <= PART_SIZE) {
      await this.#retried(() => withFileStream(file, 0, size, (Body) =>
        this.#streaming.send(new PutObjectCommand({ Bucket, Key, ContentType, ContentLength: size, Body }))))
      return false
    }
    const partSize = Math.max(PART_SIZE, Math.ceil(size / MAX_PARTS))
    const count = Math.ceil(size / partSize)
    const { UploadId } = await this.#s3.send(new CreateMultipartUploadCommand({ Bucket, Key, ContentType }))
    if (!UploadId) throw new Error(`blob ${key}: CreateMultipartUpload returned no UploadId`)
    const etags: string[] = []
    let next = 0
    let failed = false
    const sender = async () => {
      while (!failed && next < count) {
        const n = next++
        const start = n * partSize
        const length = Math.min(partSize, size - start)
        try {
          const r = await this.#retried(() => withFileStream(file, start, length, (Body) =>
            this.#streaming.send(new UploadPartCommand({ Bucket, Key, UploadId, PartNumber: n + 1, ContentLength: length, Body }))))
          if (!r.ETag) throw new Error(`blob ${key}: part ${n + 1} got no ETag`)
          etags[n] = r.ETag
        } catch (err) {
          failed = true
          throw err
        }
      }
    }
    try {
      // allSettled: no part may still be on its way when the upload is aborted.
      const results = await Promise.allSettled(Array.from({ length: Math.min(QUEUE_SIZE, count) }, sender))
      const rejected = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')
      if (rejected) throw rejected.reason
      await this.#s3.send(new CompleteMultipartUploadCommand({
        Bucket, Key, UploadId, MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) },
      }))
    } catch (err) {
      await this.#s3.send(new AbortMultipartUploadCommand({ Bucket, Key, UploadId })).catch(() => {})
      throw err
    }
    return false
  }

  /** A streamed request, tried again (each time with a fresh stream) when a retry may succeed. */
  async #retried<T>(send: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await send()
      } catch (err) {
        const code = status(err)
        const retryable = code === undefined || code >= 500 || code === 408 || code === 429
        if (!retryable || attempt >= FILE_ATTEMPTS) throw err
        await new Promise((resolve) => setTimeout(resolve, 200 * 2 ** (attempt - 1)))
      }
    }
  }

  /**
   * When the object exists, refreshes its LastModified (a copy onto itself) and says so: the GC spares
   * blobs written within its grace period, and an upload that reuses a blob must count as a write.
   */
  async #touch(Key: string): Promise<boolean> {
    try {
      await this.#s3.send(new CopyObjectCommand({
        Bucket: this.#loc.bucket, Key, CopySource: `${this.#loc.bucket}/${encodeURIComponent(Key).replaceAll('%2F', '/')}`,
        MetadataDirective: 'REPLACE', ContentType: 'application/octet-stream',
        Metadata: { touched: String(Date.now()) },
      }))
      return true
    } catch (err) {
      if (isNotFound(err)) return false
      // Past CopyObject's 5 GiB limit the blob stays as it is: it exists, which is what matters.
      const s = await this.#head(Key)
      if (s && s.size > MAX_COPY) return true
      throw err
    }
  }

  async open(key: BlobKey, range?: ByteRange): Promise<Readable> {
    try {
      const r = await this.#s3.send(new GetObjectCommand({
        Bucket: this.#loc.bucket, Key: this.#objectKey(key),
        Range: range ? `bytes=${range.start}-${range.end}` : undefined,
      }))
      return r.Body as Readable
    } catch (err) {
      if (isNotFound(err)) throw new BlobNotFoundError(key)
      throw err
    }
  }

  async stat(key: BlobKey): Promise<BlobStat | undefined> {
    return this.#head(this.#objectKey(key))
  }

  async #head(Key: string): Promise<BlobStat | undefined> {
    try {
      const r = await this.#s3.send(new HeadObjectCommand({ Bucket: this.#loc.bucket, Key }))
      return { size: r.ContentLength ?? 0, modifiedAt: r.LastModified ?? new Date(0) }
    } catch (err) {
      if (isNotFound(err)) return undefined
      throw err
    }
  }

  async delete(key: BlobKey): Promise<void> {
    await this.#s3.send(new DeleteObjectCommand({ Bucket: this.#loc.bucket, Key: this.#objectKey(key) }))
  }

  async *keys(): AsyncIterable<BlobKey> {
    for await (const e of this.entries()) yield e.key
  }

  /** Every blob with its size and last write time, in one listing (no request per blob). */
  async *entries(): AsyncIterable<{ key: BlobKey; size: number; modifiedAt: Date }> {
    const prefix = this.#loc.prefix
    let ContinuationToken: string | undefined
    do {
      const page = await this.#s3.send(new ListObjectsV2Command({ Bucket: this.#loc.bucket, Prefix: prefix, ContinuationToken }))
      for (const o of page.Contents ?? []) {
        const rest = o.Key?.slice(prefix.length) ?? ''
        const m = /^([0-9a-f]{2})\/([0-9a-f]{2})\/([0-9a-f]{64})$/.exec(rest)
        if (m && m[3]!.startsWith(m[1]! + m[2]!)) yield { key: m[3] as BlobKey, size: o.Size ?? 0, modifiedAt: o.LastModified ?? new Date(0) }
      }
      ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined
    } while (ContinuationToken)
  }

  /** Aborts multipart uploads under the prefix started before the cutoff (left by a crashed process). */
  async sweepLeftovers(cutoffMs: number, signal?: AbortSignal): Promise<number> {
    let aborted = 0
    let KeyMarker: string | undefined
    let UploadIdMarker: string | undefined
    do {
      const page = await this.#s3.send(new ListMultipartUploadsCommand({ Bucket: this.#loc.bucket, Prefix: this.#loc.prefix, KeyMarker, UploadIdMarker }))
      for (const u of page.Uploads ?? []) {
        if (signal?.aborted) return aborted
        if (!u.Key || !u.UploadId || (u.Initiated?.getTime() ?? 0) > cutoffMs) continue
        await this.#s3.send(new AbortMultipartUploadCommand({ Bucket: this.#loc.bucket, Key: u.Key, UploadId: u.UploadId }))
        aborted++
      }
      ;({ NextKeyMarker: KeyMarker, NextUploadIdMarker: UploadIdMarker } = page.IsTruncated ? page : { NextKeyMarker: undefined, NextUploadIdMarker: undefined })
    } while (KeyMarker)
    return aborted
  }

  /** Multipart uploads in progress under the prefix (tests check that failed uploads leave none). */
  async pendingUploads(): Promise<number> {
    const page = await this.#s3.send(new ListMultipartUploadsCommand({ Bucket: this.#loc.bucket, Prefix: this.#loc.prefix }))
    return page.Uploads?.length ?? 0
  }

  async presign(key: BlobKey, opts: PresignOptions): Promise<string> {
    return getSignedUrl(this.#s3, new GetObjectCommand({
      Bucket: this.#loc.bucket, Key: this.#objectKey(key),
      ResponseContentDisposition: opts.contentDisposition,
      ResponseContentType: opts.contentType,
    }), { expiresIn: opts.expiresInSeconds })
  }

  async ping(): Promise<void> {
    await this.#s3.send(new HeadBucketCommand({ Bucket: this.#loc.bucket }))
  }

  async close(): Promise<void> {
    this.#s3.destroy()
    this.#streaming.destroy()
  }
}

/** `length` bytes of `file` from `start`, as a stream for `send`; closed whatever happens. */
async function withFileStream<T>(file: string, start: number, length: number, send: (body: Readable) => Promise<T>): Promise<T> {
  const body = createReadStream(file, { start, end: start + length - 1 })
  try {
    return await send(body)
  } finally {
    body.destroy()
  }
}

function status(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode
}

function isNotFound(err: unknown): boolean {
  if (err instanceof S3ServiceException && (err.name === 'NoSuchKey' || err.name === 'NotFound')) return true
  return status(err) === 404
}

function explainBucketError(err: unknown, loc: S3Location): string {
  const where = describeS3(loc)
  const code = status(err)
  if (code === 404) return `the bucket '${loc.bucket}' does not exist (${where}); create it first`
  if (code === 403 || code === 401) {
    return `access to the bucket '${loc.bucket}' was refused (${where}): check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY`
  }
  if (code === 301 || code === 400) return `the S3 endpoint refused the request for '${loc.bucket}' (${where}, HTTP ${code}): check region, endpoint and forcePathStyle`
  if (code !== undefined) return `the S3 endpoint answered HTTP ${code} for the bucket '${loc.bucket}' (${where})`
  const msg = err instanceof Error ? err.message : String(err)
  if (/credential/i.test(msg)) return `no S3 credentials for ${where}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (${msg})`
  return `cannot reach the S3 storage ${where}: ${msg || (err as { code?: string })?.code || 'no answer'}`
}
