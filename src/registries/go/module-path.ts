// Module paths, file paths and versions as golang.org/x/mod/module defines them
// (https://go.dev/ref/mod#go-mod-file-ident, https://go.dev/ref/mod#zip-path-size-constraints),
// and the case encoding used in proxy URLs (https://go.dev/ref/mod#goproxy-protocol).
//
// Functions that check throw InvalidPathError / InvalidVersionError with Go's messages.

import { InvalidPathError, InvalidVersionError, quote, quoteRune } from './errors.js'
import * as semver from './semver.js'

type PathKind = 'module' | 'import' | 'file'

/**
 * Checks a module path: a valid import path whose first element is a lower-case domain-ish name
 * with a dot and no leading dash, no element starting with a dot, and a well-formed major version
 * suffix ("/vN" with N >= 2, no leading zero and no dot; gopkg.in paths use ".vN" instead).
 */
export function checkPath(path: string): void {
  const fail = (reason: string) => new InvalidPathError('module', path, reason)
  const reason = checkGeneralPath(path, 'module')
  if (reason) throw fail(reason)
  const slash = path.indexOf('/')
  const first = slash < 0 ? path : path.slice(0, slash)
  if (slash === 0) throw fail('leading slash')
  if (!first.includes('.')) throw fail('missing dot in first path element')
  if (path[0] === '-') throw fail('leading dash in first path element')
  for (const ch of first) {
    if (!(ch === '-' || ch === '.' || isDigit(ch) || (ch >= 'a' && ch <= 'z'))) {
      throw fail(`invalid char ${quoteRune(ch)} in first path element`)
    }
  }
  if (!splitPathVersion(path).ok) throw fail('invalid version')
}

/** Checks a package import path: like a module path element by element, '+' allowed, no domain rule. */
export function checkImportPath(path: string): void {
  const reason = checkGeneralPath(path, 'import')
  if (reason) throw new InvalidPathError('import', path, reason)
}

/**
 * Checks a slash-separated file path inside a module: like an import path, but elements may start
 * with a dot or dash, and may use any Unicode letter, ASCII digits, space and !#$%&()+,-.=@[]^_{}~.
 */
export function checkFilePath(path: string): void {
  const reason = checkGeneralPath(path, 'file')
  if (reason) throw new InvalidPathError('file', path, reason)
}

/** The problem with path, or undefined when it is a valid path of this kind. */
function checkGeneralPath(path: string, kind: PathKind): string | undefined {
  if (/\p{Cs}/u.test(path)) return 'invalid UTF-8'          // a lone surrogate: bytes that were not UTF-8
  if (path === '') return 'empty string'
  if (path[0] === '-' && kind !== 'file') return 'leading dash'
  if (path.includes('//')) return 'double slash'
  if (path.endsWith('/')) return 'trailing slash'
  for (const elem of path.split('/')) {
    const reason = checkElem(elem, kind)
    if (reason) return reason
  }
  return undefined
}

// Reserved file names on Windows, in any case and with any extension:
// https://learn.microsoft.com/en-us/windows/win32/fileio/naming-a-file
const badWindowsNames = new Set([
  'CON', 'PRN', 'AUX', 'NUL',
  'COM1', 'COM2', 'COM3', 'COM4', 'COM5', 'COM6', 'COM7', 'COM8', 'COM9',
  'LPT1', 'LPT2', 'LPT3', 'LPT4', 'LPT5', 'LPT6', 'LPT7', 'LPT8', 'LPT9',
])

function checkElem(elem: string, kind: PathKind): string | undefined {
  if (elem === '') return 'empty path element'
  if (/^\.*$/.test(elem)) return `invalid path element ${quote(elem)}`
  if (elem[0] === '.' && kind === 'module') return 'leading dot in path element'
  if (elem.endsWith('.')) return 'trailing dot in path element'
  const charOK = kind === 'module' ? modPathOK : kind === 'import' ? importPathOK : fileNameOK
  for (const ch of elem) {
    if (!charOK(ch)) return `invalid char ${quoteRune(ch)}`
  }
  const dot = elem.indexOf('.')
  const short = dot >= 0 ? elem.slice(0, dot) : elem
  // Every reserved name is ASCII without K or S, so an ASCII upper-case comparison is Go's EqualFold.
  if (isAscii(short) && badWindowsNames.has(short.toUpperCase())) {
    return `${quote(short)} disallowed as path element component on Windows`
  }
  // Windows short names ("PROGRA~1") in module and import paths; harmless in file names.
  if (kind !== 'file' && /~[0-9]+$/.test(short)) return 'trailing tilde and digits in path element'
  return undefined
}

