// Property-based tests (fast-check) of the pure parsers that face the network: module zips, Go
// semantic versions, the go command's case encoding, and Generic name/version/file-name rules.
// Bounded runs here; scripts/fuzz-module-zip.ts runs the zip property for a million inputs.
import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import fc from 'fast-check'
import { checkModuleZip } from '../../src/registries/go/module-zip.js'
import { ModuleZipError } from '../../src/registries/go/errors.js'
import { canonical, compare, isValid, sort } from '../../src/registries/go/semver.js'
import { escapePath, escapeVersion, unescapePath, unescapeVersion } from '../../src/registries/go/module-path.js'
import { isValidFileName, isValidPackageName, isValidVersion } from '../../src/registries/generic/validate.js'
import { applyAll, baseZip, mutationsArb, SHAPES } from '../helpers/zip-mutate.js'
import { independentView } from '../helpers/zip-view.js'

const RUNS = Number(process.env.WHARF_PROPERTY_RUNS ?? 300)
let dir: string
let n = 0
before(async () => { dir = await mkdtemp(join(tmpdir(), 'wharf-prop-')) })
after(async () => { await rm(dir, { recursive: true, force: true }) })

describe('module zips', () => {
  test('a mutated valid zip is refused with a ModuleZipError or accepted as exactly what a second reader sees', async () => {
    await fc.assert(fc.asyncProperty(fc.integer({ min: 0, max: SHAPES - 1 }), mutationsArb, async (shape, ms) => {
      const zip = applyAll(await baseZip('example.com/fz', 'v1.0.0', shape), ms)
      const file = join(dir, `m${n++}.zip`)
      await writeFile(file, zip)
      let info
      try {
        info = await checkModuleZip(file)
      } catch (err) {
        if (err instanceof ModuleZipError) return
        throw err                                            // anything else would be a 500
      }
      // Accepted: yauzl, reading the same bytes from memory with every check it has, finds the same
      // files, each inflating to its declared size and CRC-32, and the same go.mod.
      const view = await independentView(zip)
      assert.equal(view.files.length, info.files)
      assert.ok(view.files.every((f) => f.startsWith('example.com/fz@v1.0.0/')))
      if (!info.goModSynthesized) assert.equal(view.goMod, info.goMod)
    }), { numRuns: RUNS })
  })
})

// Versions built from the grammar of semver, with the parts most likely to confuse an ordering.
const ident = fc.oneof(fc.constantFrom('0', '1', '2', '10', '11', 'alpha', 'beta', 'rc', 'a1', '1a', 'x-y', '-'), fc.stringMatching(/^[0-9A-Za-z-]{1,4}$/))
const num = fc.oneof(fc.constantFrom('0', '1', '2', '9', '10', '01'), fc.nat({ max: 30 }).map(String))
const versionArb = fc.tuple(num, fc.option(num), fc.option(num), fc.option(fc.array(ident, { minLength: 1, maxLength: 3 })), fc.option(fc.array(ident, { minLength: 1, maxLength: 2 })))
  .map(([a, b, c, pre, meta]) => `v${a}${b === null ? '' : `.${b}`}${b === null || c === null ? '' : `.${c}`}${pre ? `-${pre.join('.')}` : ''}${meta ? `+${meta.join('.')}` : ''}`)

