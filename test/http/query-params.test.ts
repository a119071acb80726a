// Issue 8, defect 2: query strings go through schemas (src/http/query.ts). A repeated parameter, a
// value of the wrong shape or a non-string is a 400 with a message naming the parameter, on every
// surface in its own format; an empty value is the same as none; unknown parameters are ignored.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { startTestApp, testDatabases } from '../helpers/test-app.js'
import { PASSWORD, basic, makeUser } from '../helpers/auth.js'
import { moduleZip } from './go-helpers.js'

for (const db of testDatabases()) {
  test(`[${db}] query parameters: repeated, empty and junk values on API v1, web, GOPROXY and generic`, async (t) => {
    const { url, services } = await startTestApp(t, { db })
    await makeUser(services, 'root', { admin: true })
    await makeUser(services, 'alice')
    const auth = { authorization: basic('alice', PASSWORD) }
    const put = await fetch(`${url}/api/packages/alice/generic/tool/1.0/a.bin`, { method: 'PUT', headers: auth, body: 'a' })
    assert.equal(put.status, 201)

    const api = async (path: string, init: RequestInit = {}) => {
      const r = await fetch(`${url}/api/v1/${path}`, { ...init, headers: { ...auth, ...init.headers } })
      return { status: r.status, type: r.headers.get('content-type') ?? '', body: await r.json() as unknown }
    }
    // The reported 500 (raw.trim is not a function).
    const repeated = await api('packages/alice?page=1&page=2')
    assert.equal(repeated.status, 400, JSON.stringify(repeated.body))
    assert.match(repeated.type, /application\/json/)
    assert.deepEqual(repeated.body, { message: 'query parameter page is given more than once' })
    for (const [query, param] of [
      ['limit=1&limit=2', 'limit'], ['type=generic&type=go', 'type'], ['q=a&q=b', 'q'],
      ['page=abc', 'page'], ['page=0', 'page'], ['page=-1', 'page'], ['page=1.5', 'page'], ['page=99999999999999999999', 'page'],
      ['limit=0', 'limit'], ['limit=x', 'limit'], ['type=%3Cscript%3E', 'type'], [`q=${'x'.repeat(300)}`, 'q'],
    ] as const) {
      const r = await api(`packages/alice?${query}`)
      assert.equal(r.status, 400, query)
      assert.match((r.body as { message: string }).message, new RegExp(`^query parameter ${param}\\b`), query)
    }
    // Empty values are absent ones; unknown parameters are ignored; a limit past 50 is cut to 50 (Gitea).
    for (const query of ['page=&limit=&type=&q=', 'unknown=1&unknown=2', 'limit=1000', 'page=1&limit=5&type=generic&q=TOO']) {
      const r = await api(`packages/alice?${query}`)
      assert.equal(r.status, 200, query)
      assert.equal((r.body as unknown[]).length, 1, query)
    }
    // An anonymous request with a bad query still gets the 401 first (credentials come before the request).
    assert.equal((await fetch(`${url}/api/v1/packages/alice?page=1&page=2`)).status, 401)

    const rootAuth = { authorization: basic('root', PASSWORD) }
    const purge = await api('admin/users/alice?purge=maybe', { method: 'DELETE', headers: rootAuth })
    assert.equal(purge.status, 400)
    assert.match((purge.body as { message: string }).message, /^query parameter purge: expected true or false/)
    assert.equal((await api('admin/users/alice?purge=1&purge=0', { method: 'DELETE', headers: rootAuth })).status, 400)

    // Web pages answer the same refusals as a 400 page.
    for (const path of ['/?page=1&page=2', '/alice?type=go&type=generic', '/alice/-/packages?page=x', '/-/login?next=a&next=b']) {
      const r = await fetch(`${url}${path}`)
      assert.equal(r.status, 400, path)
      assert.match(r.headers.get('content-type') ?? '', /text\/html/, path)
      assert.match(await r.text(), /query parameter (page|type|next)/i, path)
    }
    for (const path of ['/?q=&type=&page=', '/alice?q=tool&page=1', '/-/login?next=', '/?whatever=1&whatever=2']) {
      assert.equal((await fetch(`${url}${path}`)).status, 200, path)
    }

    // Registry routes take no query parameters: whatever a client appends is ignored, never a 5xx.
    const zip = await moduleZip('example.com/m', 'v1.0.0')
    assert.equal((await fetch(`${url}/api/packages/alice/go/upload?x=1&x=2`, { method: 'PUT', headers: auth, body: new Uint8Array(zip) })).status, 201)
    for (const path of ['go/example.com/m/@v/list?x=1&x=2', 'go/example.com/m/@latest?go-get=', 'generic/tool/1.0/a.bin?a=1&a=2&b']) {
      assert.equal((await fetch(`${url}/api/packages/alice/${path}`, { headers: auth })).status, 200, path)
    }
  })
}
