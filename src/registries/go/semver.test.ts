import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import {
  build, canonical, compare, isPseudoVersion, isValid, major, majorMinor, prerelease,
  pseudoVersionTime, sort,
} from './semver.js'
import { InvalidVersionError } from './errors.js'

// The table of golang.org/x/mod/semver/semver_test.go: input and canonical form ("" = invalid),
// in ascending order of precedence (the invalid ones first, all equal to each other).
const tests: ReadonlyArray<readonly [string, string]> = [
  ['bad', ''],
  ['v1-alpha.beta.gamma', ''],
  ['v1-pre', ''],
  ['v1+meta', ''],
  ['v1-pre+meta', ''],
  ['v1.2-pre', ''],
  ['v1.2+meta', ''],
  ['v1.2-pre+meta', ''],
  ['v1.0.0-alpha', 'v1.0.0-alpha'],
  ['v1.0.0-alpha.1', 'v1.0.0-alpha.1'],
  ['v1.0.0-alpha.beta', 'v1.0.0-alpha.beta'],
  ['v1.0.0-beta', 'v1.0.0-beta'],
  ['v1.0.0-beta.2', 'v1.0.0-beta.2'],
  ['v1.0.0-beta.11', 'v1.0.0-beta.11'],
  ['v1.0.0-rc.1', 'v1.0.0-rc.1'],
  ['v1', 'v1.0.0'],
  ['v1.0', 'v1.0.0'],
  ['v1.0.0', 'v1.0.0'],
  ['v1.2', 'v1.2.0'],
  ['v1.2.0', 'v1.2.0'],
  ['v1.2.3-456', 'v1.2.3-456'],
  ['v1.2.3-456.789', 'v1.2.3-456.789'],
  ['v1.2.3-456-789', 'v1.2.3-456-789'],
  ['v1.2.3-456a', 'v1.2.3-456a'],
  ['v1.2.3-pre', 'v1.2.3-pre'],
  ['v1.2.3-pre+meta', 'v1.2.3-pre'],
  ['v1.2.3-pre.1', 'v1.2.3-pre.1'],
  ['v1.2.3-zzz', 'v1.2.3-zzz'],
  ['v1.2.3', 'v1.2.3'],
  ['v1.2.3+meta', 'v1.2.3'],
  ['v1.2.3+meta-pre', 'v1.2.3'],
  ['v1.2.3+meta-pre.sha.256a', 'v1.2.3'],
]

describe('semver (golang.org/x/mod/semver table)', () => {
  test('isValid and canonical', () => {
    for (const [input, out] of tests) {
      assert.equal(isValid(input), out !== '', `isValid(${input})`)
      assert.equal(canonical(input), out, `canonical(${input})`)
    }
  })

  test('major, majorMinor, prerelease, build', () => {
    for (const [input, out] of tests) {
      const wantMajor = out === '' ? '' : out.slice(0, out.indexOf('.'))
      assert.equal(major(input), wantMajor, `major(${input})`)

      let wantMM = ''
      if (out !== '') {
        wantMM = input.split('+')[0]!.split('-')[0]!
        const dots = wantMM.split('.').length - 1
        if (dots === 0) wantMM += '.0'
        if (dots === 2) wantMM = wantMM.slice(0, wantMM.lastIndexOf('.'))
      }
      assert.equal(majorMinor(input), wantMM, `majorMinor(${input})`)

      const dash = out.indexOf('-')
      assert.equal(prerelease(input), out !== '' && dash >= 0 ? out.slice(dash) : '', `prerelease(${input})`)
      const plus = input.indexOf('+')
      assert.equal(build(input), out !== '' && plus >= 0 ? input.slice(plus) : '', `build(${input})`)
    }
  })

  test('compare follows the order of the table', () => {
    tests.forEach(([vi, ci], i) => {
      tests.forEach(([vj, cj], j) => {
        const want = ci === cj ? 0 : i < j ? -1 : 1
        assert.equal(compare(vi, vj), want, `compare(${vi}, ${vj})`)
      })
    })
  })

  test('compare: numbers compare as numbers, not strings', () => {
    for (const [v, w, want] of [
      ['v1', 'v1', 0],
      ['v2', 'v1', 1],
      ['v1', 'v2', -1],
      ['v1.19', 'v1.2', 1],
      ['v1.2.10', 'v1.2.9', 1],
      ['v10.0.0', 'v9.99.99', 1],
      ['v1.0.0-rc.10', 'v1.0.0-rc.9', 1],
      ['v1.0.0-rc.9', 'v1.0.0-rc.a', -1],      // numeric identifiers sort before alphanumeric ones
      ['v1.0.0+a', 'v1.0.0+b', 0],             // build metadata is ignored
      ['v2.0.0+incompatible', 'v2.0.0', 0],
      ['v2.0.0+incompatible', 'v1.9.9', 1],
      ['1.0.0', 'v0.0.1', -1],                 // no "v": invalid, below every valid version
    ] as const) {
      assert.equal(compare(v, w), want, `compare(${v}, ${w})`)
    }
  })

  test('sort puts a shuffled table back in order', () => {
    const versions = tests.map(([v]) => v)
    for (let i = versions.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1))
      ;[versions[i], versions[j]] = [versions[j]!, versions[i]!]
    }
    const sorted = sort(versions)
    assert.equal(sorted, versions, 'sorts in place')
    for (let i = 1; i < sorted.length; i++) {
      const c = compare(sorted[i - 1]!, sorted[i]!)
      assert.ok(c < 0 || (c === 0 && sorted[i - 1]! <= sorted[i]!), `${sorted[i - 1]} before ${sorted[i]}`)
    }
    assert.deepEqual(sort(['v1.10.0', 'v1.2.0', 'v1.0.0', 'v1.0.0-rc.1', 'x']),
      ['x', 'v1.0.0-rc.1', 'v1.0.0', 'v1.2.0', 'v1.10.0'])
  })
})

