// Semantic versions as the go command reads them: golang.org/x/mod/semver, plus the
// pseudo-version helpers of golang.org/x/mod/module (pseudo.go).
//
// Go's dialect of semver 2.0.0 (https://go.dev/ref/mod#versions): the leading "v" is required,
// "vMAJOR" and "vMAJOR.MINOR" are shorthands for vMAJOR.0.0 and vMAJOR.MINOR.0, numbers have no
// leading zeros, and build metadata ("+meta") is ignored when comparing.

import { InvalidVersionError } from './errors.js'

interface Parsed {
  major: string
  minor: string
  patch: string
  /** ".0.0" or ".0" when the version was a shorthand, else "". */
  short: string
  /** "-pre" including the dash, or "". */
  prerelease: string
  /** "+meta" including the plus, or "". */
  build: string
}

/** Reports whether v is a valid semantic version string (with the leading "v"). */
export function isValid(v: string): boolean {
  return parse(v) !== undefined
}

/**
 * The canonical formatting of v: missing .MINOR and .PATCH filled in, build metadata dropped.
 * Two versions compare equal only if their canonical formattings are identical.
 * The canonical form of an invalid version is "".
 */
export function canonical(v: string): string {
  const p = parse(v)
  if (!p) return ''
  if (p.build !== '') return v.slice(0, v.length - p.build.length)
  return p.short !== '' ? v + p.short : v
}

/** The major version prefix: major("v2.1.0") === "v2"; "" when v is invalid. */
export function major(v: string): string {
  const p = parse(v)
  return p ? v.slice(0, 1 + p.major.length) : ''
}

/** The major.minor prefix: majorMinor("v2.1.0") === "v2.1"; "" when v is invalid. */
export function majorMinor(v: string): string {
  const p = parse(v)
  if (!p) return ''
  const i = 1 + p.major.length
  const j = i + 1 + p.minor.length
  if (j <= v.length && v[i] === '.' && v.slice(i + 1, j) === p.minor) return v.slice(0, j)
  return `${v.slice(0, i)}.${p.minor}`
}

/** The prerelease suffix including its dash: prerelease("v2.1.0-pre+meta") === "-pre". */
export function prerelease(v: string): string {
  return parse(v)?.prerelease ?? ''
}

/** The build suffix including its plus: build("v2.1.0+meta") === "+meta". */
export function build(v: string): string {
  return parse(v)?.build ?? ''
}

/**
 * Compares two versions by semantic version precedence: -1, 0 or +1.
 * An invalid version is less than any valid one; all invalid versions are equal.
 */
export function compare(v: string, w: string): -1 | 0 | 1 {
  const pv = parse(v)
  const pw = parse(w)
  if (!pv && !pw) return 0
  if (!pv) return -1
  if (!pw) return 1
  return compareInt(pv.major, pw.major) || compareInt(pv.minor, pw.minor)
    || compareInt(pv.patch, pw.patch) || comparePrerelease(pv.prerelease, pw.prerelease)
}

/**
 * Sorts a list of versions in place by semantic version precedence, breaking ties (equal
 * precedence, e.g. "v1" and "v1.0.0") by string order, as Go's semver.Sort does. Returns the list.
 */
export function sort(list: string[]): string[] {
  return list.sort((a, b) => compare(a, b) || (a < b ? -1 : a > b ? 1 : 0))
}

