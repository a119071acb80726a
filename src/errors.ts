// Domain errors carry a kind, never an HTTP status: src/http/error-handler.ts owns that mapping.
export type ErrorKind =
  | 'invalid'
  | 'unauthenticated'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'too_large'
  | 'quota'
  | 'unprocessable'
  | 'rate_limited'
  | 'bad_gateway'

export class WharfError extends Error {
  /** For `rate_limited`: the Retry-After to answer, in seconds (default 60). */
  readonly retryAfterSeconds: number | undefined
  constructor(readonly kind: ErrorKind, message: string, options?: ErrorOptions & { retryAfterSeconds?: number }) {
    super(message, options)
    this.name = 'WharfError'
    this.retryAfterSeconds = options?.retryAfterSeconds
  }
}

export const invalid = (msg: string) => new WharfError('invalid', msg)
export const unauthenticated = (msg = 'authentication required') => new WharfError('unauthenticated', msg)
export const forbidden = (msg: string) => new WharfError('forbidden', msg)
/** The message of notFound(what), for paths that answer 404 without throwing. */
export const notFoundMessage = (what: string) => `${what} does not exist`
export const notFound = (what: string) => new WharfError('not_found', notFoundMessage(what))
export const conflict = (msg: string) => new WharfError('conflict', msg)
export const tooLarge = (msg: string) => new WharfError('too_large', msg)
export const unprocessable = (msg: string) => new WharfError('unprocessable', msg)
export const rateLimited = (msg: string) => new WharfError('rate_limited', msg)
/** An upstream (Go proxy, checksum database) failed or answered something unusable: 502, message kept. */
export const badGateway = (msg: string) => new WharfError('bad_gateway', msg)
export const quotaExceeded = (msg: string) => new WharfError('quota', msg)
