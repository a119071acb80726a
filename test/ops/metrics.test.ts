// GET /metrics: off by default, Bearer token when set, counts of uploads and downloads by type,
// route patterns only (no raw path ever becomes a label), database and blob operation series.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { startTestApp, testDatabases } from '../helpers/test-app.js'
import { PASSWORD, basic, makeUser } from '../helpers/auth.js'
import { loadConfig } from '../../src/config/config.js'

/** The value of one series, e.g. sample(text, 'wharf_package_uploads_total', { type: 'generic' }). */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0
  let found = false
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue
    found = true
    total += Number(line.slice(line.lastIndexOf(' ') + 1))
  }
  return found ? total : NaN
}

test('metrics are off unless WHARF_METRICS=true', async (t) => {
  const app = await startTestApp(t)
  const res = await fetch(`${app.url}/metrics`)
  assert.equal(res.status, 404)
  assert.equal(app.services.metrics, undefined)
})

test('a bad WHARF_METRICS or WHARF_METRICS_TOKEN is a configuration error naming the variable', () => {
  assert.throws(() => loadConfig({ WHARF_METRICS: 'maybe' }), /WHARF_METRICS:/)
  assert.throws(() => loadConfig({ WHARF_METRICS: 'true', WHARF_METRICS_TOKEN: 'has space' }), /WHARF_METRICS_TOKEN:/)
})

for (const db of testDatabases()) {
  test(`[${db}] a scrape after uploads and downloads shows the counts, by route pattern only`, async (t) => {
    const app = await startTestApp(t, { db, env: { WHARF_METRICS: 'true', WHARF_METRICS_TOKEN: 'scrape-secret' } })
    await makeUser(app.services, 'alice')
    const auth = { authorization: basic('alice', PASSWORD) }
    const base = `${app.url}/api/packages/alice/generic/secret-package-name/1.0.0`
    for (const f of ['a.bin', 'b.bin', 'c.bin']) {
      const put = await fetch(`${base}/${f}`, { method: 'PUT', headers: auth, body: Buffer.from(`bytes of ${f}`) })
      assert.equal(put.status, 201)
    }
    for (let i = 0; i < 5; i++) {
      const get = await fetch(`${base}/a.bin`)
      assert.equal(get.status, 200)
      assert.equal(await get.text(), 'bytes of a.bin')
    }
    assert.equal((await fetch(`${base}/missing-file-xyz.bin`)).status, 404)
    assert.equal((await fetch(`${app.url}/no-such-page/raw-path-qwerty?x=1`)).status, 404)
    assert.equal((await fetch(`${app.url}/api/raw-api-path-asdf`)).status, 404)

    // The token is enforced: none, a wrong one, a Wharf credential instead.
    assert.equal((await fetch(`${app.url}/metrics`)).status, 401)
    assert.equal((await fetch(`${app.url}/metrics`, { headers: { authorization: 'Bearer wrong' } })).status, 401)
    assert.equal((await fetch(`${app.url}/metrics`, { headers: auth })).status, 401)
    const res = await fetch(`${app.url}/metrics`, { headers: { authorization: 'Bearer scrape-secret' } })
    assert.equal(res.status, 200)
    assert.match(res.headers.get('content-type')!, /^text\/plain; version=0\.0\.4/)
    const text = await res.text()

    assert.equal(sample(text, 'wharf_package_uploads_total', { type: 'generic' }), 3)
    assert.equal(sample(text, 'wharf_package_downloads_total', { type: 'generic' }), 5)
    const route = '/api/packages/:owner/generic/:name/:version/:file'
    assert.equal(sample(text, 'wharf_http_requests_total', { route, method: 'PUT', status: '201' }), 3)
    assert.equal(sample(text, 'wharf_http_requests_total', { route, method: 'GET', status: '200' }), 5)
    assert.equal(sample(text, 'wharf_http_requests_total', { route, method: 'GET', status: '404' }), 1)
    assert.equal(sample(text, 'wharf_http_requests_total', { route: '<unmatched>' }), 2)
    assert.equal(sample(text, 'wharf_http_request_duration_seconds_count', { route, method: 'GET' }), 6)
    // Five downloads plus the 404's message.
    assert.ok(sample(text, 'wharf_http_sent_bytes_total', { route }) >= 5 * 'bytes of a.bin'.length)
    assert.equal(sample(text, 'wharf_http_received_bytes_total', { route }), 3 * 'bytes of a.bin'.length)
    assert.ok(sample(text, 'wharf_db_query_duration_seconds_count') > 0)
    // Small uploads are stored from memory (putBytes; in the database, within the upload's transaction).
    assert.equal(sample(text, 'wharf_blob_operation_duration_seconds_count', { op: 'put_bytes' }), 3)
    assert.ok(sample(text, 'wharf_process_cpu_user_seconds_total') >= 0, 'process metrics')
    assert.match(text, /worker="0"/, 'each worker labels its own numbers')

    // No label takes a raw path: the names and paths requested above appear nowhere.
    for (const raw of ['secret-package-name', 'missing-file-xyz', 'raw-path-qwerty', 'raw-api-path-asdf', 'a.bin']) {
      assert.ok(!text.includes(raw), `${raw} leaked into a label`)
    }
    for (const m of text.matchAll(/route="([^"]*)"/g)) {
      assert.ok(m[1] === '<unmatched>' || m[1]!.startsWith('/'), m[1]!)
      assert.ok(!/\/(alice|1\.0\.0)(\/|$)/.test(m[1]!), `raw segment in ${m[1]}`)
    }
  })
}

test('without WHARF_METRICS_TOKEN the scrape is open', async (t) => {
  const app = await startTestApp(t, { env: { WHARF_METRICS: 'true' } })
  const res = await fetch(`${app.url}/metrics`)
  assert.equal(res.status, 200)
  assert.match(await res.text(), /wharf_http_requests_total|# HELP wharf_http_requests_total/)
})
