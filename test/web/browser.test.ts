// The web UI in real headless Chromium: browse, search, download, tokens, two-factor, delete.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import type { Page } from 'playwright-core'
import { startTestApp } from '../helpers/test-app.js'
import { PASSWORD, basic, makeOrg, makeTeam, makeUser } from '../helpers/auth.js'
import { totp } from '../../src/auth/totp.js'
import { moduleZip } from '../http/go-helpers.js'
import { Screenshots, browserSkipReason, launchBrowser } from './browser-helpers.js'

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex')

async function put(url: string, auth: string, body: Buffer): Promise<number> {
  const r = await fetch(url, { method: 'PUT', headers: { authorization: auth }, body: new Uint8Array(body) })
  await r.arrayBuffer()
  return r.status
}

test('web UI in headless Chromium', { skip: browserSkipReason(), timeout: 240_000 }, async (t) => {
  const app = await startTestApp(t)
  const s = app.services
  const alice = await makeUser(s, 'alice')
  const bob = await makeUser(s, 'bob', { visibility: 'private' })
  await makeUser(s, 'root', { admin: true })
  const acme = await makeOrg(s, 'acme', alice)
  await makeTeam(s, acme, 'Publishers', 'write', [bob])
  const api = `${app.url}/api/packages`
  const tool = randomBytes(70_000)
  assert.equal(await put(`${api}/alice/generic/tool/1.0.0/tool-linux-amd64.bin`, basic('alice', PASSWORD), tool), 201)
  assert.equal(await put(`${api}/alice/generic/tool/1.0.0/README.txt`, basic('alice', PASSWORD), Buffer.from('hello\n')), 201)
  assert.equal(await put(`${api}/alice/generic/tool/2.0.0/tool-linux-amd64.bin`, basic('alice', PASSWORD), randomBytes(10)), 201)
  assert.equal(await put(`${api}/alice/generic/other-thing/0.1/x.tar.gz`, basic('alice', PASSWORD), randomBytes(100)), 201)
  assert.equal(await put(`${api}/acme/generic/acme-lib/3.1.4/lib.zip`, basic('alice', PASSWORD), randomBytes(2000)), 201)
  assert.equal(await put(`${api}/bob/generic/bobs-secret/1.0/secret.bin`, basic('bob', PASSWORD), randomBytes(10)), 201)
  const modZip = await moduleZip('example.com/Hello/world', 'v1.0.0')
  assert.equal(await put(`${api}/alice/go/upload`, basic('alice', PASSWORD), modZip), 201)

  const browser = await launchBrowser()
  t.after(() => browser.close())
  const shots = new Screenshots()
  const cspErrors: string[] = []
  const newPage = async (javaScriptEnabled = true) => {
    const ctx = await browser.newContext({ acceptDownloads: true, viewport: { width: 1280, height: 800 }, javaScriptEnabled })
    const page = await ctx.newPage()
    page.setDefaultTimeout(20_000)
    page.on('console', (m) => { if (/Content.Security.Policy|Refused to/i.test(m.text())) cspErrors.push(m.text()) })
    page.on('pageerror', (e) => cspErrors.push(String(e)))
    return page
  }
  const go = async (page: Page, path: string, name: string) => {
    const res = await page.goto(app.url + path)
    await shots.take(page, name)
    return res
  }

  // A visitor who is not signed in sees public packages only (browsing works without JavaScript).
  const anon = await newPage(false)
  await go(anon, '/', 'explore-anonymous')
  const names = await anon.locator('ul.packages a.name').allTextContents()
  assert.ok(names.some((n) => n.includes('tool')), names.join())
  assert.ok(names.some((n) => n.includes('acme-lib')))
  assert.ok(!names.some((n) => n.includes('bobs-secret')), 'a private owner stays hidden')
  // As on the API: anonymous → 401 (here a page offering to sign in), never the package itself.
  assert.equal((await go(anon, '/bob', 'private-owner-anonymous'))!.status(), 401)
  assert.equal(await anon.getByRole('link', { name: 'Sign in' }).count(), 2)
  assert.equal((await go(anon, '/bob/-/packages/generic/bobs-secret', 'private-package-anonymous'))!.status(), 401)
  assert.ok(!(await anon.content()).includes('secret.bin'))
  assert.equal((await go(anon, '/no-such-owner', 'unknown-owner'))!.status(), 404)

  // Sign in.
  const page = await newPage()
  await go(page, '/-/login', 'login')
  await page.getByLabel('Username').fill('alice')
  await page.getByLabel('Password').fill(PASSWORD)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await page.waitForURL(`${app.url}/`)
  await shots.take(page, 'explore-signed-in')

  // Find a package by search, open it and a version.
  await page.getByLabel('Search packages').fill('too')
  await page.getByRole('button', { name: 'Search' }).click()
  await page.waitForURL(/\?q=too/)
  await shots.take(page, 'search-results')
  assert.deepEqual(await page.locator('ul.packages a.name').allTextContents(), ['alice / tool'])
  await page.getByRole('link', { name: 'alice / tool' }).click()
  await page.waitForURL(/\/alice\/-\/packages\/generic\/tool$/)
  await shots.take(page, 'package')
  assert.equal(await page.locator('tbody tr').count(), 2)
  await page.getByRole('link', { name: '1.0.0' }).click()
  await page.waitForURL(/\/tool\/1\.0\.0$/)
  await shots.take(page, 'version')
  const shown = await page.locator('tr', { hasText: 'tool-linux-amd64.bin' }).locator('code.sha256').textContent()
  assert.equal(shown, sha256(tool))
  assert.match(await page.locator('pre').first().textContent() ?? '', new RegExp(`curl -fL -o "tool-linux-amd64.bin"[\\s\\S]*${app.url.replace(/[.:/]/g, '\\$&')}/api/packages/alice/generic/tool/1.0.0/tool-linux-amd64.bin`))

  // The copy button (the only script) puts the digest on the clipboard.
  await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: app.url })
  const copy = page.locator('tr', { hasText: 'tool-linux-amd64.bin' }).getByRole('button', { name: 'Copy' })
  await copy.click()
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), sha256(tool))

  // Download a file and compare its SHA-256.
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'tool-linux-amd64.bin' }).click()])
  const got = await readFile((await download.path()))
  assert.equal(sha256(got), sha256(tool))

  // A Go module: found by type, its page tells how to use the proxy, its zip downloads intact.
  await go(page, '/?type=go', 'explore-go')
  await page.getByRole('link', { name: 'alice / example.com/Hello/world' }).click()
  await page.waitForURL(/\/alice\/-\/packages\/go\/example\.com%2FHello%2Fworld$/)
  await page.getByRole('table').getByRole('link', { name: 'v1.0.0' }).click()
  await page.waitForURL(/%2Fworld\/v1\.0\.0$/)
  await shots.take(page, 'go-version')
  assert.match(await page.locator('pre').first().textContent() ?? '', /GOPROXY=.*\/api\/packages\/alice\/go,https:\/\/proxy\.golang\.org,direct\nexport GONOSUMDB=example\.com\/Hello\/world\ngo get example\.com\/Hello\/world@v1\.0\.0/)
  const [zipDownload] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'v1.0.0.zip' }).click()])
  assert.equal(sha256(await readFile((await zipDownload.path()))), sha256(modZip))

  // Create a token and use it against the API.
  await go(page, '/-/settings/tokens', 'tokens')
  await page.getByLabel('Name').fill('ci upload')
  await page.getByRole('button', { name: 'Create token' }).click()
  await page.waitForSelector('#new-token')
  await shots.take(page, 'token-created')
  const token = (await page.locator('#new-token').textContent())!.trim()
  assert.match(token, /^[0-9a-f]{40}$/)
  const payload = randomBytes(1234)
  assert.equal(await put(`${api}/alice/generic/tool/3.0.0/new.bin`, `token ${token}`, payload), 201)
  const back = await fetch(`${api}/alice/generic/tool/3.0.0/new.bin`, { headers: { authorization: basic('alice', token) } })
  assert.equal(sha256(Buffer.from(await back.arrayBuffer())), sha256(payload))
  assert.equal(await page.locator('tbody tr', { hasText: 'ci upload' }).count(), 1)

  // Enrol in two-factor authentication.
  await go(page, '/-/settings/security', 'security-off')
  await page.getByRole('link', { name: 'Set up two-factor authentication' }).click()
  await page.waitForURL(/enroll$/)
  await shots.take(page, 'totp-enrol')
  assert.ok(await page.locator('img.qr').evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0), 'QR code renders')
  const secret = (await page.locator('#totp-secret').getAttribute('data-secret'))!
  await page.getByLabel('Authentication code').fill(totp(secret))
  await page.getByRole('button', { name: 'Turn on' }).click()
  await page.waitForSelector('ol.codes')
  await shots.take(page, 'recovery-codes')
  assert.equal(await page.locator('ol.codes li').count(), 10)
  const pw = await fetch(`${app.url}/api/v1/user`, { headers: { authorization: basic('alice', PASSWORD) } })
  assert.equal(pw.status, 401, 'the password no longer works on the API')
  assert.equal(await put(`${api}/alice/generic/tool/3.0.0/more.bin`, `token ${token}`, payload), 201, 'tokens keep working')

  // Sign out, and back in with a code.
  await page.getByRole('button', { name: 'Sign out' }).click()
  await page.waitForURL(`${app.url}/`)
  await go(page, '/-/login', 'login-again')
  await page.getByLabel('Username').fill('alice')
  await page.getByLabel('Password').fill(PASSWORD)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await page.waitForURL(/\/-\/login\/2fa/)
  await shots.take(page, 'login-2fa')
  await page.getByLabel('Authentication code').fill(totp(secret))
  await page.getByRole('button', { name: 'Verify' }).click()
  await page.waitForURL(`${app.url}/`)
  assert.equal(await page.getByRole('button', { name: 'Sign out' }).count(), 1)

  // Delete a version (with the confirmation step).
  await go(page, '/alice/-/packages/generic/tool/2.0.0', 'version-writer')
  await page.getByRole('link', { name: 'Delete this version' }).click()
  await page.waitForURL(/2\.0\.0\/delete$/)
  await shots.take(page, 'delete-confirm')
  await page.getByLabel(/I understand/).check()
  await page.getByRole('button', { name: 'Delete version' }).click()
  await page.waitForURL(/\/generic\/tool$/)
  await shots.take(page, 'package-after-delete')
  assert.deepEqual((await page.locator('tbody td:first-child').allTextContents()).map((x) => x.trim()), ['3.0.0', '1.0.0'])
  assert.equal((await fetch(`${api}/alice/generic/tool/2.0.0/tool-linux-amd64.bin`)).status, 404)
  // A reader who cannot write sees no delete button.
  await go(anon, '/alice/-/packages/generic/tool/1.0.0', 'version-anonymous')
  assert.equal(await anon.getByRole('link', { name: 'Delete this version' }).count(), 0)
  assert.equal(await anon.locator('button.copy').first().isHidden(), true, 'without JavaScript copy buttons stay hidden')
  await go(anon, '/', 'explore-no-javascript')
  await anon.getByLabel('Search packages').fill('other')
  await anon.getByRole('button', { name: 'Search' }).click()
  await anon.waitForURL(/\?q=other/)
  assert.deepEqual(await anon.locator('ul.packages a.name').allTextContents(), ['alice / other-thing'])

  // Owner pages, the organization's teams, settings pages.
  await go(page, '/alice', 'owner')
  await go(page, '/acme', 'org')
  await go(page, '/acme/-/teams', 'org-teams')
  assert.equal(await page.getByRole('heading', { name: 'Publishers' }).count(), 1)
  await go(page, '/-/settings', 'settings-account')
  await go(page, '/-/settings/orgs', 'settings-orgs')
  await go(page, '/-/settings/security', 'security-on')

  // A site admin creates a user and changes a visibility.
  const admin = await newPage()
  await go(admin, '/-/login', 'admin-login')
  await admin.getByLabel('Username').fill('root')
  await admin.getByLabel('Password').fill(PASSWORD)
  await admin.getByRole('button', { name: 'Sign in' }).click()
  await admin.waitForURL(`${app.url}/`)
  await shots.take(admin, 'explore-admin')
  assert.ok((await admin.locator('ul.packages a.name').allTextContents()).some((n) => n.includes('bobs-secret')), 'admins see everything')
  await go(admin, '/-/admin/users', 'admin-users')
  await admin.getByLabel('Username').fill('carol')
  await admin.getByLabel('Email').fill('carol@example.com')
  await admin.getByLabel('Password').fill('a-long-password')
  await admin.getByRole('button', { name: 'Create user' }).click()
  await admin.waitForSelector('.flash.ok')
  await shots.take(admin, 'admin-user-created')
  assert.equal((await s.users.findOwner('carol'))?.email, 'carol@example.com')
  await admin.getByLabel('Visibility of alice').selectOption('limited')
  await admin.getByRole('button', { name: 'Save alice' }).click()
  await admin.waitForSelector('.flash.ok')
  assert.equal((await s.users.findOwner('alice'))?.visibility, 'limited')
  await go(anon, '/', 'explore-anonymous-after')
  assert.ok(!(await anon.locator('ul.packages a.name').allTextContents()).some((n) => n.startsWith('alice')), 'limited owners are hidden from visitors')

  assert.deepEqual(cspErrors, [], 'no CSP violations or script errors')
})
