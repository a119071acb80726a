// Rules of golang.org/x/mod/zip shared by the module zip checker and the packer:
// size caps, the vendor-directory rule, case-fold collisions, clean paths.
// https://go.dev/ref/mod#zip-path-size-constraints

import { posix } from 'node:path'

/** Largest module zip file, and largest total uncompressed size of its files (500 MiB). */
export const MAX_ZIP_FILE = 500 << 20
/** Largest go.mod in a module zip (16 MiB). */
export const MAX_GO_MOD = 16 << 20
/** Largest LICENSE in a module zip (16 MiB). */
export const MAX_LICENSE = 16 << 20

/**
 * Reports whether file path name (relative to the module root) lies in a vendored package, which
 * the go command leaves out of module zips. goVersion is the `go` directive of the root go.mod
 * ("1.24", "go1.21.0"; "" when absent), because the rule changed in Go 1.24:
 *
 * - files directly in vendor/ are not vendored packages ("vendor/vendor.go"), but anything deeper is;
 * - vendor/modules.txt is kept for go < 1.24 and left out from go 1.24 on (golang.org/issue/63395);
 * - for a nested "x/vendor/…", go < 1.24 keeps a historical off-by-offset bug (golang.org/issue/31562,
 *   37397) so that existing checksums stay valid: it looks for a "/" past byte 8 of the whole path.
 */
export function isVendoredPackage(name: string, goVersion: string): boolean {
  const go124 = goVersionAtLeast(goVersion, 1, 24)
  if (go124 && name === 'vendor/modules.txt') return true
  let i: number
  if (name.startsWith('vendor/')) {
    i = 'vendor/'.length
  } else {
    const j = name.indexOf('/vendor/')
    if (j < 0) return false
    i = go124 ? j + '/vendor/'.length : '/vendor/'.length
  }
  return name.slice(i).includes('/')
}

/**
 * Reports whether a Go language version ("1.21", "1.24.0", "1.24rc1", with or without "go")
 * is at least major.minor. Anything unparseable counts as older, as go/version.Compare does.
 */
export function goVersionAtLeast(version: string, major: number, minor: number): boolean {
  const m = /^(?:go)?(\d+)(?:\.(\d+)(?:\.\d+|(?:rc|beta)\d+)?)?$/.exec(version)
  if (!m) return false
  const [gotMajor, gotMinor] = [Number(m[1]), Number(m[2] ?? 0)]
  return gotMajor > major || (gotMajor === major && gotMinor >= minor)
}

/**
 * A string such that strToFold(s) === strToFold(t) exactly when s and t are equal under simple
 * Unicode case folding (Go's strings.EqualFold): each character maps to the smallest member of
 * its case class, then A–Z to a–z. JavaScript has no SimpleFold, so the class is approximated by
 * the single-character upper- and lower-case mappings (which covers K/k/K and s/S/ſ).
 */
export function strToFold(s: string): string {
  if (isFoldedAscii(s)) return s
  let out = ''
  for (const ch of s) {
    let best = ch
    for (const c of [ch, single(ch.toLowerCase()), single(ch.toUpperCase())]) {
      if (c === undefined) continue
      for (const d of [c, single(c.toLowerCase()), single(c.toUpperCase())]) {
        if (d !== undefined && d.codePointAt(0)! < best.codePointAt(0)!) best = d
      }
    }
    out += best >= 'A' && best <= 'Z' ? best.toLowerCase() : best
  }
  return out
}

/** ASCII without upper-case letters: most paths, already folded. */
function isFoldedAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c >= 0x80 || (c >= 0x41 && c <= 0x5a)) return false
  }
  return true
}

/** s when it is a single code point, else undefined ("ß".toUpperCase() is "SS"). */
function single(s: string | undefined): string | undefined {
  return s !== undefined && [...s].length === 1 ? s : undefined
}

/**
 * Finds case-insensitive collisions between file paths, and paths that are both a file and a
 * directory (x/zip's collisionChecker). Every parent directory of a checked path is recorded too.
 */
export class CollisionChecker {
  private readonly seen = new Map<string, { path: string; isDir: boolean }>()

  /** The problem with adding path p, or undefined. p must be clean and relative. */
  check(p: string, isDir: boolean): string | undefined {
    for (;;) {
      const fold = strToFold(p)
      const other = this.seen.get(fold)
      if (other) {
        if (p !== other.path) return `case-insensitive file name collision: ${JSON.stringify(other.path)} and ${JSON.stringify(p)}`
        if (isDir !== other.isDir) return `entry ${JSON.stringify(p)} is both a file and a directory`
        if (!isDir) return `multiple entries for file ${JSON.stringify(p)}`
        // The same directory again (a parent of many files) is fine.
      } else {
        this.seen.set(fold, { path: p, isDir })
      }
      const slash = p.lastIndexOf('/')
      if (slash < 0) return undefined
      p = p.slice(0, slash)
      isDir = true
    }
  }
}

/** Go's path.Clean(p) === p, for relative slash-separated paths. */
export function isCleanPath(p: string): boolean {
  const normalized = posix.normalize(p)                     // like Clean, but keeps a trailing slash
  const cleaned = normalized.length > 1 && normalized.endsWith('/') ? normalized.slice(0, -1) : normalized
  return cleaned === p
}

/** Go's strings.EqualFold(base, "go.mod"): no non-ASCII character folds to a letter of "go.mod". */
export const isGoModName = (base: string): boolean => base.toLowerCase() === 'go.mod'
