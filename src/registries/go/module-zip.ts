// Validation of an uploaded module zip, as golang.org/x/mod/zip's CheckZip and the go command
// see it (https://go.dev/ref/mod#zip-files), plus the rules of docs/http.md (section Go).
//
// The zip is read from disk with yauzl one entry at a time, and every file is inflated as a
// stream and thrown away: sizes are counted on the bytes that actually come out of the inflater,
// so a zip bomb is stopped as soon as it passes a cap, in constant memory. Only go.mod is kept.

import { open } from 'node:fs/promises'
import { crc32 } from 'node:zlib'
import yauzl from 'yauzl'
import type { Entry, ZipFile } from 'yauzl'
import { InvalidPathError, InvalidVersionError, ModuleZipError, quote, type ModuleZipRule } from './errors.js'
import { GoModSyntaxError, parseGoMod } from './gomod.js'
import { checkZipLayout, type LayoutEntry } from './zip-layout.js'
import { check, checkFilePath } from './module-path.js'
import {
  CollisionChecker, isCleanPath, isGoModName, isVendoredPackage, MAX_GO_MOD, MAX_LICENSE, MAX_ZIP_FILE,
} from './zip-rules.js'

export interface ModuleZipLimits {
  /** Cap on the zip file's size and on the total uncompressed size of its files; default 500 MiB. */
  maxTotal?: number
  /** Cap on the root go.mod; default 16 MiB. */
  maxGoMod?: number
  /** Cap on the root LICENSE; default 16 MiB. */
  maxLicense?: number
}

export interface ModuleZipInfo {
  ok: true
  /** The module path, from the prefix of the zip's entries. */
  module: string
  /** The canonical version, from the prefix of the zip's entries. */
  version: string
  /** The root go.mod, or `module {path}\n` when the zip has none. */
  goMod: string
  goModSynthesized: boolean
  /** Number of files (directory entries not counted). */
  files: number
}

/**
 * Checks that `file` is a module zip as the go command makes it. Resolves with the module path,
 * version and go.mod it carries; rejects with ModuleZipError naming the rule that failed.
 * Errors reading the file itself (ENOENT, EACCES) are passed on unchanged.
 */
export async function checkModuleZip(file: string, opts: ModuleZipLimits = {}): Promise<ModuleZipInfo> {
  const limits = {
    maxTotal: opts.maxTotal ?? MAX_ZIP_FILE,
    maxGoMod: opts.maxGoMod ?? MAX_GO_MOD,
    maxLicense: opts.maxLicense ?? MAX_LICENSE,
  }
  let layout: LayoutEntry[]
  const fh = await open(file, 'r')
  try {
    const { size } = await fh.stat()
    if (size > limits.maxTotal) {
      throw new ModuleZipError('too-large', `module zip file is too large (${size} bytes; limit is ${limits.maxTotal} bytes)`)
    }
    layout = await checkZipLayout(fh, size)
  } finally {
    await fh.close()
  }
  let zip: ZipFile
  try {
    zip = await yauzl.openPromise(file, { lazyEntries: true, autoClose: true, decodeStrings: false, validateEntrySizes: true })
  } catch (err) {
    throw asZipError(err)
  }
  zip.on('error', () => {})                                  // late errors (closing the file) are not ours to crash on
  const checker = new ZipChecker(limits, layout)
  try {
    for await (const entry of zip.eachEntry()) await checker.visit(zip, entry)
  } catch (err) {
    throw asZipError(err)
  } finally {
    zip.close()
  }
  return checker.finish()
}

