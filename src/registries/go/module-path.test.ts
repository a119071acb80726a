import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import {
  canonicalVersion, check, checkFilePath, checkImportPath, checkPath, checkPathMajor, escapePath,
  escapeVersion, splitPathVersion, unescapePath, unescapeVersion,
} from './module-path.js'
import { InvalidPathError, InvalidVersionError } from './errors.js'

const passes = (f: () => void): boolean => {
  try {
    f()
    return true
  } catch (err) {
    if (err instanceof InvalidPathError || err instanceof InvalidVersionError) return false
    throw err
  }
}

// golang.org/x/mod/module/module_test.go checkTests: (path, version, ok).
const checkTests: ReadonlyArray<readonly [string, string, boolean]> = [
  ['rsc.io/quote', '0.1.0', false],
  ['rsc io/quote', 'v1.0.0', false],
  ['github.com/go-yaml/yaml', 'v0.8.0', true],
  ['github.com/go-yaml/yaml', 'v1.0.0', true],
  ['github.com/go-yaml/yaml', 'v2.0.0', false],
  ['github.com/go-yaml/yaml', 'v2.1.5', false],
  ['github.com/go-yaml/yaml', 'v3.0.0', false],
  ['github.com/go-yaml/yaml/v2', 'v1.0.0', false],
  ['github.com/go-yaml/yaml/v2', 'v2.0.0', true],
  ['github.com/go-yaml/yaml/v2', 'v2.1.5', true],
  ['github.com/go-yaml/yaml/v2', 'v3.0.0', false],
  ['gopkg.in/yaml.v0', 'v0.8.0', true],
  ['gopkg.in/yaml.v0', 'v1.0.0', false],
  ['gopkg.in/yaml.v0', 'v2.0.0', false],
  ['gopkg.in/yaml.v0', 'v2.1.5', false],
  ['gopkg.in/yaml.v0', 'v3.0.0', false],
  ['gopkg.in/yaml.v1', 'v0.8.0', false],
  ['gopkg.in/yaml.v1', 'v1.0.0', true],
  ['gopkg.in/yaml.v1', 'v2.0.0', false],
  ['gopkg.in/yaml.v1', 'v2.1.5', false],
  ['gopkg.in/yaml.v1', 'v3.0.0', false],
  // gopkg.in .v1 means v1 only, but old v0.0.0- pseudo-versions for it stay valid.
  ['gopkg.in/check.v1', 'v0.0.0', false],
  ['gopkg.in/check.v1', 'v0.0.0-20160102150405-abcdef123456', true],
  ['gopkg.in/yaml.v2', 'v1.0.0', false],
  ['gopkg.in/yaml.v2', 'v2.0.0', true],
  ['gopkg.in/yaml.v2', 'v2.1.5', true],
  ['gopkg.in/yaml.v2', 'v3.0.0', false],
  ['rsc.io/quote', 'v17.0.0', false],
  ['rsc.io/quote', 'v17.0.0+incompatible', true],
]

