// The web UI: server-rendered pages, registered by app.ts after the API. Top-level names are owners,
// so the UI's own pages live under /-/:
//   /                                      explore (?q=&type=&page=)
//   /{owner}, /{owner}/-/packages          an owner's packages (same query)
//   /{owner}/-/teams                       an organization's teams and members (members only)
//   /{owner}/-/packages/{type}/{name}      versions ({name} percent-encoded when it has a /)
//   …/{name}/{version}                     files, checksums, install; …/{version}/delete (writers)
//   /-/login, /-/login/2fa, /-/logout      sign in (password, then TOTP or a recovery code) / out
//   /-/settings[/tokens|/security|/orgs]   account, password, tokens, two-factor, organizations
//   /-/admin/users                         site admins: create users, admin flag, visibility
//   /-/admin/quotas                        site admins: per-owner quota overrides and usage
//   /-/admin/go-proxy                      site admins: cached upstream Go modules, purge
//   /-/admin/audit, /{owner}/-/audit       the audit log (site admins; an owner's owners)
//   /{owner}/-/hooks                       package webhooks, deliveries, test delivery (owners)
//   /-/assets/{style.css,copy.js,favicon.svg}
// Every POST carries a CSRF token (./csrf.ts, @fastify/csrf-protection); every response the CSP of ./layout.ts.
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import formbody from '@fastify/formbody'
import { errorHandler } from '../http/error-handler.js'
import { securityHeaders } from './layout.js'
import { checkCsrf, csrfRefusal } from './csrf.js'
import { RedirectToLogin, loginRedirect } from './guard.js'
import { authRoutes } from './routes/auth.js'
import { settingsRoutes } from './routes/settings.js'
import { securityRoutes } from './routes/security.js'
import { adminRoutes } from './routes/admin.js'
import { adminQuotaRoutes } from './routes/admin-quotas.js'
import { adminGoProxyRoutes } from './routes/admin-go-proxy.js'
import { auditRoutes } from './routes/audit.js'
import { hookRoutes } from './routes/hooks.js'
import { packageRoutes } from './routes/packages.js'

export { sessionResolver } from './sessions.js'
export { errorPage as renderErrorPage } from './layout.js'

const FAVICON = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" fill="none" stroke="#13243a" stroke-width="2"><path d="M3 10h18M5 10v9m4-9v9m6-9v9m4-9v9M2 21h20M12 3l9 5H3z"/></svg>'

interface Asset { body: Buffer; type: string; etag: string }

function asset(body: Buffer | string, type: string): Asset {
  const buf = Buffer.isBuffer(body) ? body : Buffer.from(body)
  return { body: buf, type, etag: `"${createHash('sha256').update(buf).digest('hex').slice(0, 32)}"` }
}

const ASSETS: Record<string, Asset> = {
  'style.css': asset(readFileSync(new URL('./assets/style.css', import.meta.url)), 'text/css; charset=utf-8'),
  'copy.js': asset(readFileSync(new URL('./assets/copy.js', import.meta.url)), 'text/javascript; charset=utf-8'),
  'favicon.svg': asset(FAVICON, 'image/svg+xml'),
}

export async function webPages(app: FastifyInstance): Promise<void> {
  await app.register(formbody, { bodyLimit: 64 * 1024 })

  app.addHook('onRequest', async (_req, reply) => {
    securityHeaders(reply)
  })
  app.addHook('preHandler', checkCsrf)
  app.setErrorHandler((err: FastifyError, req: FastifyRequest, reply: FastifyReply) => {
    if (err instanceof RedirectToLogin) return loginRedirect(reply, err.next)
    const refused = csrfRefusal(err)
    if (refused) return errorHandler(refused as unknown as FastifyError, req, reply)
    return errorHandler(err, req, reply)
  })

  app.get<{ Params: { file: string } }>('/-/assets/:file', async (req, reply) => {
    const a = Object.hasOwn(ASSETS, req.params.file) ? ASSETS[req.params.file] : undefined
    if (!a) return reply.callNotFound()
    reply.header('ETag', a.etag).header('Cache-Control', 'public, max-age=3600')
    if (req.headers['if-none-match'] === a.etag) return reply.code(304).send()
    return reply.type(a.type).send(a.body)
  })
  app.get('/favicon.ico', async (_req, reply) => reply.redirect('/-/assets/favicon.svg', 301))
  app.get('/robots.txt', async (_req, reply) => reply.type('text/plain; charset=utf-8').send('User-agent: *\nDisallow: /api/\nDisallow: /-/\n'))

  await app.register(authRoutes)
  await app.register(settingsRoutes)
  await app.register(securityRoutes)
  await app.register(adminRoutes)
  await app.register(adminQuotaRoutes)
  await app.register(adminGoProxyRoutes)
  await app.register(auditRoutes)
  await app.register(hookRoutes)
  await app.register(packageRoutes)
}
