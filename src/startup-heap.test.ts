import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'

// In a child process of its own: the flag is process-wide. The child keeps allocating objects that
// survive (as start-up does), which makes V8 grow the young generation unless the factor is held.
const CHILD = `
const { getHeapSpaceStatistics } = require('node:v8')
const young = () => getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size
const kept = []
const allocate = () => { for (let i = 0; i < 400000; i++) kept.push({ i, s: 'x' + i }) }
import(process.argv[1]).then(({ startupDone }) => {
  allocate() // V8 takes its initial young generation to its minimum (1 MiB a semi-space) either way
  const before = young()
  allocate()
  const held = young()
  startupDone()
  allocate()
  console.log(JSON.stringify({ before, held, after: young() }))
})
`

/** Two semi-spaces of V8's minimum 1 MiB. */
const HELD_MAX = 2 * 1024 * 1024

const run = async (flags: string[] = []) => {
  const url = new URL('./startup-heap.js', import.meta.url).href
  const { stdout } = await promisify(execFile)(process.execPath, [...flags, '-e', CHILD, url])
  return JSON.parse(stdout) as { before: number; held: number; after: number }
}

test('the young generation does not grow while start-up holds it, and grows once it is done', async () => {
  const r = await run()
  assert.equal(r.held, r.before, `young generation ${r.before} -> ${r.held} bytes while held`)
  assert.ok(r.held <= HELD_MAX, `young generation ${r.held} bytes while held`)
  assert.ok(r.after > r.held, `young generation ${r.held} -> ${r.after} bytes after startupDone`)
})

test('a growth factor chosen on the command line is left alone', async () => {
  const r = await run(['--semi-space-growth-factor=2'])
  assert.ok(r.held > HELD_MAX, `young generation ${r.before} -> ${r.held} bytes`)
})
