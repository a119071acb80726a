// buildApp(services): the Fastify instance with every route; it never listens (tests use inject()).
import { randomUUID } from 'node:crypto'
import cookie from '@fastify/cookie'
import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify'
import type { Services } from './services.js'
import { errorHandler, sendError, setPageErrorRenderer } from './http/error-handler.js'
import { authPlugin, type SessionResolver } from './http/auth-plugin.js'
import { expectContinueHooks, routeExpectContinue } from './http/expect-continue.js'
import { lingeringClose } from './http/lingering-close.js'
import { healthRoutes } from './http/health.js'
import { metricsPlugin } from './http/metrics.js'
import { apiV1 } from './http/api-v1/index.js'
import { packageTypes } from './registries/index.js'
import { renderErrorPage, sessionResolver, webPages } from './web/index.js'
import { registerCsrf } from './web/csrf.js'

declare module 'fastify' {
  interface FastifyInstance {
    services: Services
  }
}

/**
 * At info (the default) one access line per answered request, instead of Fastify's two lines with
 * the whole request and reply serialised: logging stays a small part of a 1 KiB download. At debug
 * and trace Fastify's own lines (incoming request, request completed) are kept.
 */
class AccessLog extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    const line = { method: request.method, url: request.url, status: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10 }
    if (error) reply.log.error({ ...line, err: error }, 'request errored')
    else reply.log.info(line, 'request')
  }
}

export interface AppExtensions {
  sessionResolver?: SessionResolver
  /** Where log lines go (default stdout); tests capture them. */
  logStream?: { write(line: string): void }
}

export async function buildApp(services: Services, ext: AppExtensions = {}): Promise<FastifyInstance> {
  const { config } = services
  const verboseRequestLog = config.logLevel === 'debug' || config.logLevel === 'trace'
  const opts: FastifyServerOptions & { https?: { cert: Buffer; key: Buffer } } = {
    logger: {
      level: config.logLevel,
      redact: { paths: ['req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]'], censor: '[redacted]' },
      ...(ext.logStream ? { stream: ext.logStream } : {}),
    },
    genReqId: () => randomUUID(),
    logController: verboseRequestLog ? new LogController() : new AccessLog(),
    routerOptions: { maxParamLength: 4096 },
    bodyLimit: 1024 * 1024,
    return503OnClosing: true,
  }
  if (config.tls) opts.https = { cert: config.tls.cert, key: config.tls.key }
  const app = Fastify(opts) as unknown as FastifyInstance
  routeExpectContinue(app.server)
  lingeringClose(app.server)
  app.decorate('services', services)
  app.setErrorHandler(errorHandler)
  app.setNotFoundHandler((req, reply) => sendError(req, reply, 404, 'not found'))
  // Before any route, so its onRoute hook sees every route declared after it.
  if (services.metrics) await app.register(metricsPlugin, { metrics: services.metrics, token: config.metrics.token })
  // HSTS when Wharf serves HTTPS itself or is reached through an https:// public URL (browsers
  // ignore it over plain HTTP). No includeSubDomains: other hosts under the domain are not ours.
  const hsts = config.tls !== undefined || config.publicUrl?.protocol === 'https:'
  app.addHook('onRequest', (req, reply, done) => {
    reply.header('X-Request-Id', req.id)
    if (hsts) reply.header('Strict-Transport-Security', 'max-age=31536000')
    done()
  })
  expectContinueHooks(app)
  setPageErrorRenderer(renderErrorPage)
  // Cookies are parsed for every route (onRequest, before the session resolver of authPlugin reads them).
  await app.register(cookie)
  // The web UI's CSRF tokens (web/csrf.ts): registered here so any page, the root 404 too, can make
  // one; only the web pages check them, never /api/.
  await registerCsrf(app)
  await app.register(authPlugin, { sessionResolver: ext.sessionResolver ?? sessionResolver })
  await app.register(healthRoutes)
  await app.register(apiV1, { prefix: '/api/v1' })
  for (const type of packageTypes) {
    await app.register(type.routes, { prefix: `/api/packages/:owner/${type.name}` })
  }
  await app.register(webPages)
  return app
}