// module_test.go checkPathTests: (path, module ok, import ok, file ok). "\xFF" (a byte that is
// not UTF-8) has no JavaScript string form; a lone surrogate is what undecodable bytes become.
const checkPathTests: ReadonlyArray<readonly [string, boolean, boolean, boolean]> = [
  ['x.y/z', true, true, true], ['x.y', true, true, true],
  ['', false, false, false], ['x.y/\uDCFFz', false, false, false], ['/x.y/z', false, false, false],
  ['x./z', false, false, false], ['.x/z', false, true, true], ['-x/z', false, false, true],
  ['x..y/z', true, true, true], ['x.y/z/../../w', false, false, false], ['x.y//z', false, false, false],
  ['x.y/z//w', false, false, false], ['x.y/z/', false, false, false],
  ['x.y/z/v0', false, true, true], ['x.y/z/v1', false, true, true], ['x.y/z/v2', true, true, true],
  ['x.y/z/v2.0', false, true, true], ['X.y/z', false, true, true],
  ['!x.y/z', false, false, true], ['_x.y/z', false, true, true], ['x.y!/z', false, false, true],
  ['x.y"/z', false, false, false], ['x.y#/z', false, false, true], ['x.y$/z', false, false, true],
  ['x.y%/z', false, false, true], ['x.y&/z', false, false, true], ["x.y'/z", false, false, false],
  ['x.y(/z', false, false, true], ['x.y)/z', false, false, true], ['x.y*/z', false, false, false],
  ['x.y+/z', false, true, true], ['x.y,/z', false, false, true], ['x.y-/z', true, true, true],
  ['x.y./zt', false, false, false], ['x.y:/z', false, false, false], ['x.y;/z', false, false, false],
  ['x.y</z', false, false, false], ['x.y=/z', false, false, true], ['x.y>/z', false, false, false],
  ['x.y?/z', false, false, false], ['x.y@/z', false, false, true], ['x.y[/z', false, false, true],
  ['x.y\\/z', false, false, false], ['x.y]/z', false, false, true], ['x.y^/z', false, false, true],
  ['x.y_/z', false, true, true], ['x.y`/z', false, false, false], ['x.y{/z', false, false, true],
  ['x.y}/z', false, false, true], ['x.y~/z', false, true, true],
  ['x.y/z!', false, false, true], ['x.y/z"', false, false, false], ['x.y/z#', false, false, true],
  ['x.y/z$', false, false, true], ['x.y/z%', false, false, true], ['x.y/z&', false, false, true],
  ["x.y/z'", false, false, false], ['x.y/z(', false, false, true], ['x.y/z)', false, false, true],
  ['x.y/z*', false, false, false], ['x.y/z++', false, true, true], ['x.y/z,', false, false, true],
  ['x.y/z-', true, true, true], ['x.y/z.t', true, true, true], ['x.y/z/t', true, true, true],
  ['x.y/z:', false, false, false], ['x.y/z;', false, false, false], ['x.y/z<', false, false, false],
  ['x.y/z=', false, false, true], ['x.y/z>', false, false, false], ['x.y/z?', false, false, false],
  ['x.y/z@', false, false, true], ['x.y/z[', false, false, true], ['x.y/z\\', false, false, false],
  ['x.y/z]', false, false, true], ['x.y/z^', false, false, true], ['x.y/z_', true, true, true],
  ['x.y/z`', false, false, false], ['x.y/z{', false, false, true], ['x.y/z}', false, false, true],
  ['x.y/z~', true, true, true], ['x.y/x.foo', true, true, true], ['x.y/aux.foo', false, false, false],
  ['x.y/prn', false, false, false], ['x.y/prn2', true, true, true], ['x.y/com', true, true, true],
  ['x.y/com1', false, false, false], ['x.y/com1.txt', false, false, false], ['x.y/calm1', true, true, true],
  ['x.y/z~0', false, false, true], ['x.y/z~09', false, false, true], ['x.y/z09', true, true, true],
  ['x.y/z09~', true, true, true], ['x.y/z09~09z', true, true, true], ['x.y/z09~09z~09', false, false, true],
  ['github.com/!123/logrus', false, false, true],
  // Non-ASCII letters are allowed in file names only.
  ['github.com/user/unicode/испытание', false, false, true],
  ['../x', false, false, false], ['./y', false, false, false], ['x:y', false, false, false],
  ['\\temp\\foo', false, false, false], ['.gitignore', false, true, true],
  ['.github/ISSUE_TEMPLATE', false, true, true], ['x☺y', false, false, false],
]

