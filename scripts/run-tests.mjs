// Runs every test file with node:test through tsx. Node 20 has no --test globs, so we expand them here.
import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { spawnSync } from 'node:child_process'

function walk(dir, out = []) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules') continue
    const p = join(dir, name)
    if (statSync(p).isDirectory()) walk(p, out)
    else if (/\.test\.ts$/.test(name)) out.push(p)
  }
  return out
}

const filter = process.argv.slice(2)
let files = [...walk('src'), ...walk('test')].sort()
if (filter.length) files = files.filter((f) => filter.some((x) => f.includes(x)))
const concurrency = process.env.WHARF_TEST_CONCURRENCY ?? '2'
const r = spawnSync(process.execPath,
  ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, ...files],
  { stdio: 'inherit' })
process.exit(r.status ?? 1)