describe('Go semantic versions', () => {
  test('compare is a total order: reflexive, antisymmetric, transitive; equal exactly when canonical forms are', () => {
    fc.assert(fc.property(versionArb, versionArb, versionArb, (a, b, c) => {
      assert.equal(compare(a, a), 0)
      assert.ok(compare(a, b) === -compare(b, a), `${a} vs ${b}`)
      if (compare(a, b) <= 0 && compare(b, c) <= 0) assert.ok(compare(a, c) <= 0, `${a} ≤ ${b} ≤ ${c}`)
      if (isValid(a) && isValid(b)) assert.equal(compare(a, b) === 0, canonical(a) === canonical(b), `${a} vs ${b}`)
      if (isValid(a) !== isValid(b)) assert.equal(compare(a, b), isValid(a) ? 1 : -1, 'invalid versions sort first')
    }), { numRuns: RUNS * 5 })
  })

  test('sorting any shuffle of the x/mod table gives the table order', () => {
    // golang.org/x/mod/semver's ordered table (a subset of semver.test.ts's), ascending.
    const ordered = ['v1.0.0-alpha', 'v1.0.0-alpha.1', 'v1.0.0-alpha.beta', 'v1.0.0-beta', 'v1.0.0-beta.2', 'v1.0.0-beta.11',
      'v1.0.0-rc.1', 'v1.0.0', 'v1.2.0', 'v1.2.3-456', 'v1.2.3-456.789', 'v1.2.3-456-789', 'v1.2.3-456a', 'v1.2.3-pre',
      'v1.2.3-pre.1', 'v1.2.3-zzz', 'v1.2.3', 'v1.2.3+meta-pre']
    fc.assert(fc.property(fc.shuffledSubarray(ordered, { minLength: 2 }), (subset) => {
      const expected = ordered.filter((v) => subset.includes(v))
      const got = sort([...subset].reverse())
      assert.deepEqual(got.map(canonical), expected.map(canonical))
    }), { numRuns: RUNS })
  })
})

describe("the go command's case encoding", () => {
  const elem = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._~-]{0,8}$/).filter((s) => !s.endsWith('.'))
  const modulePath = fc.tuple(fc.stringMatching(/^[a-z0-9]{1,8}\.[a-z]{2,4}$/), fc.array(elem, { minLength: 1, maxLength: 3 }))
    .map(([host, rest]) => [host, ...rest].join('/'))

  test('escape then unescape is the identity; escaped paths have no upper case', () => {
    fc.assert(fc.property(modulePath, (p) => {
      let escaped: string
      try {
        escaped = escapePath(p)
      } catch {
        return                                               // not a valid module path (e.g. a reserved name): nothing to encode
      }
      assert.equal(/[A-Z]/.test(escaped), false)
      assert.equal(unescapePath(escaped), p)
    }), { numRuns: RUNS * 3 })
  })

  test('versions round trip, and an upper-case letter in an escaped string is refused', () => {
    fc.assert(fc.property(versionArb, (v) => {
      if (!v.includes('+')) assert.equal(unescapeVersion(escapeVersion(v)), v)
      if (/[a-z]/.test(v)) assert.throws(() => unescapeVersion(v.replace(/[a-z]/, (c) => c.toUpperCase())))
    }), { numRuns: RUNS })
  })
})

describe('Generic names (docs/http.md)', () => {
  const chars = fc.constantFrom(...'aZ09._-+=:;()[]{}~!@#$%^& /\\\t\n"\'<>?*|,`é\u0000\u007f'.split(''))
  const str = fc.array(chars, { minLength: 0, maxLength: 6 }).map((a) => a.join(''))

  test('package names: one or more of A-Z a-z 0-9 . _ - +; one character must be a letter or digit; not ..', () => {
    fc.assert(fc.property(str, (s) => {
      const spec = s.length > 0 && /^[A-Za-z0-9._+-]+$/.test(s) && s !== '..' && (s.length > 1 || /^[A-Za-z0-9]$/.test(s))
      assert.equal(isValidPackageName(s), spec, JSON.stringify(s))
    }), { numRuns: RUNS * 3 })
  })

  test('versions: non-empty, no leading or trailing white space, no control characters', () => {
    fc.assert(fc.property(str, (s) => {
      // eslint-disable-next-line no-control-regex
      const spec = s.length > 0 && s.trim() === s && !/[\u0000-\u001f\u007f]/.test(s)
      assert.equal(isValidVersion(s), spec, JSON.stringify(s))
    }), { numRuns: RUNS * 3 })
  })

  test("file names: Gitea 1.22's set, no leading or trailing white space, not . or ..", () => {
    fc.assert(fc.property(str, (s) => {
      const spec = s.length > 0 && /^[A-Za-z0-9._+\-=:;()[\]{}~!@#$%^& ]+$/.test(s) && s.trim() === s && s !== '.' && s !== '..'
      assert.equal(isValidFileName(s), spec, JSON.stringify(s))
    }), { numRuns: RUNS * 3 })
  })
})
