// Long run of the module-zip property (test/property/parsers.test.ts) over many mutated zips:
//   node --import tsx scripts/fuzz-module-zip.ts [--count 1000000] [--seconds 3600] [--seed N]
// Every input must either be refused with a ModuleZipError or be accepted as exactly what a second,
// independent reader (yauzl from memory, every CRC checked) sees. Prints progress and a summary;
// exits 1 with the counterexample on the first failure.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import fc from 'fast-check'
import { checkModuleZip } from '../src/registries/go/module-zip.js'
import { ModuleZipError } from '../src/registries/go/errors.js'
import { applyAll, baseZip, mutationsArb, SHAPES } from '../test/helpers/zip-mutate.js'
import { independentView } from '../test/helpers/zip-view.js'

const { values } = parseArgs({ options: { count: { type: 'string', default: '1000000' }, seconds: { type: 'string', default: '3600' }, seed: { type: 'string' } } })
const count = Number(values.count)
const deadline = Date.now() + Number(values.seconds) * 1000
const seed = values.seed === undefined ? Date.now() % 2 ** 31 : Number(values.seed)

const dir = await mkdtemp(join(tmpdir(), 'wharf-fuzz-'))
const file = join(dir, 'input.zip')
const bases = await Promise.all(Array.from({ length: SHAPES }, (_, i) => baseZip('example.com/fz', 'v1.0.0', i)))
const stats = { inputs: 0, accepted: 0, refused: 0, timedOut: false }
const rules = new Map<string, number>()
const started = Date.now()
let lastReport = started

try {
  await fc.assert(fc.asyncProperty(fc.integer({ min: 0, max: SHAPES - 1 }), mutationsArb, async (shape, ms) => {
    if (Date.now() > deadline) {
      stats.timedOut = true
      return
    }
    const zip = applyAll(bases[shape]!, ms)
    await writeFile(file, zip)
    stats.inputs++
    try {
      const info = await checkModuleZip(file)
      const view = await independentView(zip)
      if (view.files.length !== info.files) throw new Error(`checker saw ${info.files} files, yauzl ${view.files.length}`)
      if (!info.goModSynthesized && view.goMod !== info.goMod) throw new Error('checker and yauzl read different go.mod files')
      stats.accepted++
    } catch (err) {
      if (!(err instanceof ModuleZipError)) throw err
      stats.refused++
      rules.set(err.rule, (rules.get(err.rule) ?? 0) + 1)
    }
    if (Date.now() - lastReport > 10_000) {
      lastReport = Date.now()
      const rate = stats.inputs / ((lastReport - started) / 1000)
      console.log(`${stats.inputs} inputs, ${stats.accepted} accepted, ${stats.refused} refused, ${rate.toFixed(0)}/s`)
    }
  }), { numRuns: count, seed, endOnFailure: true })
  const secs = (Date.now() - started) / 1000
  console.log(`seed ${seed}: ${stats.inputs} inputs in ${secs.toFixed(0)} s (${(stats.inputs / secs).toFixed(0)}/s), ${stats.accepted} accepted, ${stats.refused} refused${stats.timedOut ? ' (stopped by --seconds)' : ''}; no crash, no disagreement`)
  console.log(`refusals by rule: ${[...rules].sort((a, b) => b[1] - a[1]).map(([r, n]) => `${r} ${n}`).join(', ')}`)
} catch (err) {
  console.error(String(err))
  process.exitCode = 1
} finally {
  await rm(dir, { recursive: true, force: true })
}
