// `npm start` runs compiled JavaScript from dist/ and rebuilds it when the sources changed
// (scripts/build.mjs, scripts/start.mjs): checked on a copy of the project, so the real dist/ and
// src/ are never touched.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import { ROOT } from '../helpers/root.js'

function copyProject(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'wharf-build-'))
  for (const f of ['src', 'scripts', 'tsconfig.json', 'tsconfig.build.json', 'package.json']) {
    cpSync(path.join(ROOT, f), path.join(dir, f), { recursive: true })
  }
  symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'))
  return dir
}

function wharf(dir: string, args: string[]) {
  const r = spawnSync(process.execPath, [path.join(dir, 'scripts/start.mjs'), ...args],
    { cwd: dir, encoding: 'utf8', timeout: 300_000, env: { ...process.env, WHARF_DATA: path.join(dir, 'data') } })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

test('start.mjs compiles src/ to dist/, runs it, and rebuilds after a source change', { timeout: 600_000 }, (t) => {
  const dir = copyProject()
  t.after(() => rmSync(dir, { recursive: true, force: true }))

  const first = wharf(dir, ['--help'])
  assert.equal(first.code, 0, first.stderr)
  assert.match(first.stdout, /self-hosted package registry/)
  assert.ok(existsSync(path.join(dir, 'dist/main.js')), 'dist/main.js was built')
  assert.ok(existsSync(path.join(dir, 'dist/web/assets/style.css')), 'the web assets were copied')
  const stamp = path.join(dir, 'dist/.build-stamp')
  const builtAt = statSync(stamp).mtimeMs

  // Nothing changed: no rebuild.
  const again = wharf(dir, ['--help'])
  assert.equal(again.code, 0, again.stderr)
  assert.equal(statSync(stamp).mtimeMs, builtAt)

  // A source change (as after a git pull) is compiled before the next start.
  const cli = path.join(dir, 'src/cli/index.ts')
  writeFileSync(cli, readFileSync(cli, 'utf8').replace('Wharf: a self-hosted package registry', 'Wharf (rebuilt): a self-hosted package registry'))
  const changed = wharf(dir, ['--help'])
  assert.equal(changed.code, 0, changed.stderr)
  assert.match(changed.stdout, /Wharf \(rebuilt\)/)
  assert.notEqual(readFileSync(stamp, 'utf8'), '')
  assert.ok(!readFileSync(path.join(dir, 'dist/cli/index.js'), 'utf8').includes('Wharf: a self-hosted'), 'no stale output left')
})
