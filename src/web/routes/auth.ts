// Sign in (password, then the second factor when enabled) and sign out.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { WharfError } from '../../errors.js'
import { parseQuery, q } from '../../http/query.js'
import type { User } from '../../storage/db/schema.js'
import { html } from '../html.js'
import { csrfField, flash, layout, pageCtx, sendPage } from '../layout.js'
import { field, formOf, safeNext } from '../forms.js'
import {
  PENDING_SECONDS, SESSION_COOKIE, SESSION_SECONDS, clearSessionCookie, readCookie, requestSession, sessionStore, setSessionCookie,
} from '../sessions.js'
import { matchTotp, useRecoveryCode } from '../../auth/totp.js'
import { POLICIES, type ThrottleKey } from '../../auth/throttle.js'
import { claimTotpStep } from '../../accounts/totp-replay.js'

// Failure counts are in the database (services.auth.throttle), shared by every instance: per address
// (any account) here, on top of the Authenticator's per account+address and per account; per pending
// sign-in and per account for wrong codes. Used TOTP steps are in the database too.
const byAddress = (ip: string): ThrottleKey => ({ policy: POLICIES.address, subject: ip })
const byPending = (sessionId: string): ThrottleKey => ({ policy: POLICIES.pending, subject: sessionId })
const byCodeAccount = (userId: number): ThrottleKey => ({ policy: POLICIES.totp, subject: String(userId) })

/** Whole seconds for Retry-After, at least 1. */
const seconds = (ms: number) => Math.max(1, Math.ceil(ms / 1000))
const waitText = (s: number) => (s < 120 ? `${s} seconds` : `${Math.ceil(s / 60)} minutes`)

const GENERIC = 'Wrong username or password.'

function loginForm(req: FastifyRequest, reply: FastifyReply, status: number, opts: { error?: string; username?: string; next: string }) {
  const ctx = pageCtx(req, reply)
  return sendPage(reply, status, layout(ctx, 'Sign in', html`<div class="narrow">
<h1>Sign in</h1>
${opts.error ? flash('error', opts.error) : ''}
<form class="card" method="post" action="/-/login">
${csrfField(ctx)}<input type="hidden" name="next" value="${opts.next}">
<div class="field"><label for="username">Username</label>
<input type="text" id="username" name="username" value="${opts.username ?? ''}" autocomplete="username" autocapitalize="none" spellcheck="false" required maxlength="40" ${opts.username ? '' : 'autofocus'}></div>
<div class="field"><label for="password">Password</label>
<input type="password" id="password" name="password" autocomplete="current-password" required maxlength="1024" ${opts.username ? 'autofocus' : ''}></div>
<button type="submit">Sign in</button>
</form></div>`))
}

function codeForm(req: FastifyRequest, reply: FastifyReply, status: number, next: string, error?: string) {
  const ctx = pageCtx(req, reply)
  return sendPage(reply, status, layout(ctx, 'Two-factor authentication', html`<div class="narrow">
<h1>Two-factor authentication</h1>
${error ? flash('error', error) : ''}
<form class="card" method="post" action="/-/login/2fa">
${csrfField(ctx)}<input type="hidden" name="next" value="${next}">
<div class="field"><label for="code">Authentication code</label>
<input type="text" id="code" name="code" inputmode="numeric" autocomplete="one-time-code" required maxlength="20" autofocus aria-describedby="code-hint">
<p class="hint" id="code-hint">The 6-digit code from your authenticator app, or one of your recovery codes.</p></div>
<button type="submit">Verify</button>
</form></div>`))
}

async function startSession(req: FastifyRequest, reply: FastifyReply, user: User, pending: boolean): Promise<void> {
  const s = req.server.services
  const store = sessionStore(s)
  // Whatever session the browser had before is dropped, and a new id is issued (no fixation).
  await store.delete(readCookie(req, SESSION_COOKIE))
  const { id } = await store.create(user.id, pending)
  setSessionCookie(reply, s, id, pending ? PENDING_SECONDS : SESSION_SECONDS)
}

/** ?next=: where to go after signing in (safeNext keeps it on this site). */
const NEXT_QUERY = { next: q.text(2048) }

