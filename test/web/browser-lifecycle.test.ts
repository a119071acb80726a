// Issue 11 in real headless Chromium: the package settings page, the cleanup rules page with its
// preview and run, and the usage display on owner pages (screenshots with WHARF_SCREENSHOTS).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { startTestApp } from '../helpers/test-app.js'
import { PASSWORD, basic, makeUser } from '../helpers/auth.js'
import { Screenshots, browserSkipReason, launchBrowser } from './browser-helpers.js'

async function put(url: string, auth: string, body: Buffer): Promise<number> {
  const r = await fetch(url, { method: 'PUT', headers: { authorization: auth }, body: new Uint8Array(body) })
  await r.arrayBuffer()
  return r.status
}

test('web UI: package settings, cleanup rules with preview, usage', { skip: browserSkipReason(), timeout: 240_000 }, async (t) => {
  const app = await startTestApp(t, { env: { WHARF_LIMIT_TOTAL_OWNER_SIZE: '1MiB', WHARF_LIMIT_TOTAL_OWNER_COUNT: '10' } })
  await makeUser(app.services, 'alice')
  const api = `${app.url}/api/packages/alice/generic/tool`
  for (const v of ['1.0', '1.1-dev', '1.2-dev', '1.3']) assert.equal(await put(`${api}/${v}/tool.bin`, basic('alice', PASSWORD), Buffer.alloc(1000, 7)), 201)

  const browser = await launchBrowser()
  t.after(() => browser.close())
  const shots = new Screenshots()
  const page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage()
  page.setDefaultTimeout(20_000)
  await page.goto(`${app.url}/-/login`)
  await page.getByLabel('Username').fill('alice')
  await page.getByLabel('Password').fill(PASSWORD)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await page.waitForURL(`${app.url}/`)

  // usage against the quota on the owner page
  await page.goto(`${app.url}/alice`)
  const usage = await page.locator('#usage').textContent()
  assert.match(usage ?? '', /3\.9 KiB of 1\.0 MiB/)
  assert.match(usage ?? '', /4 of 10 package versions/)
  assert.equal(await page.locator('#usage meter').count(), 2)
  await shots.take(page, 'owner-usage')

  // the package page shows the latest URL; the settings page saves a policy
  await page.goto(`${app.url}/alice/-/packages/generic/tool`)
  assert.match((await page.locator('#latest-url').textContent()) ?? '', /\/api\/packages\/alice\/generic\/tool\/latest\/FILE$/)
  await page.getByRole('link', { name: 'Package settings' }).click()
  await page.getByLabel(/Overwrite files of these versions/).check()
  await page.getByLabel('Versions that may be overwritten').fill('*-dev')
  await page.getByLabel(/Protected versions/).fill('1.0')
  await page.getByRole('button', { name: 'Save settings' }).click()
  await page.getByText('Settings saved.').waitFor()
  await shots.take(page, 'package-settings')
  const saved = await app.services.packageSettings.get({ ownerId: (await app.services.users.findOwner('alice'))!.id, type: 'generic', name: 'tool' })
  assert.deepEqual({ ...saved }, { overwrite: 'overwrite', overwriteVersions: '*-dev', protectedVersions: '1.0' })

  // cleanup rules: save, preview (protected 1.0 is not listed), run
  await page.goto(`${app.url}/alice`)
  await page.getByRole('link', { name: 'Cleanup rules' }).click()
  await page.locator('#remove_pattern-generic').fill('[')
  await page.getByRole('button', { name: 'Save Generic rule' }).click()
  await page.getByText(/Not saved: remove_pattern/).waitFor()
  await page.locator('#keep_count-generic').fill('1')
  await page.locator('#remove_pattern-generic').fill('')
  await page.getByRole('button', { name: 'Save Generic rule' }).click()
  await page.getByText('Generic rule saved.').waitFor()
  await shots.take(page, 'cleanup-rules')
  await page.getByRole('link', { name: 'Preview Generic cleanup' }).click()
  const listed = await page.locator('#preview tbody tr td:nth-child(2)').allTextContents()
  assert.deepEqual(listed, ['1.2-dev', '1.1-dev'])
  await shots.take(page, 'cleanup-preview')
  await page.getByRole('button', { name: 'Run cleanup now' }).click()
  await page.getByText('Removed 2 versions.').waitFor()
  await shots.take(page, 'cleanup-ran')
  const left = await app.services.packages.listVersionsOfPackage({ ownerId: (await app.services.users.findOwner('alice'))!.id, type: 'generic', name: 'tool' })
  assert.deepEqual(left.map((v) => v.version), ['1.0', '1.3'])
})
