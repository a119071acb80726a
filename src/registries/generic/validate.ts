// Generic package name, version and file name rules: docs/http.md "Generic" (Gitea 1.22's sets).
import { invalid } from '../../errors.js'

const MAX_LENGTH = 255

const NAME = /^[A-Za-z0-9._+-]+$/
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/
const FILE_NAME = /^[A-Za-z0-9._+\-=:;()[\]{}~!@#$%^& ]+$/

export function isValidPackageName(name: string): boolean {
  if (name.length === 0 || name.length > MAX_LENGTH || !NAME.test(name) || name === '..') return false
  return name.length > 1 || /^[A-Za-z0-9]$/.test(name)
}

export function isValidVersion(version: string): boolean {
  return version.length > 0 && version.length <= MAX_LENGTH && version.trim() === version && !CONTROL.test(version)
}

export function isValidFileName(file: string): boolean {
  return file.length > 0 && file.length <= MAX_LENGTH && FILE_NAME.test(file) && file.trim() === file
    && file !== '.' && file !== '..'
}

export interface GenericRef {
  name: string
  version: string
  file?: string
}

/** Throws an invalid WharfError (400) naming the first part that breaks its rule. */
export function validateRef(ref: GenericRef): void {
  if (!isValidPackageName(ref.name)) throw invalid('invalid package name')
  if (!isValidVersion(ref.version)) throw invalid('invalid package version')
  if (ref.file !== undefined && !isValidFileName(ref.file)) throw invalid('invalid file name')
}

export function isValidRef(ref: GenericRef): boolean {
  return isValidPackageName(ref.name) && isValidVersion(ref.version) && (ref.file === undefined || isValidFileName(ref.file))
}
