// The version views of the GOPROXY protocol (https://go.dev/ref/mod#goproxy-protocol):
// `@v/list` lists tagged versions, `@latest` picks one.

import { compare, isPseudoVersion, isValid, prerelease, sort } from './semver.js'

/**
 * The version `@latest` answers: the highest release, else the highest pre-release that is not a
 * pseudo-version, else the highest pseudo-version (semver order, which for pseudo-versions on the
 * same base is the order of their time stamps). Invalid versions are ignored.
 */
export function pickLatest(versions: readonly string[]): string | undefined {
  const valid = versions.filter(isValid)
  const releases = valid.filter((v) => prerelease(v) === '')
  const prereleases = valid.filter((v) => prerelease(v) !== '' && !isPseudoVersion(v))
  const pseudo = valid.filter(isPseudoVersion)
  for (const group of [releases, prereleases, pseudo]) {
    if (group.length > 0) return group.reduce((best, v) => (compare(v, best) > 0 ? v : best))
  }
  return undefined
}

/**
 * The body of `@v/list`: the valid versions that are not pseudo-versions, in semver order
 * (ties broken by string order), each once.
 */
export function listVersions(versions: readonly string[]): string[] {
  return sort([...new Set(versions)].filter((v) => isValid(v) && !isPseudoVersion(v)))
}
