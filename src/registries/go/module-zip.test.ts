import assert from 'node:assert/strict'
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { createWriteStream } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { after, before, describe, test } from 'node:test'
import { checkModuleZip, type ModuleZipLimits } from './module-zip.js'
import { ModuleZipError, type ModuleZipRule } from './errors.js'
import { MAX_GO_MOD, MAX_LICENSE, MAX_ZIP_FILE } from './zip-rules.js'
import { zerosZipStream } from '../../../test/helpers/zeros-zip.js'
import { writeZipFile, type ZipEntry } from '../../../test/helpers/zip-bytes.js'

const MiB = 1 << 20
let dir: string
let counter = 0
before(async () => { dir = await mkdtemp(join(tmpdir(), 'wharf-gozip-')) })
after(async () => { await rm(dir, { recursive: true, force: true }) })

const P = 'example.com/m@v1.0.0/'
const GO_MOD = 'module example.com/m\n\ngo 1.21\n'

/** Writes a zip of the entries (a one-element entry is a directory) and returns its path. */
async function writeZip(entries: readonly ZipEntry[], options: { compress?: boolean } = {}): Promise<string> {
  const file = join(dir, `z${counter++}.zip`)
  await writeZipFile(file, entries, options)
  return file
}

/** A zip with one file holding `size` zero bytes, written to disk from a stream (never in memory). */
async function writeZerosZip(name: string, size: number): Promise<string> {
  const file = join(dir, `z${counter++}.zip`)
  await pipeline(zerosZipStream(name, size), createWriteStream(file))
  return file
}

/**
 * Rewrites the uncompressed size a zip's (last) entry declares, consistently in its central header
 * and its data descriptor (the layout check refuses records that disagree), so only inflating tells.
 */
async function patchDeclaredSize(file: string, declared: number): Promise<string> {
  const buf = await readFile(file)
  const at = buf.lastIndexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]))
  assert.ok(at > 0, 'central directory entry found')
  assert.ok(buf.readUInt16LE(at + 8) & 8, 'the entry has a data descriptor')
  buf.writeUInt32LE(declared, at + 24)
  const descriptor = buf.lastIndexOf(Buffer.from([0x50, 0x4b, 0x07, 0x08]), at)
  assert.equal(descriptor, at - 16, 'data descriptor found right before the central directory')
  buf.writeUInt32LE(declared, descriptor + 12)
  const patched = join(dir, `z${counter++}.zip`)
  await writeFile(patched, buf)
  return patched
}

async function rejects(file: string, rule: ModuleZipRule, message: RegExp, opts?: ModuleZipLimits): Promise<void> {
  await assert.rejects(checkModuleZip(file, opts), (err: unknown) => {
    assert.ok(err instanceof ModuleZipError, `expected a ModuleZipError, got ${String(err)}`)
    assert.equal(err.rule, rule, err.message)
    assert.match(err.message, message)
    return true
  })
}

describe('checkModuleZip: valid zips', () => {
  test('a module with go.mod', async () => {
    const file = await writeZip([
      [P], [P + 'go.mod', GO_MOD], [P + 'LICENSE', 'MIT'], [P + 'main.go', 'package m\n'],
      [P + 'internal/'], [P + 'internal/x.go', 'package internal\n'], [P + 'vendor/modules.txt', '# x\n'],
      [P + 'vendor/vendor.go', 'package vendor\n'], [P + 'pkg/vendor/'],
    ])
    assert.deepEqual(await checkModuleZip(file), {
      ok: true, module: 'example.com/m', version: 'v1.0.0', goMod: GO_MOD, goModSynthesized: false, files: 6,
    })
  })

  test('a module without go.mod gets a synthesized one', async () => {
    const file = await writeZip([['github.com/Foo/bar@v0.1.0-rc.1/bar.go', 'package bar\n']])
    assert.deepEqual(await checkModuleZip(file), {
      ok: true, module: 'github.com/Foo/bar', version: 'v0.1.0-rc.1', goMod: 'module github.com/Foo/bar\n',
      goModSynthesized: true, files: 1,
    })
  })

  test('go.mod in quoted and block form, with comments; its bytes are kept exactly', async () => {
    for (const goMod of [
      '\uFEFF// a comment\nmodule "example.com/m" // trailing\r\n',
      'module (\n\t// Deprecated: use example.com/n\n\texample.com/m\n)\n\nrequire (\n\tmodule v1.0.0\n)\n',
      'module `example.com/m`\n',
    ]) {
      const result = await checkModuleZip(await writeZip([[P + 'go.mod', goMod]]))
      assert.equal(result.goMod, goMod)
    }
  })

  test('major version suffixes, gopkg.in, pseudo-versions and +incompatible', async () => {
    for (const prefix of [
      'example.com/m/v2@v2.3.4/', 'gopkg.in/yaml.v2@v2.4.0/', 'example.com/m@v2.0.0+incompatible/',
      'example.com/m@v0.0.0-20240102150405-abcdef123456/', 'example.com/m/v3@v3.0.1-0.20240102150405-abcdef123456/',
    ]) {
      const result = await checkModuleZip(await writeZip([[prefix + 'x.go', 'package x\n']]))
      assert.equal(`${result.module}@${result.version}/`, prefix)
    }
  })
})

