// A package type is one folder under registries/ exporting a RegistryModule, listed in ./index.ts.
// Everything the rest of Wharf needs to know about a type is here: config, the HTTP API, the web
// pages and the CLI loop over the registered modules and never name a type themselves.
import type { Command } from 'commander'
import type { FastifyPluginAsync } from 'fastify'
import type { Services } from '../services.js'
import type { User } from '../storage/db/schema.js'
import type { VersionView } from '../packages/package-service.js'
import type { Html } from '../web/html.js'

/** One version of a package as the web pages and install instructions refer to it. */
export interface VersionRef {
  /** The server's public URL (WHARF_PUBLIC_URL or the listen address), ending in "/". */
  readonly base: URL
  readonly owner: string
  readonly ownerPublic: boolean
  readonly name: string
  readonly version: string
}

export interface FileRef {
  readonly name: string
  readonly isLead: number
  readonly size: number | string
}

/** What a version page hands a type's hooks. */
export interface VersionPageInput {
  readonly services: Services
  readonly owner: User
  readonly version: VersionView
  readonly files: readonly FileRef[]
}

/** What a type adds to its version page; every part is optional. */
export interface VersionPageParts {
  /** Shown under the title, before the files (e.g. "retracted", "deprecated"). */
  readonly notices?: readonly Html[]
  /** Sections after the install instructions (e.g. go.mod). */
  readonly sections?: readonly Html[]
}

export interface RegistryWeb {
  /** The API URL a file of a version downloads from. */
  fileUrl(ref: VersionRef, file: FileRef): string
  /** The "Install" section of a version page. */
  install(ref: VersionRef & { readonly files: readonly FileRef[] }): Html
  /** Type-specific parts of a version page (go.mod, retractions, deprecation). */
  versionPage?(input: VersionPageInput): Promise<VersionPageParts> | VersionPageParts
  /**
   * Whether package names may contain "/" (Go module paths). Then a web path whose segments after
   * the type are an unencoded name (/{owner}/-/packages/go/example.com/m/v1.0.0) is redirected to
   * the encoded one (…/go/example.com%2Fm/v1.0.0).
   */
  readonly slashedNames?: boolean
}

export interface RegistryModule {
  /** URL segment and package.type value; never renamed once shipped. Lower-case letters and digits. */
  readonly name: string
  readonly displayName: string
  /** The environment variable of the largest file accepted (config parses it into config.limits[name]). */
  readonly sizeLimitSetting: string
  /** Mounted at /api/packages/:owner/<name>. */
  readonly routes: FastifyPluginAsync
  readonly web: RegistryWeb
  /** Adds the type's commands to `wharf` (e.g. `wharf go pack|push`); reads the environment it is given. */
  readonly cli?: (program: Command, env: Readonly<Record<string, string | undefined>>) => void
}

/** The conventional size-limit variable of a type: WHARF_LIMIT_SIZE_<TYPE>. */
export const sizeLimitSetting = (type: string) => `WHARF_LIMIT_SIZE_${type.toUpperCase()}`

/** apiBase(ref, 'go') → https://host/api/packages/{owner}/go */
export function apiBase(ref: Pick<VersionRef, 'base' | 'owner'>, type: string): string {
  return new URL(`api/packages/${encodeURIComponent(ref.owner)}/${type}`, ref.base).toString()
}
