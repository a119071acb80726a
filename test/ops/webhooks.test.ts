// Package webhooks: Gitea's API, payload, headers and signature; the outbox delivered at least once
// with back-off; timeouts; private addresses refused without WHARF_WEBHOOK_ALLOWED_HOSTS; two
// instances racing over one database make each attempt once.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import { createHmac } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { startTestApp, testDatabases } from '../helpers/test-app.js'
import { PASSWORD, basic, makeOrg, makeToken, makeUser, tokenAuth } from '../helpers/auth.js'
import { loadConfig } from '../../src/config/config.js'
import { openServices } from '../../src/services.js'

interface Received { headers: http.IncomingHttpHeaders; body: string }

/** A receiver on 127.0.0.1 answering each request with whatever `answer` returns (undefined: hang). */
async function receiver(t: { after(fn: () => Promise<void>): void }, answer: (n: number) => number | undefined = () => 200) {
  const got: Received[] = []
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      got.push({ headers: req.headers, body: Buffer.concat(chunks).toString() })
      const status = answer(got.length)
      if (status !== undefined) res.writeHead(status).end('ok')
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  t.after(async () => {
    server.closeAllConnections()
    await new Promise((r) => server.close(r))
  })
  return { got, url: `http://127.0.0.1:${(server.address() as { port: number }).port}/hook` }
}

const ENV = { WHARF_WEBHOOK_ALLOWED_HOSTS: '127.0.0.1', WHARF_WEBHOOK_BACKOFF: '50ms', WHARF_WEBHOOK_TIMEOUT: '1s' }

