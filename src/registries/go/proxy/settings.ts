// The proxy's settings as the operator writes them (WHARF_GO_UPSTREAM, WHARF_GO_PRIVATE,
// WHARF_GO_SUMDB), parsed by config.ts. Pure functions: a bad value throws SettingError with the
// reason, and config.ts names the variable.

export class SettingError extends Error {
  override readonly name = 'SettingError'
}

/** One upstream proxy of a GOPROXY-style list. */
export interface UpstreamProxy {
  /** Base URL without a trailing slash: `${url}/${escapedPath}/@v/list`. */
  readonly url: string
  /**
   * How the go command reads the separator after this entry: `|` falls through to the next proxy
   * on any error, `,` only on 404 and 410 (https://go.dev/ref/mod#goproxy-protocol).
   */
  readonly fallBackOnError: boolean
}

/**
 * Parses a GOPROXY-style list: URLs separated by `,` or `|`. `direct` and `off` have no meaning on
 * a server (it never talks to version control) and are refused.
 */
export function parseUpstreamList(raw: string): UpstreamProxy[] {
  const out: UpstreamProxy[] = []
  let rest = raw.trim()
  while (rest !== '') {
    const m = /^([^,|]*)([,|]?)/.exec(rest)!
    const entry = m[1]!.trim()
    rest = rest.slice(m[0].length)
    if (entry === '') {
      if (m[2] === '') break
      continue
    }
    if (entry === 'direct' || entry === 'off') {
      throw new SettingError(`'${entry}' is not supported: Wharf only talks to module proxies; list proxy URLs (https://proxy.golang.org)`)
    }
    let url: URL
    try {
      url = new URL(entry)
    } catch {
      throw new SettingError(`not a URL: '${entry}'`)
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new SettingError(`expected http:// or https:// URLs, got '${entry}'`)
    if (url.search !== '' || url.hash !== '') throw new SettingError(`a proxy URL has no query or fragment: '${entry}'`)
    out.push({ url: url.toString().replace(/\/+$/, ''), fallBackOnError: m[2] === '|' })
  }
  if (out.length === 0) throw new SettingError('expected one or more proxy URLs separated by , or |')
  return out
}

/** A checksum database to pass through: `NAME[+KEY] [URL]` as in GOSUMDB; URL defaults to https://NAME. */
export interface SumdbSetting {
  readonly name: string
  readonly url: string
}

/** One or more `NAME[+KEY] [URL]`, separated by commas. The key is the client's business and ignored. */
export function parseSumdbList(raw: string): SumdbSetting[] {
  const out: SumdbSetting[] = []
  for (const part of raw.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    const words = part.split(/\s+/)
    if (words.length > 2) throw new SettingError(`expected NAME or 'NAME URL', got '${part}'`)
    const name = words[0]!.split('+')[0]!
    if (!/^[a-z0-9][a-z0-9.-]*$/.test(name)) throw new SettingError(`invalid checksum database name '${name}'`)
    let url: URL
    try {
      url = new URL(words[1] ?? `https://${name}`)
    } catch {
      throw new SettingError(`not a URL: '${words[1]}'`)
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new SettingError(`expected an http:// or https:// URL, got '${words[1]}'`)
    if (out.some((s) => s.name === name)) throw new SettingError(`checksum database '${name}' is listed twice`)
    out.push({ name, url: url.toString().replace(/\/+$/, '') })
  }
  if (out.length === 0) throw new SettingError('expected a checksum database name, e.g. sum.golang.org')
  return out
}

/**
 * GOPRIVATE-style globs (comma-separated, path.Match syntax) → a matcher that is true when a
 * pattern matches a leading run of the module path's elements (module.MatchPrefixPatterns).
 */
export function parseModuleGlobs(raw: string): string[] {
  const globs = raw.split(',').map((s) => s.trim()).filter((s) => s !== '')
  for (const g of globs) globToRegExp(g)          // throws on a malformed pattern
  return globs
}

export function matchesModuleGlobs(globs: readonly string[], modulePath: string): boolean {
  const elems = modulePath.split('/')
  for (const g of globs) {
    const n = g.replace(/\/+$/, '').split('/').length
    if (n > elems.length) continue
    if (globToRegExp(g.replace(/\/+$/, '')).test(elems.slice(0, n).join('/'))) return true
  }
  return false
}

const cache = new Map<string, RegExp>()

/** Go's path.Match syntax: `*` and `?` stay within one element, `[…]` classes, `\` escapes. */
function globToRegExp(glob: string): RegExp {
  const hit = cache.get(glob)
  if (hit) return hit
  let re = '^'
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!
    if (c === '*') re += '[^/]*'
    else if (c === '?') re += '[^/]'
    else if (c === '\\') {
      const next = glob[++i]
      if (next === undefined) throw new SettingError(`malformed pattern '${glob}'`)
      re += escapeRe(next)
    } else if (c === '[') {
      const end = glob.indexOf(']', i + 2)
      if (end < 0) throw new SettingError(`malformed pattern '${glob}'`)
      let body = glob.slice(i + 1, end)
      const negate = body.startsWith('^')
      if (negate) body = body.slice(1)
      re += `[${negate ? '^/' : ''}${body.replace(/[\]\\^]/g, (x) => `\\${x}`)}]`
      i = end
    } else re += escapeRe(c)
  }
  const out = new RegExp(`${re}$`)
  cache.set(glob, out)
  return out
}

const escapeRe = (c: string) => c.replace(/[.*+?^${}()|[\]\\/-]/g, (x) => `\\${x}`)
