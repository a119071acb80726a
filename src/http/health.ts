// GET /api/healthz in Gitea's shape: {"status": "pass"|"fail", "description", "checks": {…}}.
import type { FastifyPluginAsync } from 'fastify'

export const healthRoutes: FastifyPluginAsync = async (app) => {
  app.get('/api/healthz', async (_req, reply) => {
    const time = new Date().toISOString()
    const h = await app.services.health()
    const checks: Record<string, Array<{ status: 'pass' | 'fail'; time: string }>> = {
      'database:ping': [{ status: h.database ? 'pass' : 'fail', time }],
    }
    for (const [name, ok] of Object.entries(h)) {
      if (name !== 'database') checks[`${name}:ping`] = [{ status: ok ? 'pass' : 'fail', time }]
    }
    const pass = Object.values(h).every(Boolean)
    return reply.code(pass ? 200 : 503)
      .header('Cache-Control', 'no-store')
      .type('application/health+json')
      .send({ status: pass ? 'pass' : 'fail', description: 'Wharf', checks })
  })
}
