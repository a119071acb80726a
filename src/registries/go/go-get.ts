// Zero-config `go get` for modules named after this server (docs/go.md "Zero-config go get"):
// GET /{owner}/{path…}?go-get=1 answers the go-import meta tag that sends the go command to the
// owner's GOPROXY endpoint. The prefix is the hosted module at or above the path; for a path
// below no hosted module, the owner-level prefix (HOST/owner), which the go command verifies at
// /{owner}?go-get=1 and then asks the proxy for each candidate module path in turn.
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import { WharfError } from '../../errors.js'
import { CHALLENGE } from '../../http/error-handler.js'
import { html } from '../../web/html.js'
import { hostedModuleFor } from './proxy/serve.js'

const isGoGet = (req: FastifyRequest) => (req.query as Record<string, unknown> | undefined)?.['go-get'] === '1'

/** The go-import page for /{owner}/{rest}; access rules as for the owner's GOPROXY endpoint. */
export async function goGetPage(req: FastifyRequest, reply: FastifyReply, ownerName: string, rest: string): Promise<FastifyReply> {
  const s = req.server.services
  let owner
  try {
    owner = await s.access.require(req.actor, ownerName.slice(0, 100), 'read')
  } catch (err) {
    // Web pages answer 401 with a sign-in page; the go command needs the Basic challenge to send .netrc.
    if (!(err instanceof WharfError && err.kind === 'unauthenticated')) throw err
    return reply.code(401).header('WWW-Authenticate', CHALLENGE).type('text/plain; charset=utf-8').send('authentication required\n')
  }
  const base = s.publicUrl()
  const ownerPrefix = `${base.host}/${owner.name}`
  const module = rest ? `${ownerPrefix}/${rest}` : ownerPrefix
  const hosted = rest ? await hostedModuleFor(s.db, owner.id, module) : undefined
  const prefix = hosted ?? ownerPrefix
  const proxy = new URL(`/api/packages/${encodeURIComponent(owner.name)}/go`, base).toString()
  const content = `${prefix} mod ${proxy}`
  return reply.type('text/html; charset=utf-8').header('cache-control', 'private, no-store').send(String(html`<!DOCTYPE html>
<html><head><meta name="go-import" content="${content}"></head>
<body>go get ${module}</body></html>
`))
}

/** GET /{owner}/{path…}?go-get=1; without go-get=1 the path is left to the 404 handler. */
export const goGetRoutes: FastifyPluginAsync = async (app) => {
  app.get<{ Params: { owner: string; '*': string } }>('/:owner/*', async (req, reply) => {
    if (!isGoGet(req)) return reply.callNotFound()
    return goGetPage(req, reply, req.params.owner, req.params['*'].replace(/\/+$/, ''))
  })
}

export { isGoGet }
