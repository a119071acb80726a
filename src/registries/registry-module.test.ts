// The seam: every registered type describes itself fully, and config/web/CLI pick it up by looping.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Command } from 'commander'
import { loadConfig } from '../config/config.js'
import { packageTypes, findPackageType } from './index.js'

test('every registered type has a name, a size-limit setting, routes and web hooks', () => {
  const names = new Set<string>()
  for (const t of packageTypes) {
    assert.match(t.name, /^[a-z0-9]{1,32}$/)
    assert.ok(!names.has(t.name), `${t.name} registered twice`)
    names.add(t.name)
    assert.equal(t.sizeLimitSetting, `WHARF_LIMIT_SIZE_${t.name.toUpperCase()}`)
    assert.equal(typeof t.routes, 'function')
    assert.equal(typeof t.web.fileUrl, 'function')
    assert.equal(typeof t.web.install, 'function')
    assert.equal(findPackageType(t.name), t)
  }
})

test("config reads each type's size limit from the type's own setting", () => {
  const env = Object.fromEntries(packageTypes.map((t, i) => [t.sizeLimitSetting, `${i + 1}MiB`]))
  const config = loadConfig({ WHARF_DATA: '/tmp/wharf-unused', ...env })
  packageTypes.forEach((t, i) => assert.equal(config.limits[t.name], (i + 1) * 2 ** 20))
  assert.deepEqual(Object.keys(config.limits).sort(), packageTypes.map((t) => t.name).sort())
  assert.throws(() => loadConfig({ [packageTypes[0]!.sizeLimitSetting]: 'lots' }), new RegExp(packageTypes[0]!.sizeLimitSetting))
})

test('file URLs and install instructions come from the type', () => {
  const ref = { base: new URL('https://wharf.example/'), owner: 'acme', ownerPublic: false, name: 'example.com/Mod', version: 'v1.0.0' }
  assert.equal(findPackageType('go')!.web.fileUrl(ref, { name: 'v1.0.0.zip', isLead: 1, size: 1 }),
    'https://wharf.example/api/packages/acme/go/example.com/!mod/@v/v1.0.0.zip')
  assert.equal(findPackageType('generic')!.web.fileUrl({ ...ref, name: 'tool', version: '1.0' }, { name: 'a b.bin', isLead: 0, size: 1 }),
    'https://wharf.example/api/packages/acme/generic/tool/1.0/a%20b.bin')
  assert.match(findPackageType('go')!.web.install({ ...ref, files: [] }).value, /GOPROXY=https:\/\/USERNAME:TOKEN@wharf\.example/)
  assert.equal(findPackageType('go')!.web.slashedNames, true)
  assert.ok(!findPackageType('generic')!.web.slashedNames)
})

test('the CLI gets each type’s commands', () => {
  const program = new Command('wharf')
  for (const t of packageTypes) t.cli?.(program, {})
  assert.deepEqual(program.commands.map((c) => c.name()), ['go'])
  assert.deepEqual(program.commands[0]!.commands.map((c) => c.name()).sort(), ['pack', 'push'])
})