describe('checkModuleZip: prefix, module path and version', () => {
  test('every file under one prefix', async () => {
    await rejects(await writeZip([[P + 'a.go', 'a'], ['example.com/other@v1.0.0/b.go', 'b']]),
      'prefix', /^zip file paths must all start with example\.com\/m@v1\.0\.0\/ \(found "example\.com\/other@v1\.0\.0\/b\.go"\)$/)
    await rejects(await writeZip([[P + 'a.go', 'a'], ['example.com/m@v1.0.1/b.go', 'b']]),
      'prefix', /must all start with example\.com\/m@v1\.0\.0\//)
    await rejects(await writeZip([['go.mod', GO_MOD]]), 'prefix', /first entry is "go\.mod"/)
  })

  test('a valid module path', async () => {
    await rejects(await writeZip([['example/m@v1.0.0/a.go', 'a']]), 'module-path', /missing dot in first path element/)
    await rejects(await writeZip([['Example.com/m@v1.0.0/a.go', 'a']]), 'module-path', /invalid char 'E'/)
    await rejects(await writeZip([['example.com/m/v1@v1.0.0/a.go', 'a']]), 'module-path', /invalid version/)
  })

  test('a canonical version agreeing with the path', async () => {
    await rejects(await writeZip([['example.com/m@v1.0/a.go', 'a']]), 'version', /not canonical \(should be v1\.0\.0\)/)
    await rejects(await writeZip([['example.com/m@v1.0.0+meta/a.go', 'a']]), 'version', /not canonical/)
    await rejects(await writeZip([['example.com/m@1.0.0/a.go', 'a']]), 'version', /not a semantic version/)
    await rejects(await writeZip([['example.com/m/v2@v1.0.0/a.go', 'a']]), 'version',
      /^example\.com\/m\/v2@v1\.0\.0: invalid version: should be v2, not v1$/)
    await rejects(await writeZip([['example.com/m@v2.0.0/a.go', 'a']]), 'version', /should be v0 or v1, not v2/)
  })

  test('+incompatible only without a /vN suffix and from v2 on', async () => {
    await rejects(await writeZip([['example.com/m/v2@v2.0.0+incompatible/a.go', 'a']]), 'version',
      /module path includes a major version suffix/)
    await rejects(await writeZip([['example.com/m@v1.0.0+incompatible/a.go', 'a']]), 'version',
      /major version v1 is compatible/)
  })
})

describe('checkModuleZip: file paths', () => {
  test('file paths must be valid and clean', async () => {
    await rejects(await writeZip([[P + 'a:b.go', 'a']]), 'file-path', /malformed file path "a:b\.go": invalid char ':'/)
    await rejects(await writeZip([[P + 'aux.go', 'a']]), 'file-path', /"aux" disallowed as path element component on Windows/)
    await rejects(await writeZip([[P + 'a/./b.go', 'a']]), 'file-path', /file path is not clean/)
    await rejects(await writeZip([[P + 'a//b.go', 'a']]), 'file-path', /not clean/)
  })

  test('no two paths equal when case-folded', async () => {
    await rejects(await writeZip([[P + 'README.md', 'a'], [P + 'readme.md', 'b']]), 'case-collision',
      /case-insensitive file name collision: "README\.md" and "readme\.md"/)
    await rejects(await writeZip([[P + 'Docs/a.md', 'a'], [P + 'docs/b.md', 'b']]), 'case-collision', /"Docs" and "docs"/)
    await rejects(await writeZip([[P + 'a', 'a'], [P + 'a/b', 'b']]), 'case-collision', /both a file and a directory/)
    await rejects(await writeZip([[P + 'a.go', 'a'], [P + 'a.go', 'b']]), 'case-collision', /multiple entries/)
  })

  test('no files in sub-folders of vendor/ (x/mod/zip isVendoredPackage)', async () => {
    await rejects(await writeZip([[P + 'vendor/example.com/x/x.go', 'x']]), 'vendor', /vendored package: "vendor\/example\.com\/x\/x\.go"/)
    await rejects(await writeZip([[P + 'pkg/vendor/foo/foo.go', 'x']]), 'vendor', /vendored package/)
    // go < 1.24 keeps vendor/modules.txt and flags pkg/vendor/vendor.go; go >= 1.24 the other way round.
    const old = [[P + 'go.mod', GO_MOD], [P + 'vendor/modules.txt', '#'], [P + 'vendor/vendor.go', 'x']] as const
    assert.equal((await checkModuleZip(await writeZip(old))).files, 3)
    await rejects(await writeZip([[P + 'go.mod', GO_MOD], [P + 'pkg/vendor/vendor.go', 'x']]), 'vendor', /pkg\/vendor\/vendor\.go/)
    const go124 = 'module example.com/m\n\ngo 1.24.0\n'
    await rejects(await writeZip([[P + 'go.mod', go124], [P + 'vendor/modules.txt', '#']]), 'vendor', /vendor\/modules\.txt/)
    assert.equal((await checkModuleZip(await writeZip([[P + 'go.mod', go124], [P + 'pkg/vendor/vendor.go', 'x']]))).files, 2)
  })

  test('no nested module', async () => {
    await rejects(await writeZip([[P + 'go.mod', GO_MOD], [P + 'sub/go.mod', 'module example.com/m/sub\n']]),
      'nested-module', /go\.mod file not in module root directory: "sub\/go\.mod"/)
    await rejects(await writeZip([[P + 'sub/GO.MOD', 'x']]), 'nested-module', /not in module root/)
    await rejects(await writeZip([[P + 'Go.Mod', GO_MOD]]), 'nested-module', /go\.mod files must have lowercase names/)
  })
})

describe('checkModuleZip: go.mod', () => {
  test('the root go.mod declares exactly the module path', async () => {
    await rejects(await writeZip([[P + 'go.mod', 'module example.com/other\n']]), 'go-mod',
      /^go\.mod declares module "example\.com\/other", but the zip is for module "example\.com\/m"$/)
    await rejects(await writeZip([[P + 'go.mod', 'module example.com/M\n']]), 'go-mod', /declares module/)
    await rejects(await writeZip([[P + 'go.mod', 'go 1.21\n']]), 'go-mod', /no module directive/)
    await rejects(await writeZip([[P + 'go.mod', 'module a.b/c\nmodule example.com/m\n']]), 'go-mod', /repeated module statement/)
    await rejects(await writeZip([[P + 'go.mod', 'module "example.com/m\n']]), 'go-mod', /unterminated/)
    await rejects(await writeZip([[P + 'go.mod', Buffer.from([0x6d, 0xff, 0x0a])]]), 'go-mod', /not valid UTF-8/)
  })
})

describe('checkModuleZip: size caps, counted on inflated bytes', () => {
  test('the default caps are those of golang.org/x/mod/zip', () => {
    assert.equal(MAX_ZIP_FILE, 500 * MiB)
    assert.equal(MAX_GO_MOD, 16 * MiB)
    assert.equal(MAX_LICENSE, 16 * MiB)
  })

  test('go.mod over 16 MiB', async () => {
    const big = Buffer.alloc(16 * MiB + 1, '\n')
    Buffer.from('module example.com/m\n').copy(big)
    await rejects(await writeZip([[P + 'go.mod', big]]), 'too-large', /go\.mod file too large \(max size is 16777216 bytes\)/)
  })

  test('injectable caps for go.mod, LICENSE and the total', async () => {
    const goMod = `module example.com/m\n${'// padding\n'.repeat(200)}`
    await rejects(await writeZip([[P + 'go.mod', goMod]]), 'too-large', /go\.mod file too large \(max size is 1024 bytes\)/, { maxGoMod: 1024 })
    await rejects(await writeZip([[P + 'LICENSE', 'x'.repeat(2048)]]), 'too-large', /LICENSE file too large/, { maxLicense: 1024 })
    const three = await writeZip([[P + 'a', 'x'.repeat(3000)], [P + 'b', 'x'.repeat(3000)], [P + 'c', 'x'.repeat(3000)]])
    await rejects(three, 'too-large', /total uncompressed size of module contents too large \(max size is 8192 bytes\)/, { maxTotal: 8192 })
    assert.equal((await checkModuleZip(three, { maxTotal: 9000 })).files, 3)
    await rejects(three, 'too-large', /module zip file is too large/, { maxTotal: 100 })
  })

  describe('zip bombs', () => {
    let bomb: string
    const bombSize = MAX_ZIP_FILE + 20 * MiB
    before(async () => { bomb = await writeZerosZip(P + 'zeros.bin', bombSize) })

    /** Runs checkModuleZip, sampling the resident set size; returns the rejection and the peak growth. */
    async function measure(file: string) {
      const start = process.memoryUsage().rss
      let peak = start
      const timer = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss) }, 2)
      const err = await checkModuleZip(file).then(() => undefined, (e: unknown) => e)
      clearInterval(timer)
      peak = Math.max(peak, process.memoryUsage().rss)
      return { err, grewMiB: (peak - start) / MiB }
    }

    test('a tiny zip inflating past 500 MiB is refused in constant memory', async () => {
      const zipSize = (await readFile(bomb)).length
      assert.ok(zipSize < 5 * MiB, `bomb is ${zipSize} bytes`)
      const { err, grewMiB } = await measure(bomb)
      assert.ok(err instanceof ModuleZipError && err.rule === 'too-large', String(err))
      assert.match(err.message, /total uncompressed size of module contents too large \(max size is 524288000 bytes\)/)
      assert.ok(grewMiB < 100, `rss grew ${grewMiB} MiB`)
    })

    test('headers that understate the size do not help: the inflated bytes are counted', async () => {
      // Claims 10 MiB: stopped right after 10 MiB of output.
      const small = await measure(await patchDeclaredSize(bomb, 10 * MiB))
      assert.ok(small.err instanceof ModuleZipError && small.err.rule === 'not-zip', String(small.err))
      assert.match(small.err.message, /entry "zeros\.bin": too many bytes/)
      // Claims 200 MiB, under the cap: inflated and thrown away as it streams, memory stays flat.
      const big = await measure(await patchDeclaredSize(bomb, 200 * MiB))
      assert.ok(big.err instanceof ModuleZipError && big.err.rule === 'not-zip', String(big.err))
      assert.ok(big.grewMiB < 100, `rss grew ${big.grewMiB} MiB`)
    })
  })
})

