// `wharf admin user create|generate-access-token|change-password|list`
import type { Command } from 'commander'
import type { Services } from '../services.js'
import { withServices } from './index.js'
import { parseScopes } from '../auth/scopes.js'
import { checkVisibility } from '../accounts/users.js'
import { CLI_ACTOR } from '../ops/audit.js'

export function registerAdminUser(user: Command, open: () => Promise<Services>): void {
  user.command('create').description('create a user')
    .requiredOption('--username <name>')
    .requiredOption('--password <password>')
    .requiredOption('--email <email>')
    .option('--admin', 'make the user a site administrator', false)
    .option('--visibility <v>', 'public, limited or private', 'public')
    .option('--must-change-password', 'ask the user to change the password', false)
    .action(withServices(open, async (s, o: { username: string; password: string; email: string; admin: boolean; visibility: string; mustChangePassword: boolean }) => {
      const u = await s.users.create({
        username: o.username, password: o.password, email: o.email, isAdmin: o.admin,
        visibility: checkVisibility(o.visibility), mustChangePassword: o.mustChangePassword,
      }, CLI_ACTOR)
      process.stdout.write(`New user '${u.name}' has been successfully created!\n`)
    }))

  user.command('generate-access-token').description('create an access token for a user')
    .requiredOption('--username <name>')
    .option('--token-name <name>', 'the token\'s name', 'gitea-admin')
    .option('--scopes <list>', 'comma-separated, e.g. write:package,read:package', 'all')
    .option('--raw', 'print only the token', false)
    .action(withServices(open, async (s, o: { username: string; tokenName: string; scopes: string; raw: boolean }) => {
      const u = await s.users.getIndividual(o.username)
      const { token } = await s.tokens.create(u, { name: o.tokenName, scopes: parseScopes(o.scopes) }, CLI_ACTOR)
      process.stdout.write(o.raw ? `${token}\n` : `Access token was successfully created: ${token}\n`)
    }))

  user.command('change-password').description('set a user\'s password')
    .requiredOption('--username <name>')
    .requiredOption('--password <password>')
    .action(withServices(open, async (s, o: { username: string; password: string }) => {
      const u = await s.users.update(o.username, { password: o.password }, CLI_ACTOR)
      process.stdout.write(`${u.name}'s password has been successfully updated!\n`)
    }))

  user.command('list').description('list users')
    .option('--admin', 'only site administrators', false)
    .action(withServices(open, async (s, o: { admin: boolean }) => {
      const rows = (await s.users.list({ type: 0 })).filter((u) => !o.admin || u.is_admin)
      const lines = ['ID\tUsername\tEmail\tIsActive\tIsAdmin\t2FA\tVisibility']
      for (const u of rows) lines.push(`${u.id}\t${u.name}\t${u.email}\ttrue\t${!!u.is_admin}\t${!!u.totp_secret}\t${u.visibility}`)
      process.stdout.write(`${lines.join('\n')}\n`)
    }))
}
