// Two-factor authentication (TOTP): enrol with a QR code or the typed secret, confirm with a code,
// get ten one-time recovery codes, regenerate them, or turn 2FA off (with the password).
import { auditBy } from '../../http/audit-by.js'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { User } from '../../storage/db/schema.js'
import { html } from '../html.js'
import { copyButton, csrfField, flash, pageCtx, sendPage } from '../layout.js'
import { field, formOf } from '../forms.js'
import { requireUser } from '../guard.js'
import { SESSION_COOKIE, readCookie } from '../sessions.js'
import { isSecurityRefusal } from '../../accounts/account-security.js'
import { generateTotpSecret, otpauthUri } from '../../auth/totp.js'
import { settingsPage } from './settings.js'

const TAB = '/-/settings/security'

function remainingCodes(user: User): number {
  try {
    const v: unknown = JSON.parse(user.recovery_codes ?? '[]')
    return Array.isArray(v) ? v.length : 0
  } catch {
    return 0
  }
}

function statusPage(req: FastifyRequest, reply: FastifyReply, user: User, status = 200, msg?: { kind: 'ok' | 'error'; text: string }) {
  const ctx = pageCtx(req, reply)
  const body = user.totp_secret
    ? html`${msg ? flash(msg.kind, msg.text) : ''}
<div class="card"><p><strong>Two-factor authentication is on.</strong> Signing in asks for a code from your authenticator app.
Over the API, use an access token: the password alone is refused.</p>
<p>${remainingCodes(user)} unused recovery codes left.</p></div>
<h2 id="regen-heading">New recovery codes</h2>
<form class="card narrow" method="post" action="${TAB}/recovery" aria-labelledby="regen-heading">${csrfField(ctx)}
<p>The old codes stop working.</p>
<div class="field"><label for="regen-code">Authentication code</label><input type="text" id="regen-code" name="code" inputmode="numeric" autocomplete="one-time-code" required maxlength="10"></div>
<button type="submit" class="secondary">Generate new recovery codes</button></form>
<h2 id="disable-heading">Turn off two-factor authentication</h2>
<form class="card narrow" method="post" action="${TAB}/disable" aria-labelledby="disable-heading">${csrfField(ctx)}
<div class="field"><label for="disable-password">Your password</label><input type="password" id="disable-password" name="password" autocomplete="current-password" required maxlength="1024"></div>
<button type="submit" class="danger">Turn off</button></form>`
    : html`${msg ? flash(msg.kind, msg.text) : ''}
<div class="card"><p>Two-factor authentication is <strong>off</strong>. With it on, signing in needs your password and a
code from an authenticator app (any app that supports TOTP, RFC 6238).</p>
<p><a class="button" href="${TAB}/enroll">Set up two-factor authentication</a></p></div>`
  return sendPage(reply, status, settingsPage(ctx, 'Two-factor authentication', TAB, body))
}

async function enrolPage(req: FastifyRequest, reply: FastifyReply, user: User, secret: string, status = 200, error?: string) {
  const ctx = pageCtx(req, reply)
  const uri = otpauthUri(secret, user.name, `Wharf ${req.server.services.publicUrl().host}`)
  // Loaded on the first 2FA set-up page, not at start-up (idle memory).
  const { default: QRCode } = await import('qrcode')
  const svg = await QRCode.toString(uri, { type: 'svg', margin: 2, errorCorrectionLevel: 'M' })
  const dataUrl = `data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}`
  const grouped = secret.replace(/(.{4})/g, '$1 ').trim()
  return sendPage(reply, status, settingsPage(ctx, 'Set up two-factor authentication', TAB, html`
<h2>Set up two-factor authentication</h2>
${error ? flash('error', error) : ''}
<div class="grid"><div class="card">
<ol>
<li>Scan this QR code with your authenticator app.</li>
<li>Or type this key into it (time-based, 6 digits, 30 seconds):
<div class="hash"><code class="secret" id="totp-secret" data-secret="${secret}">${grouped}</code>${copyButton(secret, 'Copy', 'totp-secret')}</div></li>
<li>Enter the code the app shows.</li>
</ol>
<form method="post" action="${TAB}/confirm">${csrfField(ctx)}
<input type="hidden" name="secret" value="${secret}">
<div class="field narrow"><label for="code">Authentication code</label>
<input type="text" id="code" name="code" inputmode="numeric" autocomplete="one-time-code" required maxlength="10" autofocus></div>
<div class="actions"><button type="submit">Turn on</button><a href="${TAB}">Cancel</a></div>
</form></div>
<div><img class="qr" src="${dataUrl}" width="224" height="224" alt="QR code holding the key shown beside it"></div></div>`))
}

