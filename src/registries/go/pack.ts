// Builds a module zip from a directory the way the go command does (golang.org/x/mod/zip
// CreateFromDir): the same files left out for the same reasons, in the same order, under the
// `{module}@{version}/` prefix. Used by tests and tooling to make uploads; checkModuleZip accepts
// what it writes.

import { createReadStream, createWriteStream } from 'node:fs'
import { lstat, readdir, readFile, rm } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import type { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { InvalidPathError, InvalidVersionError, ModuleZipError, quote, type ModuleZipRule } from './errors.js'
import { GoModSyntaxError, parseGoMod } from './gomod.js'
import { check, checkFilePath } from './module-path.js'
import {
  CollisionChecker, isGoModName, isVendoredPackage, MAX_GO_MOD, MAX_LICENSE, MAX_ZIP_FILE,
} from './zip-rules.js'

export interface PackResult {
  module: string
  version: string
  /** Absolute path of the zip written. */
  file: string
  /** Paths (relative to dir, slash-separated) of the files in the zip, in zip order. */
  included: string[]
  /** Files and directories left out, with the reason (golang.org/x/mod/zip's wording). */
  omitted: { path: string; reason: string }[]
}

interface DirFile { rel: string; abs: string; size: number }

const VCS_DIRS = new Set(['.bzr', '.git', '.hg', '.svn'])
/** Zip entry times carry no meaning in a module zip; a fixed one makes packing reproducible. */
const ZIP_MTIME = new Date(1980, 0, 1)

/**
 * Packs `dir` (which must hold a go.mod naming the module) as `version` of that module into the
 * zip file `output`. Throws ModuleZipError when the module path, version or files break the
 * module zip rules; files with invalid names are left out (the go command would refuse instead).
 */
export async function packModule(dir: string, version: string, output: string): Promise<PackResult> {
  const root = resolve(dir)
  const { module, goVersion } = await readModule(root)
  try {
    check(module, version)
  } catch (err) {
    if (err instanceof InvalidPathError) throw new ModuleZipError('module-path', err.message)
    if (err instanceof InvalidVersionError) throw new ModuleZipError('version', err.message)
    throw err
  }
  const omitted: PackResult['omitted'] = []
  const found = await listFiles(root, goVersion, omitted)
  const files = selectFiles(found, omitted)
  const file = resolve(output)
  await writeZip(file, `${module}@${version}/`, files)
  return { module, version, file, included: files.map((f) => f.rel), omitted }
}

async function readModule(root: string): Promise<{ module: string; goVersion: string }> {
  let text: string
  try {
    text = await readFile(join(root, 'go.mod'), 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    throw new ModuleZipError('pack', `no go.mod in ${root}: packing needs it to know the module path`, 'go.mod')
  }
  try {
    const { module, go } = parseGoMod(text)
    if (module === undefined) throw new ModuleZipError('go-mod', `${join(root, 'go.mod')} has no module directive`, 'go.mod')
    return { module, goVersion: go ?? '' }
  } catch (err) {
    if (err instanceof GoModSyntaxError) throw new ModuleZipError('go-mod', err.message, 'go.mod')
    throw err
  }
}

/** Byte order, as Go's sort.Strings: filepath.Walk visits each directory's entries in this order. */
const byteOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b))

/**
 * Walks the tree like x/mod/zip's listFilesInDir: skips VCS directories, directories holding
 * their own go.mod (nested modules), files of vendored packages and anything not a regular file.
 */
async function listFiles(root: string, goVersion: string, omitted: PackResult['omitted']): Promise<DirFile[]> {
  const files: DirFile[] = []
  const walk = async (absDir: string, relDir: string): Promise<void> => {
    for (const name of (await readdir(absDir)).sort(byteOrder)) {
      const abs = join(absDir, name)
      const rel = relDir === '' ? name : `${relDir}/${name}`
      const info = await lstat(abs)
      if (isVendoredPackage(rel, goVersion)) {
        omitted.push({ path: rel, reason: 'file is in vendor directory' })
        if (info.isDirectory()) await walk(abs, rel)          // Go walks on, leaving out each file
        continue
      }
      if (info.isDirectory()) {
        if (VCS_DIRS.has(name)) {
          omitted.push({ path: rel, reason: 'directory is a version control repository' })
        } else if (await isModuleRoot(abs)) {
          omitted.push({ path: rel, reason: 'directory is in another module' })
        } else {
          await walk(abs, rel)
        }
      } else if (!info.isFile()) {
        omitted.push({ path: rel, reason: 'not a regular file' })  // symbolic links, sockets, devices
      } else {
        files.push({ rel, abs, size: info.size })
      }
    }
  }
  await walk(root, '')
  return files
}

