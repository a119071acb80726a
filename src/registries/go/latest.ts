// The version views of the GOPROXY protocol (https://go.dev/ref/mod#goproxy-protocol):
// `@v/list` lists tagged versions, `@latest` picks one.

import { parseGoMod, type Retraction } from './gomod.js'
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

/**
 * The retractions in force for a module, as the go command reads them: the `retract` directives of
 * the go.mod of its highest version, retractions ignored (pickLatest: the highest release, else
 * the highest pre-release, else the highest pseudo-version). A go.mod that does not parse
 * retracts nothing.
 */
export function retractionsOf(versions: ReadonlyArray<{ version: string; goMod: string }>): Retraction[] {
  const top = pickLatest(versions.map((v) => v.version))
  const goMod = versions.find((v) => v.version === top)?.goMod
  if (goMod === undefined) return []
  try {
    return parseGoMod(goMod).retract ?? []
  } catch {
    return []
  }
}

/** The retraction that covers version v (low ≤ v ≤ high in semver order), if any. */
export function retractionOf(retractions: readonly Retraction[], v: string): Retraction | undefined {
  if (!isValid(v)) return undefined
  return retractions.find((r) => isValid(r.low) && isValid(r.high) && compare(r.low, v) <= 0 && compare(v, r.high) <= 0)
}

/**
 * `@latest` for a hosted module: pickLatest over the versions no retraction covers; when every
 * version is retracted, the highest of them (so the module still resolves, as with `@v/list`).
 */
export function pickLatestNotRetracted(versions: readonly string[], retractions: readonly Retraction[]): string | undefined {
  return pickLatest(versions.filter((v) => retractionOf(retractions, v) === undefined)) ?? pickLatest(versions)
}