function codesPage(req: FastifyRequest, reply: FastifyReply, codes: string[], headline: string) {
  const ctx = pageCtx(req, reply)
  const all = codes.join('\n')
  return sendPage(reply, 200, settingsPage(ctx, 'Recovery codes', TAB, html`
${flash('ok', headline)}
<div class="card"><h2>Your recovery codes</h2>
<p>Each code signs you in once if you lose your authenticator. Keep them somewhere safe: they are shown only now.</p>
<ol class="codes" id="recovery-codes">${codes.map((c) => html`<li>${c}</li>`)}</ol>
<div class="actions">${copyButton(all, 'Copy all', 'recovery-codes')}<a class="button secondary" href="${TAB}">Done</a></div></div>`))
}

export async function securityRoutes(app: FastifyInstance): Promise<void> {
  const s = app.services

  app.get(TAB, async (req, reply) => statusPage(req, reply, requireUser(req)))

  app.get(`${TAB}/enroll`, async (req, reply) => {
    const user = requireUser(req)
    if (user.totp_secret) return reply.redirect(TAB, 303)
    return enrolPage(req, reply, user, generateTotpSecret())
  })

  app.post(`${TAB}/confirm`, async (req, reply) => {
    const user = requireUser(req)
    if (user.totp_secret) return reply.redirect(TAB, 303)
    const form = formOf(req)
    const secret = field(form, 'secret')
    // The secret comes back from the form: only its owner sees it, and it must be one we could have made.
    if (!/^[A-Z2-7]{32}$/.test(secret)) return enrolPage(req, reply, user, generateTotpSecret(), 400, 'The setup expired. Scan the new code.')
    let codes: string[]
    try {
      codes = await s.security.enableTotp(user, secret, field(form, 'code'), { keepSession: readCookie(req, SESSION_COOKIE), by: auditBy(req) })
    } catch (err) {
      if (!isSecurityRefusal(err)) throw err
      return enrolPage(req, reply, user, secret, 400, 'That code is not valid. Check that your device’s clock is right and try the next code.')
    }
    return codesPage(req, reply, codes, 'Two-factor authentication is on.')
  })

  app.post(`${TAB}/recovery`, async (req, reply) => {
    const user = requireUser(req)
    if (!user.totp_secret) return reply.redirect(TAB, 303)
    let codes: string[]
    try {
      codes = await s.security.renewRecoveryCodes(user, field(formOf(req), 'code'), auditBy(req))
    } catch (err) {
      if (!isSecurityRefusal(err)) throw err
      return statusPage(req, reply, user, 400, { kind: 'error', text: 'That code is not valid.' })
    }
    return codesPage(req, reply, codes, 'New recovery codes made; the old ones no longer work.')
  })

  app.post(`${TAB}/disable`, async (req, reply) => {
    const user = requireUser(req)
    if (!user.totp_secret) return reply.redirect(TAB, 303)
    let updated: User
    try {
      updated = await s.security.disableTotp(user, field(formOf(req), 'password', true), auditBy(req))
    } catch (err) {
      if (!isSecurityRefusal(err)) throw err
      return statusPage(req, reply, user, 400, { kind: 'error', text: 'The password is wrong.' })
    }
    return statusPage(req, reply, updated, 200, { kind: 'ok', text: 'Two-factor authentication is off.' })
  })
}
