import assert from 'node:assert/strict'
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import yauzl from 'yauzl'
import { packModule } from './pack.js'
import { checkModuleZip } from './module-zip.js'
import { ModuleZipError } from './errors.js'

let tmp: string
before(async () => { tmp = await mkdtemp(join(tmpdir(), 'wharf-gopack-')) })
after(async () => { await rm(tmp, { recursive: true, force: true }) })

let counter = 0
async function makeTree(files: Record<string, string>): Promise<string> {
  const root = join(tmp, `mod${counter++}`)
  for (const [rel, content] of Object.entries(files)) {
    await mkdir(dirname(join(root, rel)), { recursive: true })
    await writeFile(join(root, rel), content)
  }
  return root
}

async function zipNames(file: string): Promise<string[]> {
  const zip = await yauzl.openPromise(file, { lazyEntries: true })
  const names: string[] = []
  for await (const entry of zip.eachEntry()) names.push(entry.fileName)
  return names
}

const GO_MOD = 'module example.com/m\n\ngo 1.21\n'

describe('packModule', () => {
  test('packs like the go command and the result passes checkModuleZip', async () => {
    const root = await makeTree({
      'go.mod': GO_MOD,
      'main.go': 'package m\n',
      'docs/README.md': '# m\n',
      '.git/HEAD': 'ref: refs/heads/main\n',
      '.git/config': '[core]\n',
      '.hg_archival.txt': 'repo: x\n',
      'bad:name.go': 'package m\n',
      'vendor/modules.txt': '# example.com/x v1.0.0\n',
      'vendor/vendor.go': 'package vendor\n',
      'vendor/x/y.go': 'package x\n',
      'sub/go.mod': 'module example.com/m/sub\n',
      'sub/a.go': 'package sub\n',
      'other/GO.MOD': 'module example.com/m/other\n',
      'other/x.go': 'package other\n',
    })
    await symlink('main.go', join(root, 'link.go'))
    const output = join(tmp, 'm.zip')
    const result = await packModule(root, 'v1.2.3', output)

    assert.equal(result.module, 'example.com/m')
    assert.equal(result.version, 'v1.2.3')
    assert.equal(result.file, output)
    assert.deepEqual(result.included, ['docs/README.md', 'go.mod', 'main.go', 'vendor/modules.txt', 'vendor/vendor.go'])
    assert.deepEqual(result.omitted, [
      { path: '.git', reason: 'directory is a version control repository' },
      { path: 'link.go', reason: 'not a regular file' },
      { path: 'sub', reason: 'directory is in another module' },
      { path: 'vendor/x/y.go', reason: 'file is in vendor directory' },
      { path: '.hg_archival.txt', reason: "file is inserted by 'hg archive' and is always omitted" },
      { path: 'bad:name.go', reason: `malformed file path "bad:name.go": invalid char ':'` },
      { path: 'other/GO.MOD', reason: 'file is in another module' },
      { path: 'other/x.go', reason: 'file is in another module' },
    ])
    assert.deepEqual(await zipNames(output), result.included.map((p) => `example.com/m@v1.2.3/${p}`))
    assert.deepEqual(await checkModuleZip(output), {
      ok: true, module: 'example.com/m', version: 'v1.2.3', goMod: GO_MOD, goModSynthesized: false, files: 5,
    })
  })

  test('go 1.24 leaves vendor/modules.txt out too', async () => {
    const root = await makeTree({ 'go.mod': 'module example.com/m\n\ngo 1.24\n', 'm.go': 'package m\n', 'vendor/modules.txt': '#\n' })
    const result = await packModule(root, 'v0.1.0', join(tmp, 'go124.zip'))
    assert.deepEqual(result.included, ['go.mod', 'm.go'])
    assert.deepEqual(result.omitted, [{ path: 'vendor/modules.txt', reason: 'file is in vendor directory' }])
    assert.equal((await checkModuleZip(result.file)).files, 2)
  })

  test('packing is reproducible, and major version modules get their suffix', async () => {
    const root = await makeTree({ 'go.mod': 'module example.com/m/v2\n', 'm.go': 'package m\n' })
    const a = await packModule(root, 'v2.0.0', join(tmp, 'a.zip'))
    const b = await packModule(root, 'v2.0.0', join(tmp, 'b.zip'))
    assert.deepEqual(await readFile(a.file), await readFile(b.file))
    assert.deepEqual(await zipNames(a.file), ['example.com/m/v2@v2.0.0/go.mod', 'example.com/m/v2@v2.0.0/m.go'])
  })

  test('refuses what cannot make a module zip', async () => {
    const isZipError = (rule: string, message: RegExp) => (err: unknown) =>
      err instanceof ModuleZipError && err.rule === rule && message.test(err.message)
    const plain = await makeTree({ 'go.mod': GO_MOD, 'm.go': 'package m\n' })
    await assert.rejects(packModule(plain, 'v2.0.0', join(tmp, 'x.zip')), isZipError('version', /should be v0 or v1, not v2/))
    await assert.rejects(packModule(plain, 'v1.0', join(tmp, 'x.zip')), isZipError('version', /not canonical/))
    const noGoMod = await makeTree({ 'm.go': 'package m\n' })
    await assert.rejects(packModule(noGoMod, 'v1.0.0', join(tmp, 'x.zip')), isZipError('pack', /no go\.mod in /))
    const noModule = await makeTree({ 'go.mod': 'go 1.21\n' })
    await assert.rejects(packModule(noModule, 'v1.0.0', join(tmp, 'x.zip')), isZipError('go-mod', /no module directive/))
    const badPath = await makeTree({ 'go.mod': 'module example/m\n' })
    await assert.rejects(packModule(badPath, 'v1.0.0', join(tmp, 'x.zip')), isZipError('module-path', /missing dot/))
    const collide = await makeTree({ 'go.mod': GO_MOD, 'A.go': 'package m\n', 'a.go': 'package m\n' })
    await assert.rejects(packModule(collide, 'v1.0.0', join(tmp, 'x.zip')), isZipError('case-collision', /"A\.go" and "a\.go"/))
  })
})
