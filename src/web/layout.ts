// The page shell, the security headers every page carries, and small shared pieces of markup.
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { User } from '../storage/db/schema.js'
import { html, raw, type Html, type Interpolation } from './html.js'
import { requestSession } from './sessions.js'
import { csrfToken } from './csrf.js'

export const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'"

export function securityHeaders(reply: FastifyReply): void {
  reply.header('Content-Security-Policy', CSP)
  reply.header('X-Frame-Options', 'DENY')
  reply.header('Referrer-Policy', 'same-origin')
  reply.header('X-Content-Type-Options', 'nosniff')
}

export interface PageCtx {
  user: User | null
  /** The token every form posts back as _csrf (./csrf.ts: bound to the session when signed in). */
  csrf: string
  path: string
}

/** Builds the context of a page; sets the CSRF secret cookie if the browser has none yet. */
export function pageCtx(req: FastifyRequest, reply: FastifyReply): PageCtx {
  const session = requestSession(req)
  return { user: session?.user ?? req.user ?? null, csrf: csrfToken(req, reply), path: req.url }
}

export const csrfField = (ctx: PageCtx) => html`<input type="hidden" name="_csrf" value="${ctx.csrf}">`

const LOGO = raw('<svg viewBox="0 0 24 24" aria-hidden="true" fill="none" stroke="currentColor" stroke-width="2"><path d="M3 10h18M5 10v9m4-9v9m6-9v9m4-9v9M2 21h20M12 3l9 5H3z"/></svg>')

export function layout(ctx: PageCtx, title: string, body: Interpolation): Html {
  const u = ctx.user
  const nav = u
    ? html`<a href="/${u.name}">${u.name}</a><a href="/-/settings">Settings</a>${u.is_admin ? html`<a href="/-/admin/users">Admin</a><a href="/-/admin/audit">Audit</a>` : ''}
      <form class="inline" method="post" action="/-/logout">${csrfField(ctx)}<button type="submit">Sign out</button></form>`
    : html`<a href="/-/login${ctx.path.length < 500 && ctx.path !== '/' ? `?next=${encodeURIComponent(ctx.path)}` : ''}">Sign in</a>`
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · Wharf</title>
<link rel="stylesheet" href="/-/assets/style.css">
<link rel="icon" href="/-/assets/favicon.svg" type="image/svg+xml">
<script src="/-/assets/copy.js" defer></script>
</head>
<body>
<a class="skip" href="#content">Skip to content</a>
<header class="site"><div class="bar">
<a class="brand" href="/">${LOGO}Wharf</a>
<nav class="main" aria-label="Main"><a href="/">Explore</a>${nav}</nav>
</div></header>
<main id="content">
${u?.must_change_password && !ctx.path.startsWith('/-/settings') ? flash('warn', html`An administrator asked you to choose a new password. <a href="/-/settings">Change it now</a>.`) : ''}
${body}
</main>
<footer class="site">Wharf package registry</footer>
</body>
</html>
`
}

export function sendPage(reply: FastifyReply, status: number, doc: Html): FastifyReply {
  securityHeaders(reply)
  reply.header('Cache-Control', 'no-store')
  return reply.code(status).type('text/html; charset=utf-8').send(doc.value)
}

export const TITLES: Record<number, string> = {
  400: 'Bad request', 401: 'Sign in required', 403: 'Not allowed', 404: 'Not found', 409: 'Conflict',
  413: 'Too large', 415: 'Unsupported', 422: 'Cannot do that', 429: 'Too many attempts', 500: 'Something went wrong',
}

export function errorPage(req: FastifyRequest, reply: FastifyReply, status: number, message: string): FastifyReply {
  const ctx = pageCtx(req, reply)
  const title = TITLES[status] ?? 'Error'
  const next = req.method === 'GET' && req.url.length < 500 ? `?next=${encodeURIComponent(req.url)}` : ''
  const hint = status === 401 && !ctx.user
    ? html`<p><a class="button" href="/-/login${next}">Sign in</a></p>`
    : html`<p><a href="/">Back to explore</a></p>`
  const text = status === 401 ? 'Sign in to see this page.' : sentence(message)
  // A 401 page must not carry the Basic challenge: browsers would pop up their own login dialog.
  reply.removeHeader('WWW-Authenticate')
  return sendPage(reply, status, layout(ctx, title, html`<div class="error-page">
<p class="code">${status}</p><h1>${title}</h1><p>${text}</p>${hint}</div>`))
}

/** Domain messages are lower-case fragments ("owner 'x' does not exist"); pages show sentences. */
function sentence(m: string): string {
  const t = m.trim().slice(0, 300)
  if (!t) return ''
  const s = t[0]!.toUpperCase() + t.slice(1)
  return /[.!?]$/.test(s) ? s : `${s}.`
}

export function flash(kind: 'error' | 'ok' | 'warn', msg: Interpolation): Html {
  return html`<div class="flash ${kind}" role="${kind === 'error' ? 'alert' : 'status'}">${msg}</div>`
}

export function copyButton(text: string, label = 'Copy', controls?: string): Html {
  return html`<button type="button" class="copy secondary small" data-copy="${text}" ${controls ? html`aria-controls="${controls}"` : ''} hidden>${label}</button>`
}

/** A shell command in a pre with a copy button (install instructions). */
export function commandBlock(lines: string, n: number): Html {
  const id = `cmd-${n}`
  return html`<div class="hash"><pre id="${id}"><code>${lines}</code></pre>${copyButton(lines, 'Copy', id)}</div>`
}

export function formatSize(n: number): string {
  if (n < 1024) return `${n} B`
  const units = ['KiB', 'MiB', 'GiB', 'TiB']
  let v = n / 1024
  let i = 0
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024
    i++
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`
}

export function formatTime(unix: number | string): Html {
  const d = new Date(Number(unix) * 1000)
  const iso = d.toISOString()
  return html`<time datetime="${iso}">${iso.slice(0, 16).replace('T', ' ')} UTC</time>`
}

export function visibilityBadge(v: string): Html {
  return v === 'public' ? html`` : html`<span class="badge ${v}">${v}</span>`
}

/** Pagination links that keep the other query parameters. */
export function pager(basePath: string, params: Record<string, string | undefined>, page: number, pages: number): Html {
  if (pages <= 1) return html``
  const link = (p: number) => {
    const q = new URLSearchParams()
    for (const [k, v] of Object.entries(params)) if (v) q.set(k, v)
    if (p > 1) q.set('page', String(p))
    const s = q.toString()
    return `${basePath}${s ? `?${s}` : ''}`
  }
  return html`<nav class="pages" aria-label="Pages">
${page > 1 ? html`<a href="${link(page - 1)}" rel="prev">← Newer</a>` : ''}
<span>Page ${page} of ${pages}</span>
${page < pages ? html`<a href="${link(page + 1)}" rel="next">Older →</a>` : ''}
</nav>`
}
