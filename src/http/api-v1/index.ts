// /api/v1: the subset of Gitea's API v1 that Wharf serves, with Gitea's JSON shapes and JSON errors.
import type { FastifyPluginAsync } from 'fastify'
import pkg from '../../../package.json' with { type: 'json' }
import { userRoutes } from './users.js'
import { tokenRoutes } from './tokens.js'
import { orgRoutes } from './orgs.js'
import { packageRoutes } from './packages.js'
import { auditRoutes } from './audit.js'
import { hookRoutes } from './hooks.js'
import { lifecycleRoutes } from './lifecycle.js'
import { goProxyAdminRoutes } from './go-proxy-admin.js'
import { oidcRoutes } from './oidc.js'

export const WHARF_VERSION: string = pkg.version

export const apiV1: FastifyPluginAsync = async (app) => {
  app.get('/version', async () => ({ version: WHARF_VERSION }))
  await app.register(userRoutes)
  await app.register(tokenRoutes)
  await app.register(orgRoutes)
  await app.register(packageRoutes)
  await app.register(auditRoutes)
  await app.register(hookRoutes)
  await app.register(lifecycleRoutes)
  await app.register(goProxyAdminRoutes)
  await app.register(oidcRoutes)
}
