// GET /metrics (Prometheus text) and the hooks that feed it, registered only when WHARF_METRICS is on.
// Each route gets its own onResponse hook, built once when the route is declared, that already knows
// the route's pattern and package type: per request it only reads the status, the time and two
// headers. Requests that match no route count under one fixed label, never their path.
import { createHash, timingSafeEqual } from 'node:crypto'
import fp from 'fastify-plugin'
import type { FastifyReply, FastifyRequest, onResponseHookHandler } from 'fastify'
import type { Metrics } from '../ops/metrics.js'
import { WharfError } from '../errors.js'

export const METRICS_PATH = '/metrics'

const PACKAGE_ROUTE = /^\/api\/packages\/:owner\/([a-z0-9_-]+)(?:\/|$)/

const digest = (s: string) => createHash('sha256').update(s).digest()

/** Constant-time comparison of the Bearer token against WHARF_METRICS_TOKEN. */
export function metricsTokenMatches(header: string | undefined, token: string): boolean {
  if (!header) return false
  const m = /^bearer\s+(\S+)\s*$/i.exec(header)
  return !!m && timingSafeEqual(digest(m[1]!), digest(token))
}

function bytes(v: unknown): number {
  const n = typeof v === 'string' ? Number(v) : typeof v === 'number' ? v : 0
  return Number.isFinite(n) && n > 0 ? n : 0
}

function recorder(metrics: Metrics, route: string | undefined, packageType: string | undefined) {
  return (req: FastifyRequest, reply: FastifyReply) => {
    metrics.request(route, req.method, reply.statusCode, reply.elapsedTime / 1000,
      bytes(req.headers['content-length']), bytes(reply.getHeader('content-length')), packageType)
  }
}

export const metricsPlugin = fp<{ metrics: Metrics; token?: string }>(async (app, { metrics, token }) => {
  app.addHook('onRoute', (route) => {
    const type = PACKAGE_ROUTE.exec(route.url)?.[1]
    const record = recorder(metrics, route.url, type)
    const hook: onResponseHookHandler = (req, reply, done) => {
      record(req, reply)
      done()
    }
    const existing = route.onResponse
    route.onResponse = existing === undefined ? [hook] : Array.isArray(existing) ? [...existing, hook] : [existing, hook]
  })
  const unmatched = recorder(metrics, undefined, undefined)
  app.addHook('onResponse', (req, reply, done) => {
    if (req.is404) unmatched(req, reply)
    done()
  })

  app.get(METRICS_PATH, async (req, reply) => {
    if (token !== undefined && !metricsTokenMatches(req.headers.authorization, token)) {
      throw new WharfError('unauthenticated', 'the metrics need the Bearer token of WHARF_METRICS_TOKEN')
    }
    const { contentType, body } = await metrics.render()
    return reply.header('Cache-Control', 'no-store').type(contentType).send(body)
  })
})
