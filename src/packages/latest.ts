// Which version is "latest" (issue 11): the highest release in semantic-version order (a leading
// `v` allowed, build metadata ignored); pre-releases only when there is no release; when no
// version parses as a semantic version, the newest upload. Ties go to the newest upload.
import { compare } from '../registries/go/semver.js'

const IDENT = '(?:0|[1-9]\\d*|\\d*[A-Za-z-][0-9A-Za-z-]*)'
const SEMVER = new RegExp(`^v?(0|[1-9]\\d*)\\.(0|[1-9]\\d*)\\.(0|[1-9]\\d*)(-${IDENT}(?:\\.${IDENT})*)?(?:\\+[0-9A-Za-z-]+(?:\\.[0-9A-Za-z-]+)*)?$`)

/** The version in Go's canonical spelling (`v1.2.3-rc.1`), or undefined when it is not semver. */
export function semverKey(version: string): string | undefined {
  const m = SEMVER.exec(version)
  if (!m) return undefined
  return `v${m[1]}.${m[2]}.${m[3]}${m[4] ?? ''}`
}

export interface Dated {
  readonly version: string
  readonly createdUnix: number
  readonly id: number
}

const newer = (a: Dated, b: Dated) => a.createdUnix > b.createdUnix || (a.createdUnix === b.createdUnix && a.id > b.id)

export function pickLatest<T extends Dated>(versions: readonly T[]): T | undefined {
  let best: { v: T; key: string; pre: boolean } | undefined
  let newest: T | undefined
  for (const v of versions) {
    if (!newest || newer(v, newest)) newest = v
    const key = semverKey(v.version)
    if (key === undefined) continue
    const pre = key.includes('-')
    if (!best) {
      best = { v, key, pre }
      continue
    }
    if (best.pre !== pre) {
      if (best.pre) best = { v, key, pre }
      continue
    }
    const c = compare(key, best.key)
    if (c > 0 || (c === 0 && newer(v, best.v))) best = { v, key, pre }
  }
  return best?.v ?? newest
}