const isDigit = (ch: string) => ch >= '0' && ch <= '9'
function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) >= 0x80) return false
  return true
}
const isAsciiLetter = (ch: string) => (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')
/** Module path elements: ASCII letters and digits and - . _ ~ (no '+', which changes meaning in URLs). */
const modPathOK = (ch: string) => isAsciiLetter(ch) || isDigit(ch) || '-._~'.includes(ch)
const importPathOK = (ch: string) => modPathOK(ch) || ch === '+'
/** File names: any Unicode letter, ASCII digits, space and the punctuation !#$%&()+,-.=@[]^_{}~. */
const fileNameOK = (ch: string) => ch.codePointAt(0)! < 0x80
  ? isAsciiLetter(ch) || isDigit(ch) || '!#$%&()+,-.=@[]^_{}~ '.includes(ch)
  : /^\p{L}$/u.test(ch)

export interface SplitPath {
  /** The path without its major version suffix. */
  prefix: string
  /** "" (v0 or v1), "/vN" with N >= 2, or for gopkg.in ".vN" (any N, maybe with "-unstable"). */
  pathMajor: string
  /** False when the last element looks like a suffix but is not a valid one ("/v1", "/v2.0", "/v02"). */
  ok: boolean
}

/** Splits a module path into prefix and major version suffix, so that prefix + pathMajor === path. */
export function splitPathVersion(path: string): SplitPath {
  if (path.startsWith('gopkg.in/')) return splitGopkgIn(path)
  let i = path.length
  let dot = false
  while (i > 0 && (isDigit(path[i - 1]!) || path[i - 1] === '.')) {
    if (path[i - 1] === '.') dot = true
    i--
  }
  if (i <= 1 || i === path.length || path[i - 1] !== 'v' || path[i - 2] !== '/') {
    return { prefix: path, pathMajor: '', ok: true }
  }
  const prefix = path.slice(0, i - 2)
  const pathMajor = path.slice(i - 2)
  if (dot || pathMajor.length <= 2 || pathMajor[2] === '0' || pathMajor === '/v1') {
    return { prefix: path, pathMajor: '', ok: false }
  }
  return { prefix, pathMajor, ok: true }
}

function splitGopkgIn(path: string): SplitPath {
  let i = path.length
  if (path.endsWith('-unstable')) i -= '-unstable'.length
  while (i > 0 && isDigit(path[i - 1]!)) i--
  if (i <= 1 || path[i - 1] !== 'v' || path[i - 2] !== '.') {
    return { prefix: path, pathMajor: '', ok: false }     // every gopkg.in path ends in .vN
  }
  const prefix = path.slice(0, i - 2)
  const pathMajor = path.slice(i - 2)
  if (pathMajor.length <= 2 || (pathMajor[2] === '0' && pathMajor !== '.v0')) {
    return { prefix: path, pathMajor: '', ok: false }
  }
  return { prefix, pathMajor, ok: true }
}

/**
 * Throws InvalidVersionError unless version v can go with the path major version suffix pathMajor
 * (Go's CheckPathMajor): "" takes v0, v1 and +incompatible versions; "/v2" and ".v2" take v2.
 */
export function checkPathMajor(v: string, pathMajor: string): void {
  if (pathMajor.startsWith('.v') && pathMajor.endsWith('-unstable')) pathMajor = pathMajor.slice(0, -'-unstable'.length)
  // An old bug made v0.0.0- pseudo-versions for gopkg.in .v1 paths; they stay valid.
  if (v.startsWith('v0.0.0-') && pathMajor === '.v1') return
  const m = semver.major(v)
  let want: string
  if (pathMajor === '') {
    if (m === 'v0' || m === 'v1' || semver.build(v) === '+incompatible') return
    want = 'v0 or v1'
  } else {
    want = pathMajor.slice(1)
    if (m === want) return
  }
  throw new InvalidVersionError(v, `should be ${want}, not ${m}`)
}

/** Go's module.CanonicalVersion: semver.canonical, except that "+incompatible" is kept. */
export function canonicalVersion(v: string): string {
  const c = semver.canonical(v)
  return semver.build(v) === '+incompatible' ? `${c}+incompatible` : c
}

/**
 * Checks that path is a valid module path and version a valid version for it, as a module zip
 * needs them: a canonical semantic version whose major version agrees with the path's suffix, and
 * "+incompatible" only on paths without a suffix and for major versions 2 and up (the go command's
 * rule; golang.org/x/mod's Check alone accepts v1.0.0+incompatible and non-canonical versions).
 */
export function check(path: string, version: string): void {
  checkPath(path)
  const fail = (reason: string) => new InvalidVersionError(version, reason, path)
  if (!semver.isValid(version)) throw fail('not a semantic version')
  const canon = canonicalVersion(version)
  if (canon !== version) throw fail(`not canonical (should be ${canon})`)
  const { pathMajor } = splitPathVersion(path)
  try {
    checkPathMajor(version, pathMajor)
  } catch (err) {
    if (err instanceof InvalidVersionError) throw fail(err.reason)
    throw err
  }
  if (semver.build(version) === '+incompatible') {
    if (pathMajor !== '') throw fail('+incompatible suffix not allowed: module path includes a major version suffix')
    const m = semver.major(version)
    if (m === 'v0' || m === 'v1') throw fail(`+incompatible suffix not allowed: major version ${m} is compatible`)
  }
}

// Case encoding (Go's "escaped paths"): file systems and URLs may ignore case, so every
// upper-case letter is written as "!" and the lower-case letter: "github.com/Azure" is served as
// "github.com/!azure". Paths and versions never contain "!" themselves.

/** Escapes a module path for a proxy URL; throws InvalidPathError if the path is invalid. */
export function escapePath(path: string): string {
  checkPath(path)
  return escapeString(path)
}

/** Escapes a version for a proxy URL; throws InvalidVersionError if it is not a valid file name. */
export function escapeVersion(v: string): string {
  if (checkElem(v, 'file') !== undefined || v.includes('!')) {
    throw new InvalidVersionError(v, 'disallowed version string')
  }
  return escapeString(v)
}

/** Decodes an escaped module path; throws InvalidPathError for a bad escape or an invalid path. */
export function unescapePath(escaped: string): string {
  const path = unescapeString(escaped)
  if (path === undefined) {
    throw new InvalidPathError('module', escaped, 'invalid escape', `invalid escaped module path ${quote(escaped)}`)
  }
  try {
    checkPath(path)
  } catch (err) {
    if (!(err instanceof InvalidPathError)) throw err
    throw new InvalidPathError('module', escaped, err.reason, `invalid escaped module path ${quote(escaped)}: ${err.message}`)
  }
  return path
}

/** Decodes an escaped version; throws InvalidVersionError for a bad escape or an invalid file name. */
export function unescapeVersion(escaped: string): string {
  const v = unescapeString(escaped)
  if (v === undefined) throw new InvalidVersionError(escaped, 'invalid escape')
  const reason = checkElem(v, 'file')
  if (reason !== undefined) throw new InvalidVersionError(v, reason)
  return v
}

function escapeString(s: string): string {
  for (const ch of s) {
    // Impossible after the checks above, but the encoding is only unambiguous without them.
    if (ch === '!' || ch.codePointAt(0)! >= 0x80) throw new Error(`internal error: cannot escape ${quote(s)}`)
  }
  return s.replace(/[A-Z]/g, (c) => `!${c.toLowerCase()}`)
}

/** The decoded string, or undefined when the escaping is invalid. */
function unescapeString(escaped: string): string | undefined {
  let out = ''
  let bang = false
  for (const ch of escaped) {
    if (ch.codePointAt(0)! >= 0x80) return undefined
    if (bang) {
      bang = false
      if (ch < 'a' || ch > 'z') return undefined           // "!" must be followed by a lower-case letter
      out += ch.toUpperCase()
      continue
    }
    if (ch === '!') {
      bang = true
      continue
    }
    if (ch >= 'A' && ch <= 'Z') return undefined           // upper case must have been escaped
    out += ch
  }
  return bang ? undefined : out
}
