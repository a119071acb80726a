// Version globs of package settings (`*-SNAPSHOT`, `nightly*`, `v1.*`, `*` = all): `*` is any run of
// characters, `?` one character, everything else literal; case-insensitive like version matching.
// The matcher backtracks only to the last `*`, so it takes at most O(pattern × version) steps.
import { invalid } from '../errors.js'

export const MAX_GLOB = 256

/** Throws an invalid WharfError for a glob that cannot be stored; '' (no versions) is valid. */
export function checkGlob(what: string, glob: string): string {
  if (glob.length > MAX_GLOB) throw invalid(`${what}: at most ${MAX_GLOB} characters`)
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(glob)) throw invalid(`${what}: control characters are not allowed`)
  return glob.trim()
}

/** Does `version` match `glob`? An empty glob matches nothing. */
export function globMatches(glob: string, version: string): boolean {
  if (glob === '') return false
  const p = [...glob.toLowerCase()]
  const s = [...version.toLowerCase()]
  let i = 0
  let j = 0
  let star = -1
  let mark = 0
  while (j < s.length) {
    if (i < p.length && (p[i] === '?' || (p[i] !== '*' && p[i] === s[j]))) {
      i++
      j++
    } else if (i < p.length && p[i] === '*') {
      star = i++
      mark = j
    } else if (star >= 0) {
      i = star + 1
      j = ++mark
    } else {
      return false
    }
  }
  while (i < p.length && p[i] === '*') i++
  return i === p.length
}
