// WHARF_DATABASE_POOL (issue 8, item 5): parsed and bounded, with a default sized for the machine.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { ConfigError, defaultDatabasePool, loadConfig } from '../../src/config/config.js'

test('WHARF_DATABASE_POOL: a number from 1 to 1000, else a ConfigError naming it; the default is 10–32', () => {
  assert.equal(loadConfig({ WHARF_DATABASE_POOL: '48' }).databasePool, 48)
  const d = loadConfig({}).databasePool
  assert.equal(d, defaultDatabasePool())
  assert.ok(d >= 10 && d <= 32)
  for (const bad of ['0', '1001', 'ten', '-1', '2.5']) {
    assert.throws(() => loadConfig({ WHARF_DATABASE_POOL: bad }), (err: unknown) => err instanceof ConfigError && /WHARF_DATABASE_POOL/.test(String(err)), bad)
  }
})
