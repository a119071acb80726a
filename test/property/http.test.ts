// Property-based tests over real HTTP: whatever module zip is uploaded, the answer is 201 or 400,
// never a 5xx, and a 201 zip downloads byte for byte; Range and If-None-Match answers agree with
// a model of RFC 9110 for any header a client may send.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { startTestApp, testDatabases } from '../helpers/test-app.js'
import { PASSWORD, basic, makeUser } from '../helpers/auth.js'
import { request, sha256Hex } from '../http/generic-helpers.js'
import { goClient } from '../http/go-helpers.js'
import { applyAll, baseZip, mutationsArb, SHAPES } from '../helpers/zip-mutate.js'

const RUNS = Number(process.env.WHARF_PROPERTY_RUNS ?? 300)

for (const db of testDatabases()) {
  test(`${db}: any mutated module zip upload answers 201 or 400, and a 201 downloads byte for byte`, async (t) => {
    const { url, services } = await startTestApp(t, { db })
    await makeUser(services, 'fz')
    const auth = basic('fz', PASSWORD)
    const go = goClient(url, 'fz')
    let version = 0
    const seen = { 201: 0, 400: 0 }
    await fc.assert(fc.asyncProperty(fc.integer({ min: 0, max: SHAPES - 1 }), fc.option(mutationsArb, { freq: 4 }), async (shape, ms) => {
      const v = `v1.0.${version++}`
      const base = await baseZip('example.com/fz', v, shape)
      const zip = ms ? applyAll(base, ms) : base
      const res = await go.upload(zip, auth)
      assert.ok(res.status === 201 || res.status === 400, `status ${res.status}: ${res.body.toString()}`)
      seen[res.status]++
      if (res.status === 201) {
        const got = await go.get(`example.com/fz/@v/${v}.zip`, auth)
        assert.equal(got.status, 200)
        assert.equal(got.sha256, sha256Hex(zip))
      } else {
        assert.match(res.body.toString(), /\S/, 'a 400 says why')
        assert.equal((await go.get(`example.com/fz/@v/${v}.info`, auth)).status, 404, 'nothing stored')
      }
    }), { numRuns: db === 'sqlite' ? RUNS : Math.ceil(RUNS / 3) })
    assert.ok(seen[201] > 0 && seen[400] > 0, `both outcomes happened: ${JSON.stringify(seen)}`)
  })

  test(`${db}: Range and If-None-Match answers agree with RFC 9110 for any header`, async (t) => {
    const { url, services } = await startTestApp(t, { db })
    await makeUser(services, 'rg')
    const auth = basic('rg', PASSWORD)
    const files = new Map<number, Buffer>()
    for (const size of [0, 1, 10, 1000]) {
      const body = Buffer.from(Array.from({ length: size }, (_, i) => (i * 7 + size) & 0xff))
      const put = await request({ method: 'PUT', url: `${url}/api/packages/rg/generic/p/1/f${size}`, headers: { authorization: auth }, body })
      assert.equal(put.status, 201)
      files.set(size, body)
    }
    const n = fc.oneof(fc.integer({ min: 0, max: 12 }), fc.integer({ min: 990, max: 1010 }), fc.constant(2 ** 53 + 10))
    type Spec = { kind: 'closed'; a: number; b: number } | { kind: 'open'; a: number } | { kind: 'suffix'; n: number } | { kind: 'other'; text: string }
    const spec: fc.Arbitrary<Spec> = fc.oneof(
      fc.record({ kind: fc.constant('closed' as const), a: n, b: n }),
      fc.record({ kind: fc.constant('open' as const), a: n }),
      fc.record({ kind: fc.constant('suffix' as const), n }),
      fc.record({ kind: fc.constant('other' as const), text: fc.constantFrom('bytes=0-1,3-4', 'items=0-1', 'bytes=', 'bytes=-', 'bytes=x-1', 'bytes=1-x', 'bytes 0-1', '0-1', 'bytes=--1', 'bytes=1--2', '') }),
    )
    const header = (s: Spec) => s.kind === 'closed' ? `bytes=${s.a}-${s.b}` : s.kind === 'open' ? `bytes=${s.a}-` : s.kind === 'suffix' ? `bytes=-${s.n}` : s.text
    /** What RFC 9110 §14 asks for: [status, first byte, last byte]. */
    const expected = (s: Spec, size: number): [number, number, number] => {
      const whole: [number, number, number] = [200, 0, size - 1]
      if (s.kind === 'other') return whole                  // not one valid byte range: the header is ignored
      if (s.kind === 'suffix') return s.n === 0 || size === 0 ? [416, 0, 0] : [206, Math.max(0, size - s.n), size - 1]
      if (s.kind === 'closed' && s.b < s.a) return whole    // an invalid range-spec: ignored
      if (s.a >= size) return [416, 0, 0]
      return [206, s.a, s.kind === 'closed' ? Math.min(s.b, size - 1) : size - 1]
    }
    await fc.assert(fc.asyncProperty(fc.constantFrom(...files.keys()), spec, fc.constantFrom('GET', 'HEAD'), async (size, s, method) => {
      const res = await request({ method, url: `${url}/api/packages/rg/generic/p/1/f${size}`, headers: { authorization: auth, range: header(s) } })
      const [status, first, last] = expected(s, size)
      assert.equal(res.status, status, `${header(s)} on ${size} bytes`)
      const body = files.get(size)!
      if (status === 416) assert.equal(res.headers['content-range'], `bytes */${size}`)
      if (status === 206) assert.equal(res.headers['content-range'], `bytes ${first}-${last}/${size}`)
      if (status !== 416) {
        const want = status === 206 ? body.subarray(first, last + 1) : body
        assert.equal(res.headers['content-length'], String(want.length))
        if (method === 'GET') assert.equal(sha256Hex(res.body), sha256Hex(want))
        else assert.equal(res.body.length, 0)
      }
    }), { numRuns: db === 'sqlite' ? RUNS : Math.ceil(RUNS / 3) })

    const etag = `"${sha256Hex(files.get(10)!)}"`
    const tag = fc.oneof(fc.constant(etag), fc.constant(`W/${etag}`), fc.constant('*'), fc.stringMatching(/^[0-9a-f]{1,64}$/).map((h) => `"${h}"`), fc.constant(`"${sha256Hex('other')}"`))
    await fc.assert(fc.asyncProperty(fc.array(tag, { minLength: 1, maxLength: 4 }), fc.constantFrom(',', ', ', ' ,'), async (tags, sep) => {
      const value = tags.join(sep)
      const res = await request({ method: 'GET', url: `${url}/api/packages/rg/generic/p/1/f10`, headers: { authorization: auth, 'if-none-match': value } })
      // "*" matches only alone; weak comparison otherwise.
      const match = value.trim() === '*' || tags.some((x) => x === etag || x === `W/${etag}`)
      assert.equal(res.status, match ? 304 : 200, value)
      if (!match) assert.equal(sha256Hex(res.body), sha256Hex(files.get(10)!))
      else assert.equal(res.body.length, 0)
    }), { numRuns: db === 'sqlite' ? RUNS : Math.ceil(RUNS / 3) })
  })
}
