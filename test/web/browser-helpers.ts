// Real headless Chromium (Debian's package) through playwright-core, plus optional screenshots.
import { existsSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import path from 'node:path'
import type { Browser, Page } from 'playwright-core'

export const CHROMIUM = '/usr/bin/chromium'

/** A reason to skip when there is no browser; under CI=true a missing browser is a failure instead. */
export function browserSkipReason(): string | undefined {
  if (existsSync(CHROMIUM)) return undefined
  if (process.env.CI === 'true') throw new Error(`${CHROMIUM} is missing; CI must install Debian's chromium package`)
  const reason = `${CHROMIUM} is not installed (apt-get install chromium); browser tests skipped`
  console.log(`# ${reason}`)
  return reason
}

export async function launchBrowser(): Promise<Browser> {
  const { chromium } = await import('playwright-core')
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run', '--disable-quic'],
    timeout: 60_000,
  })
}

/** With WHARF_SCREENSHOTS=DIR, saves a full-page PNG of the current page at desktop and phone widths. */
export class Screenshots {
  private n = 0
  readonly dir = process.env.WHARF_SCREENSHOTS

  async take(page: Page, name: string): Promise<void> {
    if (!this.dir) return
    await mkdir(this.dir, { recursive: true })
    const base = `${String(++this.n).padStart(2, '0')}-${name.replace(/[^a-z0-9-]+/gi, '-')}`
    const size = page.viewportSize() ?? { width: 1280, height: 800 }
    for (const [label, width] of [['desktop', 1280], ['phone', 390]] as const) {
      await page.setViewportSize({ width, height: 800 })
      await page.screenshot({ path: path.join(this.dir, `${base}-${label}.png`), fullPage: true })
    }
    await page.setViewportSize(size)
  }
}
