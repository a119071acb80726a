// Differential test: the go command is the judge of module zips. Mutated valid zips are checked by
// Wharf; every one Wharf accepts is served to the real go command from a file GOPROXY, and go must
// download and extract it without error and see exactly the files (and go.mod) Wharf saw.
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile, open } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { test } from 'node:test'
import fc from 'fast-check'
import { checkModuleZip } from '../../src/registries/go/module-zip.js'
import { checkZipLayout } from '../../src/registries/go/zip-layout.js'
import { applyAll, baseZip, mutationsArb, SHAPES } from '../helpers/zip-mutate.js'

const hasGo = spawnSync('go', ['version'], { stdio: 'ignore' }).status === 0
const COUNT = Number(process.env.WHARF_ZIP_DIFF_COUNT ?? 4000)
const MODULE = 'example.com/fz'

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = []
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) out.push(relative(dir, join(e.parentPath, e.name)))
  }
  return out.sort()
}

function goDownload(cwd: string, env: NodeJS.ProcessEnv, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn('go', ['mod', 'download', '-json', ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    p.stdout.on('data', (c: Buffer) => { out += c.toString() })
    p.stderr.on('data', () => {})
    p.on('error', reject)
    p.on('close', () => resolve(out))                        // exit 1 when any module failed: read the JSON
  })
}

/** Splits go's stream of pretty-printed JSON objects. */
function jsonObjects(text: string): Record<string, unknown>[] {
  return text.split(/\n(?=\{)/).filter((s) => s.trim()).map((s) => JSON.parse(s) as Record<string, unknown>)
}

test('every mutated module zip Wharf accepts, the go command downloads and reads the same way', {
  skip: !hasGo && process.env.CI !== 'true' ? 'the go command is not installed' : false,
  timeout: 15 * 60_000,
}, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'wharf-zipdiff-'))
  try {
    const proxy = join(dir, 'proxy', MODULE, '@v')
    await mkdir(proxy, { recursive: true })
    const work = join(dir, 'work')
    await mkdir(work)
    const samples = fc.sample(mutationsArb, { numRuns: COUNT, seed: 20261201 })
    const accepted = new Map<string, { files: string[]; goMod: string; synthesized: boolean }>()
    for (let i = 0; i < COUNT; i++) {
      const version = `v1.0.${i}`
      const base = await baseZip(MODULE, version, i % SHAPES)
      const zip = i % 10 === 0 ? base : applyAll(base, samples[i]!)       // one in ten unmutated: a control
      const file = join(proxy, `${version}.zip`)
      await writeFile(file, zip)
      const info = await checkModuleZip(file).catch(() => undefined)
      if (!info) continue
      const fh = await open(file)
      const layout = await checkZipLayout(fh, zip.length).finally(() => fh.close())
      const prefix = `${MODULE}@${version}/`
      const files = layout.map((e) => e.nameRaw.toString('utf8')).filter((n) => !n.endsWith('/') && n !== prefix)
        .map((n) => n.slice(prefix.length)).sort()
      accepted.set(version, { files, goMod: info.goMod, synthesized: info.goModSynthesized })
      await writeFile(join(proxy, `${version}.info`), JSON.stringify({ Version: version, Time: '2020-01-01T00:00:00Z' }))
      await writeFile(join(proxy, `${version}.mod`), info.goMod)
    }
    await writeFile(join(proxy, 'list'), [...accepted.keys()].join('\n') + '\n')
    const mutantsAccepted = [...accepted.keys()].filter((v) => Number(v.split('.')[2]) % 10 !== 0).length
    console.log(`# ${COUNT} zips (${COUNT - Math.ceil(COUNT / 10)} mutated): Wharf accepted ${accepted.size} (${mutantsAccepted} mutants)`)
    assert.ok(accepted.size >= Math.ceil(COUNT / 10), 'every unmutated control zip is accepted')

    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH, HOME: dir, GOPATH: join(dir, 'gopath'), GOMODCACHE: join(dir, 'modcache'),
      GOCACHE: join(dir, 'gocache'), GOPROXY: `file://${join(dir, 'proxy')}`, GOSUMDB: 'off', GOFLAGS: '-modcacherw',
      GO111MODULE: 'on', GONOSUMDB: '*', GOPRIVATE: '', GOTOOLCHAIN: 'local',
    }
    const versions = [...accepted.keys()]
    let checked = 0
    for (let i = 0; i < versions.length; i += 200) {
      const batch = versions.slice(i, i + 200)
      const results = jsonObjects(await goDownload(work, env, batch.map((v) => `${MODULE}@${v}`)))
      assert.equal(results.length, batch.length, 'go reports on every module asked for')
      for (const r of results) {
        const version = String(r.Version)
        const want = accepted.get(version)
        assert.ok(want, `go reported ${version}`)
        assert.equal(r.Error, undefined, `go refused ${version}, which Wharf accepted: ${String(r.Error)}`)
        const got = await filesUnder(String(r.Dir))
        assert.deepEqual(got, want.files, `go extracted other files from ${version}`)
        if (!want.synthesized) assert.equal(await readFile(join(String(r.Dir), 'go.mod'), 'utf8'), want.goMod, `go.mod of ${version}`)
        checked++
      }
    }
    assert.equal(checked, accepted.size)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})
