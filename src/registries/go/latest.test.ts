import assert from 'node:assert/strict'
import { test } from 'node:test'
import { listVersions, pickLatest } from './latest.js'

const pickCases: ReadonlyArray<readonly [string, readonly string[], string | undefined]> = [
  ['nothing', [], undefined],
  ['only invalid versions', ['latest', '1.0.0', 'v1.0'], 'v1.0'],   // "v1.0" is valid shorthand semver
  ['the highest release', ['v1.0.0', 'v1.10.0', 'v1.9.0'], 'v1.10.0'],
  ['a release beats a higher pre-release', ['v1.0.0', 'v2.0.0-rc.1'], 'v1.0.0'],
  ['a release beats a higher pseudo-version', ['v1.0.0', 'v1.0.1-0.20240102150405-abcdef123456'], 'v1.0.0'],
  ['+incompatible releases count', ['v1.5.0', 'v2.0.0+incompatible'], 'v2.0.0+incompatible'],
  ['the highest pre-release when there is no release', ['v1.0.0-beta.2', 'v1.0.0-beta.11', 'v1.0.0-alpha'], 'v1.0.0-beta.11'],
  ['a pre-release beats a higher pseudo-version',
    ['v1.0.0-rc.1', 'v1.0.1-0.20240102150405-abcdef123456', 'v0.0.0-20250101000000-abcdef123456'], 'v1.0.0-rc.1'],
  ['the highest pseudo-version when there is nothing else',
    ['v0.0.0-20240102150405-abcdef123456', 'v0.0.0-20250101000000-000000000000', 'v0.0.0-20230101000000-ffffffffffff'],
    'v0.0.0-20250101000000-000000000000'],
  ['pseudo-versions on a later base win over earlier time stamps',
    ['v0.0.0-20250101000000-abcdef123456', 'v1.2.4-0.20240102150405-abcdef123456'], 'v1.2.4-0.20240102150405-abcdef123456'],
]

for (const [name, versions, want] of pickCases) {
  test(`pickLatest: ${name}`, () => assert.equal(pickLatest(versions), want))
}

const listCases: ReadonlyArray<readonly [string, readonly string[], readonly string[]]> = [
  ['nothing', [], []],
  ['semver order, not string order', ['v1.10.0', 'v1.2.0', 'v1.9.0-rc.1', 'v1.9.0', 'v0.1.0'],
    ['v0.1.0', 'v1.2.0', 'v1.9.0-rc.1', 'v1.9.0', 'v1.10.0']],
  ['pseudo-versions left out',
    ['v1.0.0', 'v0.0.0-20240102150405-abcdef123456', 'v1.0.1-0.20240102150405-abcdef123456'], ['v1.0.0']],
  ['only pseudo-versions: an empty list', ['v0.0.0-20240102150405-abcdef123456'], []],
  ['invalid versions and duplicates left out', ['v1.0.0', 'junk', 'v1.0.0', '1.2.3'], ['v1.0.0']],
  ['+incompatible kept', ['v2.0.0+incompatible', 'v1.0.0'], ['v1.0.0', 'v2.0.0+incompatible']],
]

for (const [name, versions, want] of listCases) {
  test(`listVersions: ${name}`, () => {
    const input = [...versions]
    assert.deepEqual(listVersions(input), want)
    assert.deepEqual(input, versions, 'the input is not modified')
  })
}