// golang.org/x/mod/module/pseudo_test.go: each tagged "older" version and the pseudo-version that
// follows it, all at 2006-01-02T15:04:05Z with revision "hash".
const pseudoTests: ReadonlyArray<readonly [string, string]> = [
  ['', 'v0.0.0-20060102150405-hash'],
  ['', 'v1.0.0-20060102150405-hash'],
  ['', 'v2.0.0-20060102150405-hash'],
  ['v0.0.0', 'v0.0.1-0.20060102150405-hash'],
  ['v1.2.3', 'v1.2.4-0.20060102150405-hash'],
  ['v1.2.99999999999999999', 'v1.2.100000000000000000-0.20060102150405-hash'],
  ['v1.2.3-pre', 'v1.2.3-pre.0.20060102150405-hash'],
  ['v1.3.0-pre', 'v1.3.0-pre.0.20060102150405-hash'],
  ['v0.0.0--', 'v0.0.0--.0.20060102150405-hash'],
  ['v1.0.0+metadata', 'v1.0.1-0.20060102150405-hash+metadata'],
  ['v2.0.0+incompatible', 'v2.0.1-0.20060102150405-hash+incompatible'],
  ['v2.3.0-pre+incompatible', 'v2.3.0-pre.0.20060102150405-hash+incompatible'],
]
const pseudoTime = new Date('2006-01-02T15:04:05Z')

describe('pseudo-versions (golang.org/x/mod/module pseudo table)', () => {
  test('isPseudoVersion', () => {
    for (const [older, version] of pseudoTests) {
      assert.equal(isPseudoVersion(version), true, version)
      assert.equal(isPseudoVersion(older), false, older)
      // every pseudo-version sorts after the tag it was derived from
      if (older !== '') assert.equal(compare(version, older), 1, `${version} > ${older}`)
    }
    for (const v of ['v1.0.0', 'v1.0.0-rc.1', 'v0.0.0-2006010215040-hash', 'v0.0.0-20060102150405',
      '0.0.0-20060102150405-hash', 'v1.2.3-20060102150405-hash', '---']) {
      assert.equal(isPseudoVersion(v), false, v)
    }
  })

  test('pseudoVersionTime', () => {
    for (const [older, version] of pseudoTests) {
      assert.deepEqual(pseudoVersionTime(version), pseudoTime, version)
      if (older !== '') assert.throws(() => pseudoVersionTime(older), InvalidVersionError)
    }
    assert.throws(() => pseudoVersionTime('---'), InvalidVersionError)
    assert.deepEqual(pseudoVersionTime('v0.29.0-beta.1.0.20260522092201-58a85b68b3d9'),
      new Date('2026-05-22T09:22:01Z'))
  })

  test('pseudoVersionTime rejects time stamps that are not real times', () => {
    for (const stamp of ['20061302150405', '20060230150405', '20060102250405', '20060102156005', '20060100150405']) {
      assert.throws(() => pseudoVersionTime(`v0.0.0-${stamp}-abcdef123456`),
        (err: unknown) => err instanceof InvalidVersionError && /malformed time/.test(err.message), stamp)
    }
    assert.deepEqual(pseudoVersionTime('v0.0.0-20240229000000-abcdef123456'), new Date('2024-02-29T00:00:00Z'))
  })
})