describe('module paths (golang.org/x/mod/module tables)', () => {
  test('check(path, version)', () => {
    for (const [path, version, ok] of checkTests) {
      assert.equal(passes(() => check(path, version)), ok, `check(${path}, ${version})`)
    }
  })

  test('check: canonical versions and the +incompatible rules', () => {
    for (const [path, version, ok] of [
      ['example.com/m', 'v1.0.0', true],
      ['example.com/m', 'v1.0', false],                 // not canonical
      ['example.com/m', 'v1.0.0+meta', false],          // build metadata is not canonical
      ['example.com/m/v2', 'v1.0.0', false],
      ['example.com/m/v2', 'v2.0.0+incompatible', false],
      ['example.com/m', 'v1.0.0+incompatible', false],
      ['example.com/m', 'v0.3.0+incompatible', false],
      ['example.com/m', 'v2.0.0+incompatible', true],
      ['example.com/m', 'v2.0.1-0.20060102150405-abcdef123456+incompatible', true],
      ['gopkg.in/yaml.v2', 'v2.0.0+incompatible', false],
      ['example.com/m/v3', 'v3.1.0-rc.1', true],
    ] as const) {
      assert.equal(passes(() => check(path, version)), ok, `check(${path}, ${version})`)
    }
    assert.throws(() => check('example.com/m/v2', 'v1.0.0'),
      { name: 'InvalidVersionError', message: 'example.com/m/v2@v1.0.0: invalid version: should be v2, not v1' })
    assert.throws(() => check('example.com/m', 'v1.0'), /not canonical \(should be v1\.0\.0\)/)
    assert.throws(() => check('example.com/m', 'v1.0.0+incompatible'), /major version v1 is compatible/)
    assert.throws(() => check('Example.com/m', 'v1.0.0'),
      { name: 'InvalidPathError', message: `malformed module path "Example.com/m": invalid char 'E' in first path element` })
  })

  test('checkPath, checkImportPath, checkFilePath', () => {
    for (const [path, ok, importOK, fileOK] of checkPathTests) {
      assert.equal(passes(() => checkPath(path)), ok, `checkPath(${JSON.stringify(path)})`)
      assert.equal(passes(() => checkImportPath(path)), importOK, `checkImportPath(${JSON.stringify(path)})`)
      assert.equal(passes(() => checkFilePath(path)), fileOK, `checkFilePath(${JSON.stringify(path)})`)
    }
  })

  test('error messages name the rule', () => {
    for (const [f, message] of [
      [() => checkPath('example/m'), 'malformed module path "example/m": missing dot in first path element'],
      [() => checkPath('example.com/m/v1'), 'malformed module path "example.com/m/v1": invalid version'],
      [() => checkPath('example.com/.m'), 'malformed module path "example.com/.m": leading dot in path element'],
      [() => checkFilePath('a/COM1.txt'), 'malformed file path "a/COM1.txt": "COM1" disallowed as path element component on Windows'],
      [() => checkFilePath('a:b'), `malformed file path "a:b": invalid char ':'`],
      [() => checkFilePath('a/../b'), 'malformed file path "a/../b": invalid path element ".."'],
    ] as const) {
      assert.throws(f, { name: 'InvalidPathError', message })
    }
  })

  test('splitPathVersion', () => {
    for (const [prefix, pathMajor] of [
      ['x.y/z', ''], ['x.y/z', '/v2'], ['x.y/z', '/v3'], ['x.y/v', ''],
      ['gopkg.in/yaml', '.v0'], ['gopkg.in/yaml', '.v1'], ['gopkg.in/yaml', '.v2'], ['gopkg.in/yaml', '.v3'],
    ] as const) {
      assert.deepEqual(splitPathVersion(prefix + pathMajor), { prefix, pathMajor, ok: true })
    }
    for (const [path] of checkPathTests) {
      const { prefix, pathMajor } = splitPathVersion(path)
      assert.equal(prefix + pathMajor, path)
    }
    assert.deepEqual(splitPathVersion('gopkg.in/yaml.v2-unstable'),
      { prefix: 'gopkg.in/yaml', pathMajor: '.v2-unstable', ok: true })
    for (const bad of ['x.y/z/v1', 'x.y/z/v02', 'x.y/z/v2.1', 'gopkg.in/yaml', 'gopkg.in/yaml.v01']) {
      assert.equal(splitPathVersion(bad).ok, false, bad)
    }
  })

  test('checkPathMajor (module_test.go TestMatchPathMajor)', () => {
    for (const [v, pathMajor, want] of [
      ['v0.0.0', '', true], ['v0.0.0', '/v2', false], ['v0.0.0', '.v0', true],
      ['v0.0.0-20190510104115-cbcb75029529', '.v1', true], ['v1.0.0', '/v2', false],
      ['v1.0.0', '.v1', true], ['v1.0.0', '.v1-unstable', true], ['v2.0.0+incompatible', '', true],
      ['v2.0.0', '', false], ['v2.0.0', '/v2', true], ['v2.0.0', '.v2', true],
    ] as const) {
      assert.equal(passes(() => checkPathMajor(v, pathMajor)), want, `checkPathMajor(${v}, ${pathMajor})`)
    }
  })

  test('canonicalVersion keeps +incompatible and drops other build metadata', () => {
    assert.equal(canonicalVersion('v2.0.0+incompatible'), 'v2.0.0+incompatible')
    assert.equal(canonicalVersion('v2+incompatible'), '')
    assert.equal(canonicalVersion('v2.0.0+meta'), 'v2.0.0')
    assert.equal(canonicalVersion('v2.1'), 'v2.1.0')
  })
})

