// Node answers `Expect: 100-continue` with "100 Continue" before any handler runs, unless the server
// listens for 'checkContinue'. We do, so the access checks can refuse an upload before its body is
// sent; routes that stream a body call sendContinue() once their checks passed, and every other
// route gets its 100 Continue right before body parsing.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Server } from 'node:http'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The handler calls sendContinue() itself, after its checks (streamed uploads). */
    deferContinue?: boolean
  }
}

export function routeExpectContinue(server: Server): void {
  server.on('checkContinue', (req, res) => server.emit('request', req, res))
}

export function sendContinue(req: FastifyRequest, reply: FastifyReply): void {
  const expect = req.headers.expect
  const raw = req.raw as typeof req.raw & { wharfContinued?: boolean }
  if (typeof expect === 'string' && expect.toLowerCase() === '100-continue' && !raw.wharfContinued && !reply.raw.headersSent) {
    raw.wharfContinued = true
    reply.raw.writeContinue()
  }
}

export function expectContinueHooks(app: FastifyInstance): void {
  app.addHook('preParsing', (req, reply, payload, done) => {
    if (req.headers.expect !== undefined && !req.routeOptions.config?.deferContinue) sendContinue(req, reply)
    done(null, payload)
  })
}
