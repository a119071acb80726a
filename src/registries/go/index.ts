// The Go registry: module zips uploaded with PUT /upload, served over the GOPROXY protocol.
import { sizeLimitSetting, type RegistryModule } from '../registry-module.js'
import { registerGoCommands } from './cli.js'
import { routes } from './routes.js'
import { web } from './web.js'

export const go: RegistryModule = {
  name: 'go',
  displayName: 'Go',
  sizeLimitSetting: sizeLimitSetting('go'),
  routes,
  web,
  cli(program, env) {
    const cmd = program.command('go').description('Go modules: build module zips and upload them')
    registerGoCommands(cmd, () => ({
      token: env.WHARF_TOKEN,
      // OpenSSL's variable, which the go command honours and Node does not; NODE_EXTRA_CA_CERTS Node reads itself.
      caFile: env.SSL_CERT_FILE || undefined,
    }))
  },
}