export async function authRoutes(app: FastifyInstance): Promise<void> {
  app.get('/-/login', async (req, reply) => {
    const next = safeNext(parseQuery(req.query, NEXT_QUERY).next)
    if (requestSession(req)) return reply.redirect(next, 303)
    return loginForm(req, reply, 200, { next })
  })

  app.post('/-/login', async (req, reply) => {
    const form = formOf(req)
    const username = field(form, 'username').slice(0, 40)
    const password = field(form, 'password', true)
    const next = safeNext(field(form, 'next'))
    if (!username || !password) return loginForm(req, reply, 400, { error: 'Enter your username and password.', username, next })
    const { auth } = req.server.services
    const tooMany = (wait: number) => {
      reply.header('Retry-After', String(wait))
      return loginForm(req, reply, 429, { error: `Too many failed sign-in attempts. Wait ${waitText(wait)} and try again.`, username, next })
    }
    const addressWait = await auth.throttle.retryAfterMs([byAddress(req.ip)])
    if (addressWait > 0) return tooMany(seconds(addressWait))
    let user: User
    try {
      user = await auth.checkPassword(username, password, req.ip)
    } catch (err) {
      if (err instanceof WharfError && err.kind === 'rate_limited') return tooMany(err.retryAfterSeconds ?? 60)
      if (err instanceof WharfError && err.kind === 'unauthenticated') {
        await auth.throttle.fail([byAddress(req.ip)])
        return loginForm(req, reply, 401, { error: GENERIC, username, next })
      }
      throw err
    }
    if (user.totp_secret) {
      await startSession(req, reply, user, true)
      return reply.redirect(`/-/login/2fa?next=${encodeURIComponent(next)}`, 303)
    }
    await startSession(req, reply, user, false)
    return reply.redirect(next, 303)
  })

  app.get('/-/login/2fa', async (req, reply) => {
    const next = safeNext(parseQuery(req.query, NEXT_QUERY).next)
    const pending = await sessionStore(req.server.services).find(readCookie(req, SESSION_COOKIE))
    if (!pending?.row.pending_2fa) return reply.redirect('/-/login', 303)
    return codeForm(req, reply, 200, next)
  })

  app.post('/-/login/2fa', async (req, reply) => {
    const s = req.server.services
    const form = formOf(req)
    const next = safeNext(field(form, 'next'))
    const id = readCookie(req, SESSION_COOKIE)
    const store = sessionStore(s)
    const pending = await store.find(id)
    if (!id || !pending?.row.pending_2fa || !pending.user.totp_secret) {
      return loginForm(req, reply, 400, { error: 'Your sign-in took too long. Please sign in again.', next })
    }
    const code = field(form, 'code')
    const user = pending.user
    const { throttle } = s.auth
    // Wrong codes for this account across its pending sign-ins (other instances' too) slow it down.
    const codeWait = await throttle.retryAfterMs([byCodeAccount(user.id), byAddress(req.ip)])
    if (codeWait > 0) {
      reply.header('Retry-After', String(seconds(codeWait)))
      return codeForm(req, reply, 429, next, `Too many wrong codes. Wait ${waitText(seconds(codeWait))} and try again.`)
    }
    let ok = false
    if (/^\d{6}$/.test(code.replace(/\s/g, ''))) {
      const step = matchTotp(user.totp_secret!, code)
      // A code works once, even inside its window, and on whichever instance it is given.
      ok = step >= 0 && await claimTotpStep(s.db, user.id, step)
    } else {
      const rest = useRecoveryCode(user.recovery_codes, code)
      if (rest) {
        await s.users.setRecoveryCodes(user.id, rest, { userId: user.id, name: user.name, kind: 'session', ip: req.ip })
        ok = true
      }
    }
    if (!ok) {
      const [ended] = await throttle.fail([byPending(id), byAddress(req.ip), byCodeAccount(user.id)], (k) => (k.policy === POLICIES.totp ? 2 : 1))
      if (ended!.count >= POLICIES.pending.free) {
        await throttle.reset([byPending(id)])
        await store.delete(id)
        clearSessionCookie(reply, s)
        return loginForm(req, reply, 429, { error: 'Too many wrong codes. Sign in again.', username: user.name, next })
      }
      return codeForm(req, reply, 401, next, 'That code is not valid. Check your authenticator app and try again.')
    }
    await throttle.reset([byPending(id)])
    await startSession(req, reply, user, false)
    return reply.redirect(next, 303)
  })

  app.post('/-/logout', async (req, reply) => {
    const s = req.server.services
    await sessionStore(s).delete(readCookie(req, SESSION_COOKIE))
    clearSessionCookie(reply, s)
    return reply.redirect('/', 303)
  })
}
