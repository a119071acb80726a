// Package webhooks as Gitea's: per user or organization, `package` events with Gitea's payload and
// headers (X-Gitea-Event, X-Gitea-Delivery, X-Gitea-Signature = HMAC-SHA256 of the body). Events
// go into webhook_delivery (the outbox) in the transaction of the change; the job delivers them at
// least once, with back-off. An attempt is claimed by one conditional UPDATE (attempts = n →
// n + 1, lease set), so instances racing for a row make each attempt exactly once.
import { createHmac, randomUUID } from 'node:crypto'
import type { Kysely, Updateable } from 'kysely'
import type { Database, User, Webhook, WebhookDelivery, WebhookTable } from '../storage/db/schema.js'
import { invalid, notFound } from '../errors.js'
import { recordAudit, type AuditBy } from './audit.js'
import type { PackageEventSink } from './package-changes.js'
import { OutboundGuard, OutboundRefused, outboundRequest } from './outbound.js'
import { orgJson, publicBase, userJson } from '../http/api-v1/shapes.js'
import { USER_TYPE_ORGANIZATION } from '../accounts/users.js'

export const MAX_ATTEMPTS = 6
const MAX_BACKOFF_MS = 3_600_000

export interface WebhookSettings {
  readonly allowedHosts: readonly string[]
  readonly timeoutMs: number
  readonly backoffMs: number
}

export interface HookInput {
  url: string
  contentType?: 'json' | 'form'
  secret?: string
  events?: string[]
  active?: boolean
  authorizationHeader?: string
}

const nowUnix = () => Math.floor(Date.now() / 1000)

export function signBody(secret: string, body: string): string {
  return createHmac('sha256', secret).update(body).digest('hex')
}

export class WebhookService implements PackageEventSink {
  readonly guard: OutboundGuard

  constructor(private readonly db: Kysely<Database>, private readonly settings: WebhookSettings, private readonly publicUrl: () => URL) {
    this.guard = new OutboundGuard(settings.allowedHosts)
  }

  async #checkInput(input: HookInput): Promise<URL> {
    let url: URL
    try {
      url = new URL(input.url)
    } catch {
      throw invalid('config.url must be an http:// or https:// URL')
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw invalid('config.url must be an http:// or https:// URL')
    if (input.contentType && input.contentType !== 'json' && input.contentType !== 'form') throw invalid('config.content_type must be json or form')
    for (const e of input.events ?? ['package']) if (e !== 'package') throw invalid(`unsupported event '${e}' (Wharf sends package events)`)
    try {
      await this.guard.check(url)
    } catch (err) {
      if (err instanceof OutboundRefused) throw invalid(err.message)
      // A name that does not resolve now may later; delivery checks again.
    }
    return url
  }

  async create(owner: User, input: HookInput, by?: AuditBy): Promise<Webhook> {
    const url = await this.#checkInput(input)
    const t = nowUnix()
    return this.db.transaction().execute(async (trx) => {
      const hook = await trx.insertInto('webhook').values({
        owner_id: owner.id, type: 'gitea', url: url.toString(), http_method: 'POST', content_type: input.contentType ?? 'json',
        secret: input.secret ?? '', authorization_header: input.authorizationHeader ?? '', events: JSON.stringify(input.events ?? ['package']),
        active: input.active === false ? 0 : 1, created_unix: t, updated_unix: t,
      }).returningAll().executeTakeFirstOrThrow()
      await recordAudit(trx, by, { action: 'webhook.create', ownerId: owner.id, targetType: 'webhook', target: `${owner.name}/${hook.id}`, detail: { url: redact(hook.url) } })
      return hook
    })
  }