async function isModuleRoot(absDir: string): Promise<boolean> {
  const info = await lstat(join(absDir, 'go.mod')).catch(() => undefined)
  return info !== undefined && !info.isDirectory()
}

/** x/mod/zip's checkFiles: which of the walked files go in the zip; throws for what cannot. */
function selectFiles(found: DirFile[], omitted: PackResult['omitted']): DirFile[] {
  // Directories with a go.mod in any case belong to another module (the walk only saw "go.mod").
  const moduleDirs = new Set<string>()
  for (const f of found) {
    const slash = f.rel.lastIndexOf('/')
    if (slash >= 0 && isGoModName(f.rel.slice(slash + 1))) moduleDirs.add(f.rel.slice(0, slash))
  }
  const inSubmodule = (rel: string) => {
    for (let dir = rel; dir.includes('/');) {
      dir = dir.slice(0, dir.lastIndexOf('/'))
      if (moduleDirs.has(dir)) return true
    }
    return false
  }
  const collisions = new CollisionChecker()
  const valid: DirFile[] = []
  let total = 0
  for (const f of found) {
    const fail = (rule: ModuleZipRule, message: string) => new ModuleZipError(rule, message, f.rel)
    if (inSubmodule(f.rel)) {
      omitted.push({ path: f.rel, reason: 'file is in another module' })
      continue
    }
    if (f.rel === '.hg_archival.txt') {
      omitted.push({ path: f.rel, reason: "file is inserted by 'hg archive' and is always omitted" })
      continue
    }
    try {
      checkFilePath(f.rel)
    } catch (err) {
      if (!(err instanceof InvalidPathError)) throw err
      omitted.push({ path: f.rel, reason: err.message })
      continue
    }
    if (isGoModName(f.rel) && f.rel !== 'go.mod') throw fail('nested-module', `go.mod files must have lowercase names: ${quote(f.rel)}`)
    const collision = collisions.check(f.rel, false)
    if (collision) throw fail('case-collision', collision)
    total += f.size
    if (total > MAX_ZIP_FILE) throw fail('too-large', `module source tree too large (max size is ${MAX_ZIP_FILE} bytes)`)
    if (f.rel === 'go.mod' && f.size > MAX_GO_MOD) throw fail('too-large', `go.mod file too large (max size is ${MAX_GO_MOD} bytes)`)
    if (f.rel === 'LICENSE' && f.size > MAX_LICENSE) throw fail('too-large', `LICENSE file too large (max size is ${MAX_LICENSE} bytes)`)
    valid.push(f)
  }
  return valid
}

/** Writes the zip; files are opened one at a time and must not change size while being read. */
async function writeZip(file: string, prefix: string, files: DirFile[]): Promise<void> {
  // yazl only for `wharf go push`, loaded then rather than with the server.
  const { default: yazl } = await import('yazl')
  const zip = new yazl.ZipFile()
  const out = createWriteStream(file)
  try {
    await new Promise<void>((done, fail) => {
      zip.on('error', fail)                                    // e.g. a file that changed size
      for (const f of files) {
        zip.addReadStreamLazy(prefix + f.rel, { size: f.size, mtime: ZIP_MTIME, forceDosTimestamp: true }, (cb) => {
          const input = createReadStream(f.abs)
          input.on('error', fail)                              // yazl does not pass read errors on
          cb(null, input)
        })
      }
      zip.end()
      pipeline(zip.outputStream, out).then(done, fail)
    })
  } catch (err) {
    ;(zip.outputStream as Readable).destroy()
    out.destroy()
    await rm(file, { force: true })
    throw err
  }
}
