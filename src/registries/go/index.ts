// The Go registry: module zips uploaded with PUT /upload, served over the GOPROXY protocol.
import type { RegistryModule } from '../registry-module.js'
import { routes } from './routes.js'

export const go: RegistryModule = {
  name: 'go',
  displayName: 'Go',
  routes,
}