for (const db of testDatabases()) {
  test(`[${db}] webhooks: a signed Gitea package payload for an upload and a delete; retries; timeouts; history`, async (t) => {
    const app = await startTestApp(t, { db, env: ENV })
    const s = app.services
    const alice = await makeUser(s, 'alice')
    await makeOrg(s, 'acme', alice)
    const token = await makeToken(s, alice)
    const auth = { authorization: tokenAuth(token), 'content-type': 'application/json' }
    const rx = await receiver(t)
    const made = await fetch(`${app.url}/api/v1/orgs/acme/hooks`, {
      method: 'POST', headers: auth,
      body: JSON.stringify({ type: 'gitea', config: { url: rx.url, content_type: 'json', secret: 's3cret' }, events: ['package'], active: true }),
    })
    assert.equal(made.status, 201)
    const hook = await made.json() as { id: number; config: { url: string }; events: string[]; active: boolean }
    assert.deepEqual([hook.config.url, hook.events, hook.active], [rx.url, ['package'], true])
    assert.ok(!JSON.stringify(hook).includes('s3cret'), 'the secret is never shown')
    assert.equal((await (await fetch(`${app.url}/api/v1/orgs/acme/hooks`, { headers: auth })).json() as unknown[]).length, 1)

    const file = `${app.url}/api/packages/acme/generic/tool/1.0`
    assert.equal((await fetch(`${file}/a.bin`, { method: 'PUT', headers: { authorization: tokenAuth(token) }, body: 'a' })).status, 201)
    assert.equal((await fetch(`${file}/b.bin`, { method: 'PUT', headers: { authorization: tokenAuth(token) }, body: 'b' })).status, 201)
    assert.equal(rx.got.length, 0, 'nothing leaves before the job runs')
    await s.webhooks.deliverDue()
    assert.equal((await fetch(file, { method: 'DELETE', headers: { authorization: tokenAuth(token) } })).status, 204)
    await s.webhooks.deliverDue()
    assert.equal(rx.got.length, 2, 'one event for the new version (not per file), one for its deletion')
    for (const [i, action] of (['created', 'deleted'] as const).entries()) {
      const r = rx.got[i]!
      assert.equal(r.headers['x-gitea-event'], 'package')
      assert.equal(r.headers['x-gitea-event-type'], 'package')
      assert.match(String(r.headers['x-gitea-delivery']), /^[0-9a-f-]{36}$/)
      assert.equal(r.headers['content-type'], 'application/json')
      const sig = createHmac('sha256', 's3cret').update(r.body).digest('hex')
      assert.equal(r.headers['x-gitea-signature'], sig)
      assert.equal(r.headers['x-hub-signature-256'], `sha256=${sig}`)
      const p = JSON.parse(r.body) as { action: string; package: { name: string; version: string; type: string; owner: { login: string }; creator: { login: string }; html_url: string }; sender: { login: string }; organization: { username: string } | null }
      assert.equal(p.action, action)
      assert.deepEqual([p.package.type, p.package.name, p.package.version, p.package.owner.login, p.package.creator.login], ['generic', 'tool', '1.0', 'acme', 'alice'])
      assert.equal(p.sender.login, 'alice')
      assert.equal(p.organization?.username, 'acme')
      assert.match(p.package.html_url, /\/acme\/-\/packages\/generic\/tool\/1\.0$/)
    }

    // A receiver that fails twice, then succeeds, gets the event on the third try (same delivery id).
    let calls = 0
    const flaky = await receiver(t, () => (++calls <= 2 ? 500 : 200))
    const h2 = await (await fetch(`${app.url}/api/v1/orgs/acme/hooks/${hook.id}`, { method: 'PATCH', headers: auth, body: JSON.stringify({ config: { url: flaky.url } }) })).json() as { config: { url: string } }
    assert.equal(h2.config.url, flaky.url)
    assert.equal((await fetch(`${file}/c.bin`, { method: 'PUT', headers: { authorization: tokenAuth(token) }, body: 'c' })).status, 201)
    for (let i = 0; i < 200 && flaky.got.length < 3; i++) {
      await s.webhooks.deliverDue()
      await sleep(25)
    }
    assert.equal(flaky.got.length, 3)
    assert.equal(new Set(flaky.got.map((g) => g.headers['x-gitea-delivery'])).size, 1)
    const history = await (await fetch(`${app.url}/api/v1/orgs/acme/hooks/${hook.id}/deliveries`, { headers: auth })).json() as Array<{ status: string; attempts: number; response_status: number; action: string }>
    assert.deepEqual([history[0]!.status, history[0]!.attempts, history[0]!.response_status, history[0]!.action], ['delivered', 3, 200, 'created'])
    assert.equal(history.length, 3)
    for (let i = 0; i < 5; i++) await s.webhooks.deliverDue()
    assert.equal(flaky.got.length, 3, 'delivered once, never again')

    // A receiver that hangs is cut off by the timeout; the delivery stays pending for a retry.
    const hang = await receiver(t, () => undefined)
    await fetch(`${app.url}/api/v1/orgs/acme/hooks/${hook.id}`, { method: 'PATCH', headers: auth, body: JSON.stringify({ config: { url: hang.url } }) })
    const test1 = await fetch(`${app.url}/api/v1/orgs/acme/hooks/${hook.id}/tests`, { method: 'POST', headers: { authorization: tokenAuth(token) } })
    assert.equal(test1.status, 200)
    const d = await test1.json() as { status: string; error: string; attempts: number; is_test: boolean }
    assert.deepEqual([d.status, d.attempts, d.is_test], ['pending', 1, true])
    assert.match(d.error, /no complete answer within 1000 ms/)
    assert.equal(hang.got.length, 1)

    // Only the organization's owners manage its hooks.
    const bob = await makeUser(s, 'bob')
    const bobAuth = { authorization: tokenAuth(await makeToken(s, bob)) }
    assert.equal((await fetch(`${app.url}/api/v1/orgs/acme/hooks`, { headers: bobAuth })).status, 403)
    assert.equal((await fetch(`${app.url}/api/v1/orgs/acme/hooks/${hook.id}`, { method: 'DELETE', headers: bobAuth })).status, 403)
    assert.equal((await fetch(`${app.url}/api/v1/user/hooks/${hook.id}`, { headers: bobAuth })).status, 404, 'not bob\'s hook')
    assert.equal((await fetch(`${app.url}/api/v1/orgs/acme/hooks/${hook.id}`, { method: 'DELETE', headers: { authorization: tokenAuth(token) } })).status, 204)
    const audit = await s.audit.list({ action: 'webhook' })
    assert.deepEqual(audit.map((e) => e.action).reverse(), ['webhook.create', 'webhook.change', 'webhook.change', 'webhook.delete'])
  })

  test(`[${db}] webhooks: two instances racing over one database deliver each event once per attempt`, async (t) => {
    const app = await startTestApp(t, { db, env: ENV })
    const s = app.services
    const alice = await makeUser(s, 'alice')
    const rx = await receiver(t)
    await s.webhooks.create(alice, { url: rx.url, secret: 'k' })
    for (let i = 0; i < 12; i++) {
      assert.equal((await fetch(`${app.url}/api/packages/alice/generic/p/${i}/f.bin`, { method: 'PUT', headers: { authorization: basic('alice', PASSWORD) }, body: `${i}` })).status, 201)
    }
    const dir = await mkdtemp(path.join(os.tmpdir(), 'wharf-second-'))
    const second = await openServices(loadConfig({ ...ENV, WHARF_DATA: dir, WHARF_DATABASE_URL: s.config.databaseUrl, WHARF_LOG_LEVEL: 'silent' }))
    t.after(async () => {
      await second.close()
      await rm(dir, { recursive: true, force: true })
    })
    for (let round = 0; round < 5; round++) {
      await Promise.all([s.webhooks.deliverDue(5), second.webhooks.deliverDue(5), s.webhooks.deliverDue(5), second.webhooks.deliverDue(5)])
    }
    const ids = rx.got.map((g) => String(g.headers['x-gitea-delivery']))
    assert.equal(ids.length, 12)
    assert.equal(new Set(ids).size, 12, 'no event delivered twice')
    const rows = await s.db.selectFrom('webhook_delivery').select(['status', 'attempts']).execute()
    assert.ok(rows.every((r) => r.status === 'delivered' && r.attempts === 1))
  })
}

