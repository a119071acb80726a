// Runs every test file (src/**/*.test.ts, test/**/*.test.ts) with node:test, a few at a time, and
// says how long each took.
//
// The TypeScript of src/ and test/ is first transpiled, file by file, into .test-build/ with esbuild
// (what tsx does too, in about a second for the whole tree), and the JavaScript runs on plain node:
// under tsx's loader every test file spent 2–3 s of CPU loading the app, and every CLI a test spawns
// as much again, a third of the suite's CPU. WHARF_TEST_TSX=1 runs the .ts files through tsx instead.
//
// Each file runs in a process of its own, as `node --test` would run it, but through our own pool so
// that (1) the slowest files start first and the run ends when the slowest file does, not when a slow
// file that started last does, and (2) each file's output is printed whole when it ends instead of
// interleaved, with the slowest files listed at the end.
//
//   npm test                    every file
//   npm test -- generic go-     only files whose path contains one of the words
//   WHARF_TEST_CONCURRENCY=4    files at once (default 2)
import { Buffer } from 'node:buffer'
import { spawn } from 'node:child_process'
import { copyFileSync, cpSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

function walk(dir, test = /\.test\.ts$/, out = []) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules') continue
    const p = join(dir, name)
    if (statSync(p).isDirectory()) walk(p, test, out)
    else if (test.test(name)) out.push(p)
  }
  return out
}

const BUILD = '.test-build'
const useTsx = process.env.WHARF_TEST_TSX === '1'

/** src/ and test/ as JavaScript in .test-build/ (same layout; package.json for "type" and the version; src/'s other files copied). */
async function transpile() {
  const { build } = await import('esbuild')
  rmSync(BUILD, { recursive: true, force: true })
  await build({
    entryPoints: [...walk('src', /\.ts$/), ...walk('test', /\.ts$/)],
    outdir: BUILD,
    outbase: '.',
    bundle: false,
    format: 'esm',
    platform: 'node',
    target: 'node20.19',
    sourcemap: true,
    logLevel: 'warning',
  })
  copyFileSync('package.json', join(BUILD, 'package.json'))
  // Whatever else src/ holds (the web assets, read beside the code that serves them) goes along as is.
  for (const f of walk('src', /^(?!.*\.ts$)/)) cpSync(f, join(BUILD, f))
}

// Seconds each file took in an earlier run: this checkout's last full run (kept in node_modules/.cache,
// out of git), else the committed test/durations.json. Only an ordering hint: a missing or stale one
// costs a little wall time, never a result.
const CACHE_DIR = 'node_modules/.cache/wharf'
const LAST_RUN = `${CACHE_DIR}/test-durations.json`
function readDurations() {
  for (const f of [LAST_RUN, 'test/durations.json']) {
    try {
      return JSON.parse(readFileSync(f, 'utf8'))
    } catch {
      // try the next one
    }
  }
  return {}
}
const known = readDurations()

const filter = process.argv.slice(2)
let files = [...walk('src'), ...walk('test')].sort()
if (filter.length) files = files.filter((f) => filter.some((x) => f.includes(x)))
const queue = [...files].sort((a, b) => (known[b] ?? 0) - (known[a] ?? 0))
const concurrency = Math.max(1, Number(process.env.WHARF_TEST_CONCURRENCY ?? '2') || 2)

const started = Date.now()
if (!useTsx) await transpile()
const results = []
const totals = { tests: 0, pass: 0, fail: 0, skipped: 0, todo: 0, cancelled: 0 }

function runOne(file) {
  return new Promise((resolve) => {
    const t0 = Date.now()
    const args = useTsx ? ['--import', 'tsx', file] : ['--enable-source-maps', join(BUILD, file.replace(/\.ts$/, '.js'))]
    const child = spawn(process.execPath, ['--test-reporter=spec', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, FORCE_COLOR: process.stdout.isTTY ? '1' : '0' },
    })
    const chunks = []
    child.stdout.on('data', (c) => chunks.push(c))
    child.stderr.on('data', (c) => chunks.push(c))
    child.on('close', (code, signal) => {
      const seconds = (Date.now() - t0) / 1000
      const output = Buffer.concat(chunks).toString('utf8')
      const counts = {}
      // The spec reporter ends with "ℹ tests 12", "ℹ pass 12", ... lines.
      for (const m of output.matchAll(/^ℹ (tests|pass|fail|skipped|todo|cancelled) (\d+)$/gm)) counts[m[1]] = Number(m[2])
      const ok = code === 0 && !signal && counts.tests !== undefined
      resolve({ file, seconds, ok, code, signal, output, counts })
    })
  })
}

async function worker() {
  for (let file = queue.shift(); file; file = queue.shift()) {
    const r = await runOne(file)
    results.push(r)
    for (const k of Object.keys(totals)) totals[k] += r.counts[k] ?? 0
    process.stdout.write(`\n■ ${r.file} (${r.seconds.toFixed(1)} s)\n${r.output}`)
    if (!r.ok) {
      const why = r.signal ? `killed by ${r.signal}` : r.counts.tests === undefined ? `exit ${r.code}, no test summary` : `exit ${r.code}`
      process.stdout.write(`✖ ${r.file} failed (${why})\n`)
    }
  }
}

await Promise.all(Array.from({ length: Math.min(concurrency, files.length) }, worker))

const wall = (Date.now() - started) / 1000
const failed = results.filter((r) => !r.ok)
const slowest = [...results].sort((a, b) => b.seconds - a.seconds).slice(0, 12)
console.log(`\n── ${results.length} files, ${concurrency} at a time, ${wall.toFixed(0)} s ──`)
console.log(Object.entries(totals).map(([k, v]) => `${k} ${v}`).join(', '))
console.log('slowest files: ' + slowest.map((r) => `${r.file} ${r.seconds.toFixed(0)} s`).join(', '))
if (failed.length) {
  console.log(`failed files (${failed.length}):`)
  for (const r of failed) console.log(`  ${r.file}`)
}
if (!filter.length && !failed.length) {
  const out = Object.fromEntries(results.map((r) => [r.file, Math.round(r.seconds)]).sort((a, b) => a[0].localeCompare(b[0])))
  try {
    mkdirSync(CACHE_DIR, { recursive: true })
    writeFileSync(LAST_RUN, JSON.stringify(out, null, 2) + '\n')
  } catch {
    // a read-only checkout: the hint stays as it was
  }
}
process.exit(failed.length || totals.fail ? 1 : 0)
