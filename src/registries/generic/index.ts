// The Generic registry: any file, under a package name and version (Gitea's "generic" type).
import { sizeLimitSetting, type RegistryModule } from '../registry-module.js'
import { routes } from './routes.js'
import { web } from './web.js'

export const generic: RegistryModule = {
  name: 'generic',
  displayName: 'Generic',
  sizeLimitSetting: sizeLimitSetting('generic'),
  routes,
  web,
}