test('webhooks: a URL on a private or loopback address is refused without WHARF_WEBHOOK_ALLOWED_HOSTS', async (t) => {
  const app = await startTestApp(t)
  const alice = await makeUser(app.services, 'alice')
  const auth = { authorization: tokenAuth(await makeToken(app.services, alice)), 'content-type': 'application/json' }
  for (const url of ['http://127.0.0.1:9/x', 'http://10.1.2.3/x', 'http://169.254.169.254/latest', 'http://[::1]/x', 'http://localhost/x', 'http://[::ffff:127.0.0.1]/x']) {
    const r = await fetch(`${app.url}/api/v1/user/hooks`, { method: 'POST', headers: auth, body: JSON.stringify({ type: 'gitea', config: { url, content_type: 'json' }, events: ['package'] }) })
    assert.equal(r.status, 422, url)
    assert.match(((await r.json()) as { message: string }).message, /loopback, private or link-local/)
  }
  // Also at delivery time (a name may resolve differently later): the attempt fails, nothing is sent.
  const rx = await receiver(t)
  await app.services.db.insertInto('webhook').values({
    owner_id: alice.id, type: 'gitea', url: rx.url, http_method: 'POST', content_type: 'json', secret: '', authorization_header: '',
    events: '["package"]', active: 1, created_unix: 0, updated_unix: 0,
  }).execute()
  assert.equal((await fetch(`${app.url}/api/packages/alice/generic/p/1/f.bin`, { method: 'PUT', headers: { authorization: basic('alice', PASSWORD) }, body: 'x' })).status, 201)
  await app.services.webhooks.deliverDue()
  assert.equal(rx.got.length, 0)
  const d = await app.services.db.selectFrom('webhook_delivery').selectAll().executeTakeFirstOrThrow()
  assert.match(d.error!, /WHARF_WEBHOOK_ALLOWED_HOSTS/)
  assert.throws(() => loadConfig({ WHARF_WEBHOOK_ALLOWED_HOSTS: '10.0.0.0/99' }), /WHARF_WEBHOOK_ALLOWED_HOSTS:/)
  assert.deepEqual(loadConfig({ WHARF_WEBHOOK_ALLOWED_HOSTS: 'hooks.internal, 10.0.0.0/8' }).webhooks.allowedHosts, ['hooks.internal', '10.0.0.0/8'])
})

test('webhooks page: owners add a hook, send a test delivery and see it in the history; others may not', async (t) => {
  const { WebClient } = await import('../web/web-client.js')
  const app = await startTestApp(t, { env: ENV })
  const alice = await makeUser(app.services, 'alice')
  await makeOrg(app.services, 'acme', alice)
  await makeUser(app.services, 'bob')
  const rx = await receiver(t)
  const web = new WebClient(app.url)
  await web.signIn('alice', PASSWORD)
  const added = await web.post('/acme/-/hooks', { _csrf: await web.csrf('/acme/-/hooks'), url: rx.url, secret: 'k', content_type: 'json' })
  assert.equal(added.res.status, 200)
  assert.match(added.body, /Webhook added/)
  const hook = (await app.services.webhooks.list((await app.services.users.findOwner('acme'))!))[0]!
  const tested = await web.post(`/acme/-/hooks/${hook.id}/test`, { _csrf: await web.csrf('/acme/-/hooks') })
  assert.equal(tested.res.status, 200)
  assert.match(tested.body, /Test delivered: the receiver answered 200/)
  assert.match(tested.body, /package created \(test\)/)
  assert.equal(rx.got.length, 1)
  assert.equal(rx.got[0]!.headers['x-gitea-signature'], createHmac('sha256', 'k').update(rx.got[0]!.body).digest('hex'))
  const bob = new WebClient(app.url)
  await bob.signIn('bob', PASSWORD)
  assert.equal((await bob.get('/acme/-/hooks')).res.status, 403)
  assert.equal((await bob.get('/alice/-/hooks')).res.status, 404)
  assert.equal((await web.post(`/acme/-/hooks/${hook.id}/delete`, { _csrf: await web.csrf('/acme/-/hooks') })).res.status, 303)
  assert.equal((await app.services.webhooks.list((await app.services.users.findOwner('acme'))!)).length, 0)
})
