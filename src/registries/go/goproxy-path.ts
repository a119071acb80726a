// The GOPROXY protocol's paths (https://go.dev/ref/mod#goproxy-protocol), below
// /api/packages/{owner}/go/:
//
//   {module}/@v/list            {module}/@v/{version}.info | .mod | .zip
//   {module}/@latest            sumdb/sum.golang.org/supported (and other sumdb/… paths)
//
// Module paths and versions arrive case-encoded ("!a" for "A"); the HTTP layer has already
// percent-decoded them ("%21" to "!"). Lookups by the result should ignore case (docs/http.md).

import { InvalidPathError, InvalidVersionError } from './errors.js'
import { unescapePath, unescapeVersion } from './module-path.js'

export type GoProxyRequest =
  | { kind: 'list' | 'latest'; module: string }
  | { kind: 'info' | 'mod' | 'zip'; module: string; version: string }
  | { kind: 'supported' }
  | { kind: 'sumdb' }

/**
 * Parses the path after `/api/packages/{owner}/go/`. Undefined when it is no GOPROXY request or
 * its module path or version is not validly encoded (a raw upper-case letter, "!" before anything
 * but a lower-case letter, an invalid module path).
 */
export function parseGoProxyPath(rest: string): GoProxyRequest | undefined {
  if (rest === 'sumdb/sum.golang.org/supported') return { kind: 'supported' }
  if (rest.startsWith('sumdb/')) return { kind: 'sumdb' }
  // Module paths never contain "@", so the first "/@" ends the module path.
  const at = rest.indexOf('/@')
  if (at <= 0) return undefined
  const module = decode(() => unescapePath(rest.slice(0, at)))
  if (module === undefined) return undefined
  const tail = rest.slice(at + 2)
  if (tail === 'latest') return { kind: 'latest', module }
  if (tail === 'v/list') return { kind: 'list', module }
  const m = /^v\/(.+)\.(info|mod|zip)$/.exec(tail)
  if (!m) return undefined
  const version = decode(() => unescapeVersion(m[1]!))
  if (version === undefined) return undefined
  return { kind: m[2] as 'info' | 'mod' | 'zip', module, version }
}

function decode(f: () => string): string | undefined {
  try {
    return f()
  } catch (err) {
    if (err instanceof InvalidPathError || err instanceof InvalidVersionError) return undefined
    throw err
  }
}
