// Credentials for tests, and factories that go through the services (never raw SQL).
import type { Services } from '../../src/services.js'
import type { User, Visibility, PackagesAccess } from '../../src/storage/db/schema.js'

export const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`
export const tokenAuth = (token: string) => `token ${token}`

export const PASSWORD = 'correct-horse-battery'

export async function makeUser(s: Services, name: string, opts: { admin?: boolean; visibility?: Visibility } = {}): Promise<User> {
  return s.users.create({ username: name, email: `${name}@example.com`, password: PASSWORD, isAdmin: opts.admin, visibility: opts.visibility })
}

export async function makeToken(s: Services, user: User, scopes: string[] = ['all'], name = `t-${Math.random().toString(36).slice(2)}`): Promise<string> {
  return (await s.tokens.create(user, { name, scopes })).token
}

export async function makeOrg(s: Services, name: string, creator: User, visibility: Visibility = 'public'): Promise<User> {
  return s.orgs.create({ name, visibility }, creator)
}

export async function makeTeam(s: Services, org: User, name: string, access: PackagesAccess, members: User[]): Promise<void> {
  const team = await s.orgs.createTeam(org, { name, packagesAccess: access })
  for (const m of members) await s.orgs.addMember(team, m)
}
