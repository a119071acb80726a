import { test } from 'node:test'
import assert from 'node:assert/strict'
import { every } from './schedule.js'

test('every: runs never overlap, and stop() waits for the run in progress', async () => {
  let running = 0
  let maxRunning = 0
  let runs = 0
  let release!: () => void
  const gate = new Promise<void>((r) => {
    release = r
  })
  const job = every(1, 'test', async () => {
    running++
    runs++
    maxRunning = Math.max(maxRunning, running)
    await gate
    running--
  }, { error: () => {} })
  const first = job.runNow()
  const second = job.runNow()
  await new Promise((r) => setTimeout(r, 30))
  assert.equal(runs, 1, 'timer ticks and runNow calls during a run do not start another')
  let stopped = false
  const stopping = job.stop().then(() => {
    stopped = true
  })
  await new Promise((r) => setTimeout(r, 10))
  assert.equal(stopped, false, 'stop waits for the current run')
  release()
  await Promise.all([first, second, stopping])
  assert.equal(maxRunning, 1)
  await job.runNow()
  assert.equal(runs, 1, 'nothing runs after stop')
})

test('every: a failing run is logged and the next one still runs', async () => {
  const errors: string[] = []
  let calls = 0
  const job = every(3_600_000, 'failing', async () => {
    calls++
    throw new Error('boom')
  }, { error: (_o, msg) => errors.push(msg) })
  await job.runNow()
  await job.runNow()
  await job.stop()
  assert.equal(calls, 2)
  assert.deepEqual(errors, ['job failed', 'job failed'])
})
