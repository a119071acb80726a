import { test } from 'node:test'
import assert from 'node:assert/strict'
import { VerifiedPasswords } from './verified-passwords.js'

function clocked(opts: { idleMs: number; maxAgeMs: number; max: number }) {
  let t = 1_000_000
  const cache = new VerifiedPasswords({ ...opts, now: () => t })
  return { cache, advance: (ms: number) => { t += ms } }
}

test('concurrent checks of one key share a single verification', async () => {
  const { cache } = clocked({ idleMs: 60_000, maxAgeMs: 3_600_000, max: 100 })
  let calls = 0
  let release!: () => void
  const gate = new Promise<void>((r) => { release = r })
  const verify = async () => { calls++; await gate; return true }
  const all = Array.from({ length: 32 }, () => cache.check('k', verify))
  release()
  assert.deepEqual(await Promise.all(all), Array(32).fill(true))
  assert.equal(calls, 1)
  // and afterwards it is remembered
  assert.equal(await cache.check('k', verify), true)
  assert.equal(calls, 1)
})

test('a failed verification is shared by the waiters but not remembered', async () => {
  const { cache } = clocked({ idleMs: 60_000, maxAgeMs: 3_600_000, max: 100 })
  let calls = 0
  const verify = async () => { calls++; return false }
  assert.deepEqual(await Promise.all([cache.check('k', verify), cache.check('k', verify)]), [false, false])
  assert.equal(calls, 1)
  assert.equal(await cache.check('k', verify), false)
  assert.equal(calls, 2)
})

test('a rejected verification reaches every waiter and is retried next time', async () => {
  const { cache } = clocked({ idleMs: 60_000, maxAgeMs: 3_600_000, max: 100 })
  const results = await Promise.allSettled([cache.check('k', () => Promise.reject(new Error('boom'))), cache.check('k', () => Promise.resolve(true))])
  assert.deepEqual(results.map((r) => r.status), ['rejected', 'rejected'])
  assert.equal(await cache.check('k', () => Promise.resolve(true)), true)
})

test('an entry in use slides past its idle time, and is verified again after its maximum age', async () => {
  const { cache, advance } = clocked({ idleMs: 60_000, maxAgeMs: 600_000, max: 100 })
  let calls = 0
  const verify = async () => { calls++; return true }
  await cache.check('k', verify)
  for (let i = 0; i < 9; i++) {
    advance(50_000) // less than the idle time each step, 450 s in all: more than the idle time
    await cache.check('k', verify)
  }
  assert.equal(calls, 1)
  advance(200_000) // idle for longer than a minute: forgotten
  await cache.check('k', verify)
  assert.equal(calls, 2)
  for (let i = 0; i < 13; i++) {
    advance(50_000) // 650 s in use: past the maximum age
    await cache.check('k', verify)
  }
  assert.equal(calls, 3)
})

test('past its bound the least recently used entry goes, not the whole cache', async () => {
  const { cache } = clocked({ idleMs: 60_000, maxAgeMs: 3_600_000, max: 3 })
  let calls = 0
  const verify = async () => { calls++; return true }
  for (const k of ['a', 'b', 'c']) await cache.check(k, verify)
  await cache.check('a', verify) // a is now the most recently used
  await cache.check('d', verify) // evicts b
  assert.equal(cache.size, 3)
  calls = 0
  await cache.check('a', verify)
  await cache.check('c', verify)
  await cache.check('d', verify)
  assert.equal(calls, 0)
  await cache.check('b', verify)
  assert.equal(calls, 1)
})