describe('checkModuleZip: not a zip, corrupt, empty', () => {
  test('bytes that are not a zip', async () => {
    const file = join(dir, 'not.zip')
    await writeFile(file, 'module example.com/m\n')
    await rejects(file, 'not-zip', /^not a valid zip file: too short to be a zip file|^not a valid zip file: the end of central directory record is not the last 22 bytes/)
    await writeFile(file, '')
    await rejects(file, 'not-zip', /^not a valid zip file: /)
  })

  test('a truncated zip', async () => {
    const whole = await readFile(await writeZip([[P + 'go.mod', GO_MOD], [P + 'a.go', 'package m\n'.repeat(100)]]))
    const file = join(dir, 'truncated.zip')
    await writeFile(file, whole.subarray(0, whole.length - 30))
    await rejects(file, 'not-zip', /^not a valid zip file: /)
  })

  test('file data that fails its CRC-32', async () => {
    const buf = await readFile(await writeZip([[P + 'a.go', 'package m // original\n']], { compress: false }))
    const at = buf.indexOf('original')
    buf.write('ORIGINAL', at)
    const file = join(dir, 'crc.zip')
    await writeFile(file, buf)
    await rejects(file, 'not-zip', /entry "a\.go" fails its CRC-32 check/)
  })

  test('an empty zip, or one with only directories', async () => {
    await rejects(await writeZip([]), 'empty', /^the zip file is empty$/)
    await rejects(await writeZip([[P], [P + 'a/']]), 'empty', /holds no files under example\.com\/m@v1\.0\.0\//)
  })

  test('a missing file is an I/O error, not a verdict on the zip', async () => {
    await assert.rejects(checkModuleZip(join(dir, 'missing.zip')), { code: 'ENOENT' })
  })

  test('no file descriptors are left open, whatever the outcome', async () => {
    const fds = async () => (await readdir('/proc/self/fd').catch(() => [])).length
    const files = [
      await writeZip([[P + 'go.mod', GO_MOD]]),
      await writeZip([[P + 'a:b', 'x']]),
      await writeZip([[P + 'a', 'x'.repeat(5000)], [P + 'b', 'y']]),
    ]
    const before = await fds()
    for (let i = 0; i < 20; i++) {
      for (const f of files) await checkModuleZip(f, { maxTotal: 4096 }).catch(() => undefined)
    }
    await new Promise((resolve) => setTimeout(resolve, 50))
    assert.ok(await fds() <= before, `open descriptors: ${before} before, ${await fds()} after`)
  })
})