describe('case encoding', () => {
  const escapeTests = [
    ['ascii.com/abcdefghijklmnopqrstuvwxyz.-/~_0123456789', 'ascii.com/abcdefghijklmnopqrstuvwxyz.-/~_0123456789'],
    ['github.com/GoogleCloudPlatform/omega', 'github.com/!google!cloud!platform/omega'],
  ] as const

  test('escapePath and unescapePath round-trip', () => {
    for (const [path, esc] of escapeTests) {
      assert.equal(escapePath(path), esc)
      assert.equal(unescapePath(esc), path)
    }
  })

  test('escapePath rejects invalid paths', () => {
    for (const [path, ok] of checkPathTests) {
      if (!ok) assert.throws(() => escapePath(path), InvalidPathError, path)
    }
  })

  test('unescapePath rejects bad escapes and invalid paths', () => {
    for (const bad of [
      'github.com/GoogleCloudPlatform/omega',      // raw upper case
      'github.com/!google!cloud!platform!/omega',  // "!" before "/"
      'github.com/!0google!cloud!platform/omega',  // "!" before a digit
      'github.com/!_google!cloud!platform/omega',
      'github.com/!!google!cloud!platform/omega',
      'github.com/omega!',                          // trailing "!"
      '',
    ]) {
      assert.throws(() => unescapePath(bad), InvalidPathError, bad)
    }
    for (const [path, ok] of checkPathTests) {
      if (!ok) assert.throws(() => unescapePath(path), InvalidPathError, path)
    }
    assert.throws(() => unescapePath('github.com/!Azure'), { message: 'invalid escaped module path "github.com/!Azure"' })
  })

  test('escapeVersion and unescapeVersion', () => {
    assert.equal(escapeVersion('v1.0.0-RC1'), 'v1.0.0-!r!c1')
    assert.equal(unescapeVersion('v1.0.0-!r!c1'), 'v1.0.0-RC1')
    assert.equal(escapeVersion('v1.2.3'), 'v1.2.3')
    assert.equal(unescapeVersion('v2.0.0+incompatible'), 'v2.0.0+incompatible')
    for (const bad of ['v1.0.0-RC1', 'v1!', '!1', 'v1.0.0-!R', 'v1/x', '', '..', 'v1.0.0.']) {
      assert.throws(() => unescapeVersion(bad), InvalidVersionError, bad)
    }
    for (const bad of ['v1!x', 'a/b', '']) assert.throws(() => escapeVersion(bad), InvalidVersionError, bad)
  })
})
