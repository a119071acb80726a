// A package type is one folder under registries/ exporting a RegistryModule, listed in ./index.ts.
import type { FastifyPluginAsync } from 'fastify'

export interface RegistryModule {
  /** URL segment and package.type value; never renamed once shipped. */
  readonly name: string
  readonly displayName: string
  /** Mounted at /api/packages/:owner/<name>. */
  readonly routes: FastifyPluginAsync
}
