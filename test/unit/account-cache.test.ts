// The short-lived account caches (src/accounts/account-cache.ts): a hit saves the query, and any
// write to an account table, through any service or none, empties them at once on this instance.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { startTestApp, testDatabases } from '../helpers/test-app.js'
import { AccountCache, TtlCache } from '../../src/accounts/account-cache.js'
import { prepared } from '../../src/storage/db/prepared.js'

for (const db of testDatabases()) {
  test(`${db}: owner, membership and token lookups are cached until an account table is written`, async (t) => {
    const { services: s } = await startTestApp(t, { db })
    const alice = await s.users.create({ username: 'alice', password: 'alice-pass-123', email: 'alice@example.com' })
    const bob = await s.users.create({ username: 'bob', password: 'bob-pass-1234', email: 'bob@example.com' })
    const org = await s.orgs.create({ name: 'acme', visibility: 'private' }, alice)
    const { token } = await s.tokens.create(bob, { name: 't', scopes: ['read:package'] })

    const first = await s.users.findOwner('Alice')
    assert.equal(await s.users.findOwner('alice'), first, 'the second lookup is the cached row')
    assert.equal((await s.orgs.membership(org.id, bob.id)).isMember, false)
    assert.ok(await s.tokens.lookup(token))

    // A write that bypasses every service still empties the caches (the Kysely plugin sees it).
    await s.db.updateTable('user').set({ visibility: 'limited' }).where('id', '=', alice.id).execute()
    assert.equal((await s.users.findOwner('alice'))?.visibility, 'limited')

    const team = await s.orgs.createTeam(org, { name: 'readers', packagesAccess: 'read' })
    await s.orgs.addMember(team, bob)
    assert.deepEqual(await s.orgs.membership(org.id, bob.id), { isMember: true, isOwner: false, access: 'read' })
    await s.orgs.removeMember(team, bob)
    assert.equal((await s.orgs.membership(org.id, bob.id)).isMember, false, 'a removed member loses access at once')

    await s.tokens.delete(bob, 't')
    assert.equal(await s.tokens.lookup(token), undefined, 'a revoked token stops working at once')

    await s.db.deleteFrom('user').where('id', '=', bob.id).execute()
    assert.equal(await s.users.findOwner('bob'), undefined)
  })

  test(`${db}: a prepared query runs with new arguments each time`, async (t) => {
    const { services: s } = await startTestApp(t, { db })
    await s.users.create({ username: 'carol', password: 'carol-pass-123', email: 'carol@example.com' })
    await s.users.create({ username: 'dave', password: 'dave-pass-1234', email: 'dave@example.com' })
    const byName = prepared(s.db, 2, (d, lower: string, type: number) =>
      d.selectFrom('user').select(['name', 'email']).where('lower_name', '=', lower).where('type', '=', type).where('is_admin', '=', 0))
    assert.deepEqual(await byName('carol', 0), [{ name: 'carol', email: 'carol@example.com' }])
    assert.deepEqual(await byName('dave', 0), [{ name: 'dave', email: 'dave@example.com' }])
    assert.deepEqual(await byName('dave', 1), [])
  })
}

test('a lookup that raced an account write is not cached; entries expire', async () => {
  const accounts = new AccountCache()
  const c = accounts.create<string, number>(50)
  let release!: () => void
  const slow = accounts.through(c, 'k', () => new Promise<number>((r) => { release = () => r(1) }))
  accounts.clear() // a write lands while the read is in flight
  release()
  assert.equal(await slow, 1)
  assert.equal(c.get('k'), undefined, 'the possibly stale value was not cached')
  assert.equal(await accounts.through(c, 'k', async () => 2), 2)
  assert.equal(await accounts.through(c, 'k', async () => 3), 2, 'cached')
  const expired = new TtlCache<string, number>(-1)
  expired.set('x', 1)
  assert.equal(expired.get('x'), undefined)
})