// Pseudo-versions (https://go.dev/ref/mod#pseudo-versions) take one of three forms:
//   vX.0.0-yyyymmddhhmmss-abcdefabcdef          no earlier tagged version
//   vX.Y.Z-pre.0.yyyymmddhhmmss-abcdefabcdef    the latest earlier tag was vX.Y.Z-pre
//   vX.Y.(Z+1)-0.yyyymmddhhmmss-abcdefabcdef    the latest earlier tag was vX.Y.Z
// each optionally followed by build metadata such as "+incompatible".
const pseudoVersionRE =
  /^v[0-9]+\.(0\.0-|\d+\.\d+-([^+]*\.)?0\.)\d{14}-[A-Za-z0-9]+(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$/

/** Reports whether v is a pseudo-version. */
export function isPseudoVersion(v: string): boolean {
  return countDashes(v) >= 2 && isValid(v) && pseudoVersionRE.test(v)
}

/**
 * The UTC time stamp inside a pseudo-version. Throws InvalidVersionError when v is not a
 * pseudo-version or its time stamp is not a real time (month 13, February 30, …).
 */
export function pseudoVersionTime(v: string): Date {
  if (!isPseudoVersion(v)) throw new InvalidVersionError(v, 'syntax error', undefined, true)
  let rest = v.slice(0, v.length - build(v).length)
  rest = rest.slice(0, rest.lastIndexOf('-'))              // drop "-revision"
  const dash = rest.lastIndexOf('-')
  const dot = rest.lastIndexOf('.')
  const stamp = dot > dash ? rest.slice(dot + 1) : rest.slice(dash + 1)
  const time = parseTimestamp(stamp)
  if (!time) throw new InvalidVersionError(v, `malformed time ${JSON.stringify(stamp)}`, undefined, true)
  return time
}

/** Go's time.Parse("20060102150405", s) in UTC: every field must be in range. */
function parseTimestamp(s: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/.exec(s)
  if (!m) return undefined
  const [year, month, day, hour, minute, second] = m.slice(1).map(Number) as
    [number, number, number, number, number, number]
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return undefined
  const d = new Date(Date.UTC(2000, month - 1, day, hour, minute, second))
  d.setUTCFullYear(year)                                 // Date.UTC maps years 0–99 to 1900–1999
  if (d.getUTCMonth() !== month - 1) return undefined    // day past the end of the month
  return d
}

function countDashes(s: string): number {
  let n = 0
  for (const ch of s) if (ch === '-') n++
  return n
}

function parse(v: string): Parsed | undefined {
  if (v === '' || v[0] !== 'v') return undefined
  const p: Parsed = { major: '', minor: '', patch: '', short: '', prerelease: '', build: '' }
  let r = parseNumber(v.slice(1))
  if (!r) return undefined
  p.major = r.t
  let rest = r.rest
  if (rest === '') return { ...p, minor: '0', patch: '0', short: '.0.0' }
  if (rest[0] !== '.') return undefined
  r = parseNumber(rest.slice(1))
  if (!r) return undefined
  p.minor = r.t
  rest = r.rest
  if (rest === '') return { ...p, patch: '0', short: '.0' }
  if (rest[0] !== '.') return undefined
  r = parseNumber(rest.slice(1))
  if (!r) return undefined
  p.patch = r.t
  rest = r.rest
  if (rest[0] === '-') {
    const pre = parseIdents(rest, '-', true)
    if (!pre) return undefined
    p.prerelease = pre.t
    rest = pre.rest
  }
  if (rest[0] === '+') {
    const b = parseIdents(rest, '+', false)
    if (!b) return undefined
    p.build = b.t
    rest = b.rest
  }
  return rest === '' ? p : undefined
}

/** A decimal number without leading zeros at the start of v. */
function parseNumber(v: string): { t: string; rest: string } | undefined {
  if (v === '' || !isDigit(v[0]!)) return undefined
  let i = 1
  while (i < v.length && isDigit(v[i]!)) i++
  if (v[0] === '0' && i !== 1) return undefined
  return { t: v.slice(0, i), rest: v.slice(i) }
}

/**
 * "-pre.1" (prerelease, ends at "+") or "+build.5" (build, runs to the end): non-empty dot-separated
 * identifiers of [0-9A-Za-z-]; in a prerelease, numeric identifiers have no leading zeros.
 */
function parseIdents(v: string, lead: '-' | '+', isPre: boolean): { t: string; rest: string } | undefined {
  if (v[0] !== lead) return undefined
  let i = 1
  let start = 1
  while (i < v.length && !(isPre && v[i] === '+')) {
    const c = v[i]!
    if (!isIdentChar(c) && c !== '.') return undefined
    if (c === '.') {
      if (start === i || (isPre && isBadNum(v.slice(start, i)))) return undefined
      start = i + 1
    }
    i++
  }
  if (start === i || (isPre && isBadNum(v.slice(start, i)))) return undefined
  return { t: v.slice(0, i), rest: v.slice(i) }
}

const isDigit = (c: string) => c >= '0' && c <= '9'
const isIdentChar = (c: string) => (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || isDigit(c) || c === '-'
const isNum = (s: string) => /^[0-9]*$/.test(s)
/** An all-digit identifier with a leading zero, like "01". */
const isBadNum = (s: string) => /^[0-9]+$/.test(s) && s.length > 1 && s[0] === '0'

/** Compares decimal strings without leading zeros: the longer is larger, else string order. */
function compareInt(x: string, y: string): -1 | 0 | 1 {
  if (x === y) return 0
  if (x.length !== y.length) return x.length < y.length ? -1 : 1
  return x < y ? -1 : 1
}

function comparePrerelease(x: string, y: string): -1 | 0 | 1 {
  // semver.org §11: a prerelease is lower than the release; identifiers compare left to right,
  // numeric ones numerically and below alphanumeric ones, alphanumeric ones in ASCII order;
  // when all shared identifiers are equal, the longer list is higher.
  if (x === y) return 0
  if (x === '') return 1
  if (y === '') return -1
  const xs = x.slice(1).split('.')
  const ys = y.slice(1).split('.')
  for (let i = 0; i < xs.length && i < ys.length; i++) {
    const dx = xs[i]!
    const dy = ys[i]!
    if (dx === dy) continue
    const nx = isNum(dx)
    const ny = isNum(dy)
    if (nx !== ny) return nx ? -1 : 1
    if (nx && dx.length !== dy.length) return dx.length < dy.length ? -1 : 1
    return dx < dy ? -1 : 1
  }
  return xs.length < ys.length ? -1 : xs.length > ys.length ? 1 : 0
}
