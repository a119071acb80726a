// `wharf go pack|push` (src/registries/go/cli.ts). The environment is read here, and only here.
import type { Command } from 'commander'
import { registerGoCommands } from '../registries/go/cli.js'

export function registerGo(program: Command): void {
  const go = program.command('go').description('Go modules: build module zips and upload them')
  registerGoCommands(go, () => ({
    token: process.env.WHARF_TOKEN,
    // OpenSSL's variable, which the go command honours and Node does not; NODE_EXTRA_CA_CERTS Node reads itself.
    caFile: process.env.SSL_CERT_FILE || undefined,
  }))
}
