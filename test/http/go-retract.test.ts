// Go retractions and deprecation of hosted modules: @latest skips what the go.mod of the highest
// version retracts, @v/list still lists it, and the web version page says so.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { startTestApp, testDatabases } from '../helpers/test-app.js'
import { PASSWORD, basic, makeUser } from '../helpers/auth.js'
import { WebClient } from '../web/web-client.js'
import { goClient, moduleZip } from './go-helpers.js'

const MOD = 'example.com/r'
const goModOf = (extra: string) => `// Deprecated: use example.com/r2 instead.\nmodule ${MOD}\n\ngo 1.19\n${extra}`

for (const db of testDatabases()) {
  test(`[${db}] go: @latest skips retracted versions, @v/list keeps them, the page marks them`, async (t) => {
    const { url, services } = await startTestApp(t, { db })
    await makeUser(services, 'alice')
    const auth = basic('alice', PASSWORD)
    const go = goClient(url, 'alice')
    const upload = async (v: string, goMod = `module ${MOD}\n\ngo 1.19\n`) => {
      const r = await go.upload(await moduleZip(MOD, v, { goMod }), auth)
      assert.equal(r.status, 201, r.body.toString())
    }
    const latest = async () => {
      const r = await go.get(`${MOD}/@latest`)
      assert.equal(r.status, 200, r.body.toString())
      return (JSON.parse(r.body.toString()) as { Version: string }).Version
    }
    await upload('v1.0.0')
    await upload('v1.1.0')
    assert.equal(await latest(), 'v1.1.0')
    // A retraction in an older version's go.mod does not count: only the highest version's does.
    await upload('v1.0.1', `module ${MOD}\n\nretract v1.1.0\n`)
    assert.equal(await latest(), 'v1.1.0')
    // v1.3.0 retracts itself (the usual way) and v1.1.0 with an interval; a pre-release is ignored.
    await upload('v1.3.0', goModOf('retract [v1.1.0, v1.1.9] // Broke the build.\nretract v1.3.0 // Published by mistake.\n'))
    await upload('v1.4.0-rc.1', goModOf('retract v1.0.1\n'))
    assert.equal(await latest(), 'v1.0.1', 'the highest release that no retract directive of v1.3.0 covers')
    const list = await go.get(`${MOD}/@v/list`)
    assert.equal(list.body.toString(), 'v1.0.0\nv1.0.1\nv1.1.0\nv1.3.0\nv1.4.0-rc.1\n', 'retracted versions stay listed')
    const info = await go.get(`${MOD}/@v/v1.3.0.info`)
    assert.equal(info.status, 200, 'a retracted version is still served by name')

    const web = new WebClient(url)
    const page = async (v: string) => {
      const r = await web.get(`/alice/-/packages/go/${encodeURIComponent(MOD)}/${v}`)
      assert.equal(r.res.status, 200)
      return r.body
    }
    const v110 = await page('v1.1.0')
    assert.match(v110, /<strong>Retracted<\/strong> by the module&#39;s authors: Broke the build\.|<strong>Retracted<\/strong> by the module's authors: Broke the build\./)
    assert.match(v110, /<strong>Deprecated:<\/strong> use example\.com\/r2 instead\./)
    assert.match(await page('v1.3.0'), /Published by mistake\./)
    const v100 = await page('v1.0.0')
    assert.doesNotMatch(v100, /Retracted/)
    assert.match(v100, /Deprecated:<\/strong> use example\.com\/r2/, 'the deprecation of the module shows on every version')

    // Every release retracted: @latest still answers the highest release rather than nothing.
    await upload('v1.5.0', `module ${MOD}\n\nretract [v1.0.0, v1.5.0]\n`)
    assert.equal(await latest(), 'v1.5.0')
    assert.doesNotMatch(await page('v1.0.0'), /Deprecated/, 'v1.5.0 no longer deprecates the module')
  })
}
