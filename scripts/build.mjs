// Compiles src/ to dist/ with tsc (emit only: `npm run lint` does the type check), copies the web
// assets, and writes a stamp: the SHA-256 of every input. ensureBuilt() rebuilds only when the stamp
// differs from the sources, so `npm start` after a `git pull` never runs stale code, and a start with
// nothing changed costs one hash of the sources (a few ms). `node scripts/build.mjs` builds when stale;
// `--force` always. Two processes building at once each build into their own folder; the last rename
// wins and both results are the same.
import { createHash, randomUUID } from 'node:crypto'
import { spawnSync } from 'node:child_process'
import { cpSync, existsSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
export const DIST = path.join(ROOT, 'dist')
const distOf = (root) => path.join(root, 'dist')
const STAMP = '.build-stamp'
const CONFIG_FILES = ['tsconfig.json', 'tsconfig.build.json', 'package.json', 'scripts/build.mjs']

function walk(dir, out) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name)
    if (e.isDirectory()) walk(p, out)
    else if (e.isFile() && !/\.(test|contract)\.ts$/.test(e.name)) out.push(p)
  }
  return out
}

/** SHA-256 over the names and contents of every input of the build. */
export function sourceHash(root = ROOT) {
  const h = createHash('sha256')
  const files = [...walk(path.join(root, 'src'), []), ...CONFIG_FILES.map((f) => path.join(root, f))].sort()
  for (const f of files) {
    h.update(path.relative(root, f)).update('\0').update(readFileSync(f)).update('\0')
  }
  return h.digest('hex')
}

export function isFresh(root = ROOT, hash = sourceHash(root)) {
  try {
    return readFileSync(path.join(distOf(root), STAMP), 'utf8').trim() === hash
  } catch {
    return false
  }
}

/** Path of tsc, or undefined when typescript is not installed (e.g. `npm ci --omit=dev`). */
function tscPath() {
  try {
    return createRequire(import.meta.url).resolve('typescript/bin/tsc')
  } catch {
    return undefined
  }
}

/** Builds dist/. Returns false (and says why on stderr) when it cannot. */
export function build(root = ROOT, hash = sourceHash(root)) {
  const dist = distOf(root)
  const tsc = tscPath()
  if (!tsc) {
    process.stderr.write('wharf: typescript is not installed; cannot compile src/ to dist/\n')
    return false
  }
  const tmp = path.join(root, `.dist-${process.pid}-${randomUUID().slice(0, 8)}`)
  try {
    // --noCheck: emit only (seconds instead of a minute); type errors are the lint's job.
    const r = spawnSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.build.json'), '--noCheck', '--outDir', tmp],
      { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' })
    if (r.status !== 0 || !existsSync(path.join(tmp, 'main.js'))) {
      process.stderr.write(`wharf: tsc failed (exit ${r.status}):\n${r.stdout}${r.stderr}`)
      return false
    }
    cpSync(path.join(root, 'src/web/assets'), path.join(tmp, 'web/assets'), { recursive: true })
    writeFileSync(path.join(tmp, STAMP), `${hash}\n`)
    // Swap in: move the old dist aside first (rename cannot replace a non-empty folder).
    const old = `${tmp}-old`
    try {
      renameSync(dist, old)
    } catch (err) {
      if (err.code !== 'ENOENT') throw err
    }
    try {
      renameSync(tmp, dist)
    } catch (err) {
      // Another build got there between our two renames; fine when it built the same sources.
      if (!isFresh(root, hash)) throw err
    }
    rmSync(old, { recursive: true, force: true })
    return true
  } catch (err) {
    process.stderr.write(`wharf: could not write ${dist}: ${err.message}\n`)
    return false
  } finally {
    rmSync(tmp, { recursive: true, force: true })
  }
}

/** dist/ up to date with src/ (building it when not); false when it could not be built. */
export function ensureBuilt(root = ROOT) {
  const hash = sourceHash(root)
  return isFresh(root, hash) || build(root, hash)
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const force = process.argv.includes('--force')
  const hash = sourceHash()
  if (!force && isFresh(ROOT, hash)) process.exit(0)
  // Without typescript (a production install) `npm start` falls back to tsx: not an install failure.
  if (!tscPath()) {
    process.stderr.write('wharf: typescript is not installed; dist/ not built (npm start will use tsx)\n')
    process.exit(0)
  }
  process.exit(build(ROOT, hash) ? 0 : 1)
}