/** yauzl's own errors mean the bytes are not a readable zip; file system errors pass through. */
function asZipError(err: unknown): unknown {
  if (err instanceof ModuleZipError) return err
  if (err instanceof Error && typeof (err as NodeJS.ErrnoException).code === 'string') return err
  const reason = err instanceof Error ? err.message : String(err)
  return new ModuleZipError('not-zip', `not a valid zip file: ${reason}`, undefined, { cause: err })
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

class ZipChecker {
  private module = ''
  private version = ''
  private prefix: string | undefined
  private entries = 0
  private files = 0
  private declaredTotal = 0
  private inflatedTotal = 0
  private goModChunks: Buffer[] | undefined
  private readonly collisions = new CollisionChecker()
  /** Vendored under one of the two go-version variants of the rule: decided once go.mod is read. */
  private readonly maybeVendored: string[] = []

  constructor(private readonly limits: Required<ModuleZipLimits>, private readonly layout: readonly LayoutEntry[]) {}

  async visit(zip: ZipFile, entry: Entry): Promise<void> {
    // checkZipLayout already proved there is one reading of the file; yauzl must have found it.
    const expected = this.layout[this.entries++]
    if (!expected || !expected.nameRaw.equals(entry.fileNameRaw) || expected.localOffset !== entry.relativeOffsetOfLocalHeader
      || expected.compressedSize !== entry.compressedSize || expected.crc32 !== entry.crc32) {
      throw new ModuleZipError('not-zip', 'not a valid zip file: entries disagree with the central directory')
    }
    let fullName: string
    try {
      fullName = utf8.decode(entry.fileNameRaw)
    } catch {
      throw new ModuleZipError('file-path', `zip entry name is not valid UTF-8: ${quote(entry.fileNameRaw.toString('latin1'))}`)
    }
    const prefix = this.prefix ?? this.takePrefix(fullName)
    if (!fullName.startsWith(prefix)) {
      throw new ModuleZipError('prefix', `zip file paths must all start with ${prefix} (found ${quote(fullName)})`)
    }
    let name = fullName.slice(prefix.length)
    if (name === '') return                                  // the prefix directory itself
    const isDir = name.endsWith('/')
    if (isDir) name = name.slice(0, -1)
    const fail = (rule: ModuleZipRule, message: string) => new ModuleZipError(rule, message, name)

    if (!isCleanPath(name)) throw fail('file-path', `file path is not clean: ${quote(name)}`)
    try {
      checkFilePath(name)
    } catch (err) {
      if (err instanceof InvalidPathError) throw fail('file-path', err.message)
      throw err
    }
    const collision = this.collisions.check(name, isDir)
    if (collision) throw fail('case-collision', collision)
    if (isDir) return

    const base = name.slice(name.lastIndexOf('/') + 1)
    if (isGoModName(base)) {
      if (base !== name) throw fail('nested-module', `go.mod file not in module root directory: ${quote(name)} (a module zip holds no nested modules)`)
      if (name !== 'go.mod') throw fail('nested-module', `go.mod files must have lowercase names: ${quote(name)}`)
    }
    const vendoredOld = isVendoredPackage(name, '')
    const vendoredNew = isVendoredPackage(name, 'go1.24')
    if (vendoredOld && vendoredNew) throw fail('vendor', vendorMessage(name))
    if (vendoredOld || vendoredNew) this.maybeVendored.push(name)
    if (entry.isEncrypted()) throw fail('not-zip', `not a valid zip file: entry ${quote(name)} is encrypted`)

    // Headers are checked first only to fail early; the bytes inflated below are what counts.
    const cap = name === 'go.mod' ? this.limits.maxGoMod : name === 'LICENSE' ? this.limits.maxLicense : Infinity
    if (entry.uncompressedSize > cap) throw fail('too-large', capMessage(name, cap))
    this.declaredTotal += entry.uncompressedSize
    if (this.declaredTotal > this.limits.maxTotal) throw fail('too-large', totalMessage(this.limits.maxTotal))
    await this.inflate(zip, entry, name, cap)
    this.files++
  }

  /** Module path and version come from the first entry: the zip carries them nowhere else. */
  private takePrefix(first: string): string {
    const at = first.indexOf('@')                            // module paths never contain "@"
    const slash = at < 0 ? -1 : first.indexOf('/', at)
    if (at <= 0 || slash < 0) {
      throw new ModuleZipError('prefix',
        `zip file paths must all start with {module}@{version}/ (first entry is ${quote(first)})`)
    }
    this.module = first.slice(0, at)
    this.version = first.slice(at + 1, slash)
    try {
      check(this.module, this.version)
    } catch (err) {
      if (err instanceof InvalidPathError) throw new ModuleZipError('module-path', err.message)
      if (err instanceof InvalidVersionError) throw new ModuleZipError('version', err.message)
      throw err
    }
    this.prefix = first.slice(0, slash + 1)
    return this.prefix
  }

  /** Streams one entry through the inflater, counting and CRC-checking what comes out. */
  private async inflate(zip: ZipFile, entry: Entry, name: string, cap: number): Promise<void> {
    const stream = await zip.openReadStreamPromise(entry)
    const keep = name === 'go.mod'
    if (keep) this.goModChunks = []
    let bytes = 0
    let crc = 0
    try {
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        bytes += chunk.length
        this.inflatedTotal += chunk.length
        if (bytes > cap) throw new ModuleZipError('too-large', capMessage(name, cap), name)
        if (this.inflatedTotal > this.limits.maxTotal) {
          throw new ModuleZipError('too-large', totalMessage(this.limits.maxTotal), name)
        }
        crc = crc32(chunk, crc)
        if (keep) this.goModChunks!.push(chunk)
      }
    } catch (err) {
      if (err instanceof ModuleZipError) throw err
      const reason = err instanceof Error ? err.message : String(err)
      throw new ModuleZipError('not-zip', `not a valid zip file: entry ${quote(name)}: ${reason}`, name, { cause: err })
    } finally {
      stream.destroy()                                       // stops the inflater when we leave early
    }
    if (crc !== entry.crc32) {
      throw new ModuleZipError('not-zip', `not a valid zip file: entry ${quote(name)} fails its CRC-32 check`, name)
    }
  }

  finish(): ModuleZipInfo {
    if (this.entries === 0) throw new ModuleZipError('empty', 'the zip file is empty')
    if (this.files === 0) throw new ModuleZipError('empty', `the zip file holds no files under ${this.prefix}`)
    let goMod = `module ${this.module}\n`
    let goVersion = ''
    const goModSynthesized = this.goModChunks === undefined
    if (this.goModChunks) {
      try {
        goMod = utf8.decode(Buffer.concat(this.goModChunks))
      } catch {
        throw new ModuleZipError('go-mod', 'go.mod is not valid UTF-8', 'go.mod')
      }
      let declared: string | undefined
      try {
        const parsed = parseGoMod(goMod)
        declared = parsed.module
        goVersion = parsed.go ?? ''
      } catch (err) {
        if (err instanceof GoModSyntaxError) throw new ModuleZipError('go-mod', err.message, 'go.mod')
        throw err
      }
      if (declared === undefined) throw new ModuleZipError('go-mod', 'go.mod has no module directive', 'go.mod')
      if (declared !== this.module) {
        throw new ModuleZipError('go-mod',
          `go.mod declares module ${quote(declared)}, but the zip is for module ${quote(this.module)}`, 'go.mod')
      }
    }
    const vendored = this.maybeVendored.find((name) => isVendoredPackage(name, goVersion))
    if (vendored !== undefined) throw new ModuleZipError('vendor', vendorMessage(vendored), vendored)
    return { ok: true, module: this.module, version: this.version, goMod, goModSynthesized, files: this.files }
  }
}

const capMessage = (name: string, cap: number) => `${name} file too large (max size is ${cap} bytes)`
const totalMessage = (cap: number) => `total uncompressed size of module contents too large (max size is ${cap} bytes)`
const vendorMessage = (name: string) =>
  `file is in a vendored package: ${quote(name)} (the go command never puts vendor/ sub-folders in a module zip)`
