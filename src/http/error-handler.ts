// The one place an ErrorKind becomes an HTTP status. Registry routes answer text/plain (as Gitea does),
// /api/v1 answers JSON {"message": …}, web pages render an error page (see web/).
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { WharfError, type ErrorKind } from '../errors.js'
import { QueryError } from './query.js'

export const STATUS = {
  invalid: 400,
  unauthenticated: 401,
  forbidden: 403,
  quota: 403,
  not_found: 404,
  conflict: 409,
  too_large: 413,
  unprocessable: 422,
  rate_limited: 429,
  bad_gateway: 502,
} as const satisfies Record<ErrorKind, number>

export const CHALLENGE = 'Basic realm="Wharf"'

export type ErrorRenderer = (req: FastifyRequest, reply: FastifyReply, status: number, message: string) => unknown

let pageRenderer: ErrorRenderer | undefined
/** The web UI registers how it renders an error page for non-API paths. */
export function setPageErrorRenderer(r: ErrorRenderer): void {
  pageRenderer = r
}

export function statusOf(err: unknown): number {
  if (err instanceof WharfError) return STATUS[err.kind]
  const s = (err as FastifyError | undefined)?.statusCode
  return typeof s === 'number' && s >= 400 && s < 600 ? s : 500
}

export function sendError(req: FastifyRequest, reply: FastifyReply, status: number, message: string) {
  if (status === 401) reply.header('WWW-Authenticate', CHALLENGE)
  if (status === 429 && !reply.hasHeader('Retry-After')) reply.header('Retry-After', '60')
  const url = req.url
  if (url.startsWith('/api/v1/') || url === '/api/v1' || url.startsWith('/api/healthz')) {
    return reply.code(status).type('application/json; charset=utf-8').send({ message })
  }
  if (url.startsWith('/api/') || !pageRenderer) {
    return reply.code(status).type('text/plain; charset=utf-8').send(`${message}\n`)
  }
  return pageRenderer(req, reply, status, message)
}

export function errorHandler(err: FastifyError, req: FastifyRequest, reply: FastifyReply) {
  let status = statusOf(err)
  // Gitea's API v1 answers a body it cannot accept with 422 Unprocessable Entity; a bad query stays 400.
  if (status === 400 && req.url.startsWith('/api/v1/') && !(err instanceof QueryError)) status = 422
  let message = err.message
  if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') status = 413
  if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') status = 415
  if (err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || err.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || (err as { validation?: unknown }).validation) {
    status = 400
  }
  if (status >= 500 && !(err instanceof WharfError)) {
    req.log.error({ err }, 'request failed')
    message = 'internal server error'
  } else if (status >= 500) {
    // A domain 5xx (an upstream's failure) says what went wrong; it names no internals.
    req.log.warn({ err }, 'request failed')
  }
  if (reply.sent || reply.raw.headersSent) {
    reply.raw.destroy()
    return
  }
  if (status === 429 && err instanceof WharfError && err.retryAfterSeconds !== undefined) reply.header('Retry-After', String(err.retryAfterSeconds))
  return sendError(req, reply, status, message)
}
