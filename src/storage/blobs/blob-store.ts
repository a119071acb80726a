// Where package bytes live: content-addressed by SHA-256, written once, never changed in place.
// Backends implement this small interface and run the shared contract suite (blob-store.contract.ts).
import type { Readable } from 'node:stream'
import type { Kysely } from 'kysely'
import type { Database } from '../db/schema.js'

/** A lower-case SHA-256 hex digest naming a blob. */
export type BlobKey = string & { readonly __brand: 'BlobKey' }

export function blobKey(sha256: string): BlobKey {
  if (!/^[0-9a-f]{64}$/.test(sha256)) throw new TypeError(`not a sha256 digest: ${sha256}`)
  return sha256 as BlobKey
}

export function isBlobKey(s: string): s is BlobKey {
  return /^[0-9a-f]{64}$/.test(s)
}

export class BlobNotFoundError extends Error {
  constructor(readonly key: string) {
    super(`blob ${key} does not exist`)
    this.name = 'BlobNotFoundError'
  }
}

/** Inclusive byte range, as in HTTP Range. */
export interface ByteRange {
  readonly start: number
  readonly end: number
}

export interface BlobStat {
  readonly size: number
  readonly modifiedAt: Date
}

/** What a presigned download URL carries for the client (S3 response-content-* overrides). */
export interface PresignOptions {
  readonly expiresInSeconds: number
  readonly contentDisposition: string
  readonly contentType: string
}

export interface BlobStore {
  /** True when the bytes live across a network (S3): an upload is then limited by sending them on. */
  readonly remote?: boolean
  /**
   * Stores `body` under `key`; durable once it resolves. Putting a key that exists is harmless
   * (the bytes are the same by construction). The caller has verified that `key` is the SHA-256
   * of the bytes; `size`, when given, is checked. Resolves true when the blob existed already and
   * was only touched (its write time refreshed), false when the bytes were written now: a caller
   * that then commits a row for it must check again afterwards (see storage/blobs/claims.ts).
   */
  put(key: BlobKey, body: Readable, size?: number): Promise<boolean>
  /**
   * Optional fast path for a local file whose SHA-256 the caller computed: the store may move it
   * in (the caller then finds it gone) or copy it. Same guarantees and answer as put(); when it
   * answers true (the blob existed) the file is left where it was.
   */
  putFile?(key: BlobKey, file: string, size: number): Promise<boolean>
  /** Optional fast path for bytes in memory (small uploads); same guarantees and answer as put(). */
  putBytes?(key: BlobKey, bytes: Buffer): Promise<boolean>
  /** A stream of the blob (or of an inclusive range of it); rejects with BlobNotFoundError. */
  open(key: BlobKey, range?: ByteRange): Promise<Readable>
  /** Size and last write time, or undefined when the blob does not exist. */
  stat(key: BlobKey): Promise<BlobStat | undefined>
  /** Removes the blob; deleting a missing blob succeeds. */
  delete(key: BlobKey): Promise<void>
  /** Every stored key, for garbage collection. */
  keys(): AsyncIterable<BlobKey>
  /**
   * Every stored key with its size and last write time, when the store can list that in one go
   * (S3's listing does); the GC and migrate-storage then need no request per blob.
   */
  entries?(): AsyncIterable<{ key: BlobKey; size: number; modifiedAt: Date }>
  /** Removes what crashed writes left behind (temp files, multipart uploads) older than the cutoff. */
  sweepLeftovers?(cutoffMs: number, signal?: AbortSignal): Promise<number>
  /** A short-lived URL the client can fetch the blob from directly (WHARF_STORAGE_SERVE_DIRECT=true). */
  presign?(key: BlobKey, opts: PresignOptions): Promise<string>
  /** The blob's path relative to the store's root folder (WHARF_STORAGE_SERVE_DIRECT=x-accel). */
  relativePath?(key: BlobKey): string
  /**
   * True when the bytes of this blob (of `size` bytes) are kept where neither presign() nor
   * relativePath() can point (inline-blob-store.ts): it must be sent through Wharf.
   */
  isInline?(key: BlobKey, size: number): Promise<boolean>
  /** The same store with its database statements (if any) inside `trx`: for calls within a transaction. */
  within?(trx: Kysely<Database>): BlobStore
  /**
   * True when putting a blob of `size` bytes writes database rows only (inline-blob-store.ts): a
   * caller may then put it inside its own transaction, through within(trx), and commit the bytes
   * with the rows that refer to them.
   */
  inlines?(size: number): boolean
  /** A cheap round trip for /api/healthz; throws when the storage does not answer. */
  ping(): Promise<void>
  close(): Promise<void>
}
