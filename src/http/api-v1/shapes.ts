// Gitea API v1 JSON shapes, built from our rows.
import type { AccessToken, Team, User } from '../../storage/db/schema.js'
import { tokenScopes } from '../../accounts/tokens.js'

const iso = (unix: number) => new Date(unix * 1000).toISOString()

export function publicBase(base: URL): string {
  return base.toString().replace(/\/$/, '')
}

export function userJson(u: User, base: URL, opts: { showEmail?: boolean } = {}) {
  return {
    id: u.id,
    login: u.name,
    login_name: '',
    source_id: 0,
    full_name: u.full_name,
    email: opts.showEmail === false ? '' : u.email,
    avatar_url: '',
    html_url: `${publicBase(base)}/${encodeURIComponent(u.name)}`,
    language: '',
    is_admin: !!u.is_admin,
    last_login: iso(u.updated_unix),
    created: iso(u.created_unix),
    restricted: false,
    active: true,
    prohibit_login: false,
    location: '',
    website: '',
    description: '',
    visibility: u.visibility,
    followers_count: 0,
    following_count: 0,
    starred_repos_count: 0,
    username: u.name,
  }
}

export function orgJson(o: User, base: URL) {
  return {
    id: o.id,
    name: o.name,
    username: o.name,
    full_name: o.full_name,
    email: o.email,
    avatar_url: '',
    html_url: `${publicBase(base)}/${encodeURIComponent(o.name)}`,
    description: '',
    website: '',
    location: '',
    visibility: o.visibility,
    repo_admin_change_team_access: false,
  }
}

export function teamJson(t: Team, org: User, base: URL) {
  const perm = t.is_owner_team ? 'owner' : t.packages_access === 'admin' ? 'admin' : t.packages_access === 'write' ? 'write' : t.packages_access === 'read' ? 'read' : 'none'
  return {
    id: t.id,
    name: t.name,
    description: t.description,
    organization: orgJson(org, base),
    includes_all_repositories: false,
    permission: perm,
    units: t.packages_access === 'none' && !t.is_owner_team ? [] : ['repo.packages'],
    units_map: { 'repo.packages': t.is_owner_team ? 'admin' : t.packages_access },
    can_create_org_repo: !!t.is_owner_team,
  }
}

export function tokenJson(t: AccessToken, secret?: string) {
  return {
    id: t.id,
    name: t.name,
    sha1: secret ?? '',
    token_last_eight: t.token_last_eight,
    scopes: tokenScopes(t),
  }
}