  async update(owner: User, id: number, input: Partial<HookInput>, by?: AuditBy): Promise<Webhook> {
    const hook = await this.get(owner, id)
    const set: Updateable<WebhookTable> = { updated_unix: nowUnix() }
    if (input.url !== undefined) set.url = (await this.#checkInput({ ...input, url: input.url })).toString()
    else if (input.contentType !== undefined || input.events !== undefined) await this.#checkInput({ ...input, url: hook.url })
    if (input.contentType !== undefined) set.content_type = input.contentType
    if (input.secret !== undefined) set.secret = input.secret
    if (input.events !== undefined) set.events = JSON.stringify(input.events)
    if (input.active !== undefined) set.active = input.active ? 1 : 0
    if (input.authorizationHeader !== undefined) set.authorization_header = input.authorizationHeader
    return this.db.transaction().execute(async (trx) => {
      await trx.updateTable('webhook').set(set).where('id', '=', hook.id).execute()
      await recordAudit(trx, by, { action: 'webhook.change', ownerId: owner.id, targetType: 'webhook', target: `${owner.name}/${hook.id}`, detail: { fields: Object.keys(set).filter((k) => k !== 'updated_unix') } })
      return trx.selectFrom('webhook').selectAll().where('id', '=', hook.id).executeTakeFirstOrThrow()
    })
  }

  async delete(owner: User, id: number, by?: AuditBy): Promise<void> {
    const hook = await this.get(owner, id)
    await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('webhook').where('id', '=', hook.id).execute()
      await recordAudit(trx, by, { action: 'webhook.delete', ownerId: owner.id, targetType: 'webhook', target: `${owner.name}/${hook.id}` })
    })
  }

  async list(owner: User): Promise<Webhook[]> {
    return this.db.selectFrom('webhook').selectAll().where('owner_id', '=', owner.id).orderBy('id').execute()
  }

  async get(owner: User, id: number): Promise<Webhook> {
    const hook = Number.isSafeInteger(id)
      ? await this.db.selectFrom('webhook').selectAll().where('id', '=', id).where('owner_id', '=', owner.id).executeTakeFirst()
      : undefined
    if (!hook) throw notFound(`webhook ${id}`)
    return hook
  }

  async deliveries(hook: Webhook, limit = 50): Promise<WebhookDelivery[]> {
    return this.db.selectFrom('webhook_delivery').selectAll().where('hook_id', '=', hook.id).orderBy('id', 'desc').limit(limit).execute()
  }

  /** Gitea's package payload, built inside the change's transaction. */
  async #payload(trx: Kysely<Database>, by: AuditBy | undefined, e: Parameters<PackageEventSink['packageEvent']>[2]) {
    const base = this.publicUrl()
    const user = (id: number | null) => (id === null ? Promise.resolve(undefined) : trx.selectFrom('user').selectAll().where('id', '=', id).executeTakeFirst())
    const [owner, creator, sender] = await Promise.all([user(e.ownerId), user(e.creatorId), user(by?.userId ?? null)])
    const hidden = { showEmail: false }
    const ghost = { id: -1, login: 'Ghost', username: 'Ghost' }
    return {
      action: e.action,
      repository: null,
      package: {
        id: e.versionId,
        owner: owner ? userJson(owner, base, hidden) : ghost,
        creator: creator ? userJson(creator, base, hidden) : ghost,
        type: e.type, name: e.name, version: e.version,
        html_url: `${publicBase(base)}/${encodeURIComponent(owner?.name ?? '')}/-/packages/${encodeURIComponent(e.type)}/${encodeURIComponent(e.name)}/${encodeURIComponent(e.version)}`,
        created_at: new Date(e.createdUnix * 1000).toISOString(),
      },
      organization: owner && owner.type === USER_TYPE_ORGANIZATION ? orgJson(owner, base) : null,
      sender: sender ? userJson(sender, base, hidden) : by ? { id: -1, login: by.name, username: by.name } : ghost,
    }
  }

  async packageEvent(trx: Kysely<Database>, by: AuditBy | undefined, e: Parameters<PackageEventSink['packageEvent']>[2]): Promise<void> {
    const hooks = await trx.selectFrom('webhook').select(['id', 'events']).where('owner_id', '=', e.ownerId).where('active', '=', 1).execute()
    const wanted = hooks.filter((h) => (JSON.parse(h.events) as string[]).includes('package'))
    if (wanted.length === 0) return
    const payload = JSON.stringify(await this.#payload(trx, by, e))
    for (const h of wanted) await this.#enqueue(trx, h.id, e.action, payload, false)
  }

  async #enqueue(db: Kysely<Database>, hookId: number, action: string, payload: string, isTest: boolean): Promise<number> {
    const r = await db.insertInto('webhook_delivery').values({
      hook_id: hookId, uuid: randomUUID(), event: 'package', action, payload, is_test: isTest ? 1 : 0, status: 'pending',
      attempts: 0, next_attempt_ms: Date.now(), lease_until_ms: 0, created_unix: nowUnix(),
    }).returning('id').executeTakeFirstOrThrow()
    return r.id
  }

  /** The "test delivery" button: a sample package event to this hook, attempted at once. */
  async testDelivery(owner: User, hook: Webhook, sender: AuditBy | undefined): Promise<WebhookDelivery> {
    const payload = JSON.stringify(await this.#payload(this.db, sender, {
      action: 'created', ownerId: owner.id, versionId: 0, type: 'generic', name: 'test-package', version: '1.0.0', creatorId: sender?.userId ?? null, createdUnix: nowUnix(),
    }))
    const id = await this.#enqueue(this.db, hook.id, 'created', payload, true)
    await this.#attempt(id, 0)
    return this.db.selectFrom('webhook_delivery').selectAll().where('id', '=', id).executeTakeFirstOrThrow()
  }

  /** One pass of the delivery job: every due delivery gets one attempt (by whichever instance claims it). */
  async deliverDue(limit = 20): Promise<number> {
    const now = Date.now()
    const due = await this.db.selectFrom('webhook_delivery').select(['id', 'attempts'])
      .where('status', '=', 'pending').where('next_attempt_ms', '<=', now).where('lease_until_ms', '<=', now)
      .orderBy('id').limit(limit).execute()
    const done = await Promise.all(due.map((d) => this.#attempt(d.id, d.attempts)))
    return done.filter(Boolean).length
  }

  /** Claims attempt `attempts + 1` of a delivery and makes it; false when another instance has it. */
  async #attempt(id: number, attempts: number): Promise<boolean> {
    const now = Date.now()
    const claimed = await this.db.updateTable('webhook_delivery')
      .set({ attempts: attempts + 1, lease_until_ms: now + this.settings.timeoutMs + 30_000 })
      .where('id', '=', id).where('attempts', '=', attempts).where('status', '=', 'pending').where('lease_until_ms', '<=', now)
      .returningAll().executeTakeFirst()
    if (!claimed) return false
    const hook = await this.db.selectFrom('webhook').selectAll().where('id', '=', claimed.hook_id).executeTakeFirst()
    let status: number | null = null
    let error: string | null = null
    let durationMs: number | null = null
    if (!hook || !hook.active) error = 'the webhook is inactive'
    else {
      try {
        const res = await this.#send(hook, claimed)
        status = res.status
        durationMs = res.durationMs
        if (status < 200 || status >= 300) error = `answered ${status}`
      } catch (err) {
        error = err instanceof Error ? err.message.slice(0, 500) : String(err)
      }
    }
    const ok = error === null
    const final = ok || claimed.attempts >= MAX_ATTEMPTS || !hook?.active
    await this.db.updateTable('webhook_delivery').set({
      status: ok ? 'delivered' : final ? 'failed' : 'pending',
      next_attempt_ms: ok || final ? claimed.next_attempt_ms : Date.now() + Math.min(this.settings.backoffMs * 2 ** (claimed.attempts - 1), MAX_BACKOFF_MS),
      lease_until_ms: 0, response_status: status, error, duration_ms: durationMs, last_attempt_unix: nowUnix(),
    }).where('id', '=', id).where('attempts', '=', claimed.attempts).execute()
    return true
  }

  #send(hook: Webhook, d: WebhookDelivery) {
    const body = hook.content_type === 'form' ? `payload=${encodeURIComponent(d.payload)}` : d.payload
    const sig = signBody(hook.secret, body)
    const headers: Record<string, string> = {
      'content-type': hook.content_type === 'form' ? 'application/x-www-form-urlencoded' : 'application/json',
      'user-agent': 'Wharf (GiteaServer compatible)',
      'x-gitea-delivery': d.uuid, 'x-gitea-event': d.event, 'x-gitea-event-type': d.event, 'x-gitea-signature': sig,
      'x-gogs-delivery': d.uuid, 'x-gogs-event': d.event, 'x-gogs-event-type': d.event, 'x-gogs-signature': sig,
      'x-github-delivery': d.uuid, 'x-github-event': d.event, 'x-github-event-type': d.event, 'x-hub-signature-256': `sha256=${sig}`,
    }
    if (hook.authorization_header) headers.authorization = hook.authorization_header
    return outboundRequest(this.guard, new URL(hook.url), { method: 'POST', headers, body, timeoutMs: this.settings.timeoutMs })
  }
}

function redact(url: string): string {
  try {
    const u = new URL(url)
    u.username = ''
    u.password = ''
    return u.toString()
  } catch {
    return ''
  }
}

export function hookJson(h: Webhook) {
  return {
    id: h.id, type: h.type, branch_filter: '',
    config: { url: h.url, content_type: h.content_type, http_method: h.http_method.toLowerCase() },
    events: JSON.parse(h.events) as string[], authorization_header: '', active: !!h.active,
    updated_at: new Date(h.updated_unix * 1000).toISOString(), created_at: new Date(h.created_unix * 1000).toISOString(),
  }
}

export function deliveryJson(d: WebhookDelivery) {
  return {
    id: d.id, uuid: d.uuid, event: d.event, action: d.action, is_test: !!d.is_test, status: d.status, attempts: d.attempts,
    response_status: d.response_status, error: d.error, duration_ms: d.duration_ms,
    created_at: new Date(d.created_unix * 1000).toISOString(),
    last_attempt_at: d.last_attempt_unix ? new Date(d.last_attempt_unix * 1000).toISOString() : null,
  }
}
