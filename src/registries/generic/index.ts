// The Generic registry: any file, under a package name and version (Gitea's "generic" type).
import type { RegistryModule } from '../registry-module.js'
import { routes } from './routes.js'

export const generic: RegistryModule = {
  name: 'generic',
  displayName: 'Generic',
  routes,
}
