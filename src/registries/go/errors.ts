// Typed errors of the pure Go-module logic. Nothing here knows about HTTP: the Go registry's
// routes map a ModuleZipError to "400 not a valid module zip" (see docs/http.md, section Go).

/** Which rule a module zip broke; stable values, safe to switch on or log. */
export type ModuleZipRule =
  | 'not-zip'         // not a zip at all, or a corrupt one (bad CRC, sizes that lie, unsupported method)
  | 'empty'           // no entries, or no files
  | 'prefix'          // an entry outside the one `{module}@{version}/` prefix
  | 'module-path'     // the module path fails CheckPath
  | 'version'         // not canonical, or its major version disagrees with the path
  | 'file-path'       // a file path fails CheckFilePath or is not clean
  | 'case-collision'  // two paths equal when case-folded, or a path both a file and a directory
  | 'vendor'          // a file inside a package below vendor/
  | 'nested-module'   // a go.mod below the module root, or a GO.MOD spelled in another case
  | 'go-mod'          // the root go.mod is unreadable or declares another module path
  | 'too-large'       // go.mod, LICENSE, the zip file or its total uncompressed size over the cap
  | 'pack'            // packModule could not build a zip from a directory

/** A module zip (or the directory being packed into one) breaks a rule of golang.org/x/mod/zip. */
export class ModuleZipError extends Error {
  override readonly name = 'ModuleZipError'
  constructor(
    readonly rule: ModuleZipRule,
    message: string,
    /** The file path inside the module (after the prefix) the error is about, when there is one. */
    readonly path?: string,
    options?: ErrorOptions,
  ) {
    super(message, options)
  }
}

/** A module, import or file path breaks the rules of golang.org/x/mod/module. */
export class InvalidPathError extends Error {
  override readonly name = 'InvalidPathError'
  constructor(
    readonly kind: 'module' | 'import' | 'file',
    readonly path: string,
    /** Why, without the path: "missing dot in first path element". */
    readonly reason: string,
    message = `malformed ${kind} path ${quote(path)}: ${reason}`,
  ) {
    super(message)
  }
}

/** A version is not valid on its own, or not valid for the module path it goes with. */
export class InvalidVersionError extends Error {
  override readonly name = 'InvalidVersionError'
  constructor(
    readonly version: string,
    /** Why, without the version: "should be v2, not v1". */
    readonly reason: string,
    /** The module path, when the version was checked against one. */
    readonly path?: string,
    readonly pseudo = false,
  ) {
    super(path !== undefined
      ? `${path}@${version}: invalid ${pseudo ? 'pseudo-version' : 'version'}: ${reason}`
      : `${pseudo ? 'pseudo-version' : 'version'} ${quote(version)} invalid: ${reason}`)
  }
}

/** Go's %q for strings, close enough for messages: a double-quoted, escaped string. */
export function quote(s: string): string {
  return JSON.stringify(s)
}

/** Go's %q for a single rune: 'x'. */
export function quoteRune(ch: string): string {
  if (ch === "'") return "'\\''"
  return `'${JSON.stringify(ch).slice(1, -1)}'`
}
