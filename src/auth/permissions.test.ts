// Every row of the access table: actor × owner kind × visibility × need → status (docs/http.md).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { decide, type Actor, type Decision, type OwnerFacts } from './permissions.js'
import { EVERY_SCOPE, expandScopes } from './scopes.js'
import type { PackagesAccess, Visibility } from '../storage/db/schema.js'

const STATUS: Record<Decision, number> = { allow: 200, challenge: 401, hide: 404, deny: 403 }
const user = (over: Partial<Actor> = {}): Actor => ({ userId: 2, name: 'u', isAdmin: false, scopes: EVERY_SCOPE, viaToken: false, ...over })

type Who = 'anonymous' | 'other user' | 'member (none)' | 'member (read)' | 'member (write)' | 'org owner' | 'the user itself' | 'site admin'
interface Row { who: Who; kind: 'user' | 'org'; read: [number, number, number]; write: [number, number, number] }

// Columns: public, limited, private.
const ROWS: Row[] = [
  { who: 'anonymous', kind: 'user', read: [200, 401, 401], write: [401, 401, 401] },
  { who: 'other user', kind: 'user', read: [200, 200, 404], write: [403, 403, 404] },
  { who: 'the user itself', kind: 'user', read: [200, 200, 200], write: [200, 200, 200] },
  { who: 'site admin', kind: 'user', read: [200, 200, 200], write: [200, 200, 200] },
  { who: 'anonymous', kind: 'org', read: [200, 401, 401], write: [401, 401, 401] },
  { who: 'other user', kind: 'org', read: [200, 200, 404], write: [403, 403, 404] },
  { who: 'member (none)', kind: 'org', read: [200, 200, 200], write: [403, 403, 403] },
  { who: 'member (read)', kind: 'org', read: [200, 200, 200], write: [403, 403, 403] },
  { who: 'member (write)', kind: 'org', read: [200, 200, 200], write: [200, 200, 200] },
  { who: 'org owner', kind: 'org', read: [200, 200, 200], write: [200, 200, 200] },
  { who: 'site admin', kind: 'org', read: [200, 200, 200], write: [200, 200, 200] },
]

function setup(who: Who, visibility: Visibility): { actor: Actor | null; owner: OwnerFacts } {
  const facts = (actorAccess: PackagesAccess, isMember: boolean): OwnerFacts => ({ visibility, actorAccess, isMember })
  switch (who) {
    case 'anonymous': return { actor: null, owner: facts('none', false) }
    case 'other user': return { actor: user(), owner: facts('none', false) }
    case 'member (none)': return { actor: user(), owner: facts('none', true) }
    case 'member (read)': return { actor: user(), owner: facts('read', true) }
    case 'member (write)': return { actor: user(), owner: facts('write', true) }
    case 'org owner': return { actor: user(), owner: facts('admin', true) }
    case 'the user itself': return { actor: user(), owner: facts('admin', true) }
    case 'site admin': return { actor: user({ isAdmin: true }), owner: facts('none', false) }
  }
}

const VIS: Visibility[] = ['public', 'limited', 'private']
for (const row of ROWS) {
  for (const need of ['read', 'write'] as const) {
    VIS.forEach((visibility, i) => {
      const expected = row[need][i]
      test(`${row.who} → ${visibility} ${row.kind}, ${need}: ${expected}`, () => {
        const { actor, owner } = setup(row.who, visibility)
        assert.equal(STATUS[decide(actor, owner, need)], expected)
      })
    })
  }
}

test('WHARF_REQUIRE_SIGNIN_VIEW: anonymous cannot read even public owners; signed-in users still can', () => {
  const policy = { requireSignInView: true }
  for (const visibility of VIS) {
    assert.equal(STATUS[decide(null, { visibility, actorAccess: 'none', isMember: false }, 'read', policy)], 401)
  }
  assert.equal(STATUS[decide(user(), { visibility: 'public', actorAccess: 'none', isMember: false }, 'read', policy)], 200)
  assert.equal(STATUS[decide(user(), { visibility: 'private', actorAccess: 'none', isMember: false }, 'read', policy)], 404)
})

test('a token without the package scope is refused with 403 before anything else, even for admins and owners', () => {
  const readOnly = user({ scopes: expandScopes(['read:package']), viaToken: true })
  const noPkg = user({ scopes: expandScopes(['read:user']), viaToken: true, isAdmin: true })
  const own: OwnerFacts = { visibility: 'private', actorAccess: 'admin', isMember: true }
  assert.equal(STATUS[decide(readOnly, own, 'read')], 200)
  assert.equal(STATUS[decide(readOnly, own, 'write')], 403)
  assert.equal(STATUS[decide(noPkg, own, 'read')], 403)
  assert.equal(STATUS[decide(user({ scopes: expandScopes(['write:package']) }), own, 'read')], 200, 'write implies read')
})
