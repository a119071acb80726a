import assert from 'node:assert/strict'
import { test } from 'node:test'
import { CollisionChecker, goVersionAtLeast, isCleanPath, isVendoredPackage, strToFold } from './zip-rules.js'

// golang.org/x/mod/zip/vendor_test.go.
const pre124 = ['', 'go1.14', 'go1.21.0', 'go1.22.4', 'go1.23', 'go1.23.1', 'go1.2', 'go1.7', 'go1.9']
const from124 = ['go1.24.0', 'go1.24', 'go1.99.0', '1.24', '1.25rc1']

test('isVendoredPackage (x/mod/zip vendor_test.go)', () => {
  for (const [path, want, versions] of [
    ['vendor/foo/foo.go', true, [...pre124, ...from124]],
    ['pkg/vendor/foo/foo.go', true, [...pre124, ...from124]],
    ['longpackagename/vendor/foo/foo.go', true, [...pre124, ...from124]],
    ['vendor/vendor.go', false, [...pre124, ...from124]],
    ['vendor/foo/modules.txt', true, pre124],
    ['modules.txt', false, [...pre124, ...from124]],
    ['vendor/amodules.txt', false, pre124],
    // golang.org/issue/63395: vendor/modules.txt is left out from Go 1.24 on.
    ['vendor/modules.txt', false, pre124],
    ['vendor/modules.txt', true, from124],
    // golang.org/issue/37397: false positives kept before 1.24 so old checksums stay valid, fixed after.
    ['pkg/vendor/vendor.go', true, pre124],
    ['longpackagename/vendor/vendor.go', true, pre124],
    ['pkg/vendor/vendor.go', false, from124],
    ['longpackagename/vendor/vendor.go', false, from124],
  ] as const) {
    for (const v of versions) assert.equal(isVendoredPackage(path, v), want, `isVendoredPackage(${path}, ${v})`)
  }
})

test('goVersionAtLeast', () => {
  for (const [v, want] of [
    ['1.24', true], ['go1.24', true], ['1.24.0', true], ['1.24rc1', true], ['1.30', true], ['2', true],
    ['1.23.9', false], ['1', false], ['', false], ['1.24.x', false], ['junk', false],
  ] as const) {
    assert.equal(goVersionAtLeast(v, 1, 24), want, v)
  }
})

test('strToFold: equal exactly when equal under case folding', () => {
  assert.equal(strToFold('a/b.go'), 'a/b.go')
  assert.equal(strToFold('README.md'), strToFold('readme.MD'))
  assert.equal(strToFold('\u212Aelvin'), strToFold('kelvin'))   // KELVIN SIGN folds with K and k
  assert.equal(strToFold('ſ'), strToFold('S'))                   // LATIN SMALL LETTER LONG S folds with s
  assert.equal(strToFold('ΣΑΣ'), strToFold('σας'))               // final sigma folds with sigma
  assert.equal(strToFold('Привет'), strToFold('пРИВЕТ'))
  assert.notEqual(strToFold('straße'), strToFold('strasse'))     // full case mapping is not folding
  assert.notEqual(strToFold('a.go'), strToFold('b.go'))
})

test('CollisionChecker', () => {
  const c = new CollisionChecker()
  assert.equal(c.check('a/b/c.go', false), undefined)
  assert.equal(c.check('a/b/d.go', false), undefined)
  assert.equal(c.check('a/B', true), 'case-insensitive file name collision: "a/b" and "a/B"')
  assert.equal(c.check('a/b/C.GO', false), 'case-insensitive file name collision: "a/b/c.go" and "a/b/C.GO"')
  assert.equal(c.check('a/b', false), 'entry "a/b" is both a file and a directory')
  assert.equal(c.check('a/b/c.go', false), 'multiple entries for file "a/b/c.go"')
  assert.equal(c.check('a/b', true), undefined)                  // the same directory again is fine
})

test('isCleanPath (Go path.Clean(p) === p)', () => {
  for (const p of ['a', 'a/b', '.hidden', 'a/.b', '..x', '../x']) assert.equal(isCleanPath(p), true, p)
  for (const p of ['', 'a/', 'a//b', './a', 'a/./b', 'a/../b', 'a/b/..', '.']) assert.equal(isCleanPath(p), p === '.', p)
})
