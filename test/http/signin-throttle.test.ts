// The sign-in throttle (docs/http.md "Sign-in throttling"): counts in the database, bounded without
// forgetting the accounts under attack, a per-account slow-down across addresses that doubles and
// decays, tokens never throttled, and several instances on one database sharing the counts.
// Time is a test clock wherever a delay has to pass; real-time delays are only ever minutes long.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { startTestApp, testDatabases, type DbKind, type TestApp } from '../helpers/test-app.js'
import { basic, makeToken, makeUser, PASSWORD, tokenAuth } from '../helpers/auth.js'
import { call } from '../helpers/http.js'
import { WebClient } from '../web/web-client.js'
import { Authenticator } from '../../src/accounts/authenticate.js'
import { POLICIES, SignInThrottle, throttleRowKey, type ThrottleOptions } from '../../src/auth/throttle.js'
import { WharfError } from '../../src/errors.js'
import { totp } from '../../src/auth/totp.js'
import type { Services } from '../../src/services.js'

type T = Parameters<typeof startTestApp>[0]
type Outcome = 'ok' | 'wrong' | number

/** A password attempt from `address`: signed in, wrong (401), or the Retry-After of a 429 (seconds). */
async function attempt(auth: Authenticator, username: string, password: string, address: string): Promise<Outcome> {
  try {
    await auth.authenticate({ kind: 'basic', username, password }, address)
    return 'ok'
  } catch (err) {
    if (!(err instanceof WharfError)) throw err
    if (err.kind === 'unauthenticated') return 'wrong'
    assert.equal(err.kind, 'rate_limited')
    assert.ok(err.retryAfterSeconds !== undefined && err.retryAfterSeconds >= 1)
    return err.retryAfterSeconds
  }
}

/** An Authenticator over the app's users and tokens whose throttle runs on a test clock. */
function withClock(s: Services, opts: ThrottleOptions = {}) {
  const clock = { ms: Date.now() }
  const throttle = new SignInThrottle(s.db, { now: () => clock.ms, ...opts })
  return { clock, throttle, auth: new Authenticator(s.users, s.tokens, throttle) }
}

/** Runs `fn(i)` for i in [0, n), `width` at a time. */
async function inParallel(n: number, width: number, fn: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < n) await fn(next++)
  }))
}

async function twoInstances(t: T, db: DbKind): Promise<[TestApp, TestApp]> {
  const a = await startTestApp(t, { db })
  const b = await startTestApp(t, { env: { WHARF_DATABASE_URL: a.services.config.databaseUrl, WHARF_STORAGE_URL: a.services.config.storageUrl } })
  return [a, b]
}

for (const db of testDatabases()) {
  test(`[${db}] 10,001 failed sign-ins with made-up names do not reset a real account's counts`, async (t) => {
    const app = await startTestApp(t, { db })
    await makeUser(app.services, 'alice')
    // A small bound, so that the made-up names overflow it many times over.
    const { clock, throttle, auth } = withClock(app.services, { maxRows: 1000, pruneEvery: 100 })
    for (let i = 0; i < 10; i++) assert.equal(await attempt(auth, 'alice', `wrong-${i}`, '192.0.2.1'), 'wrong')
    for (let i = 0; i < 10; i++) assert.equal(await attempt(auth, 'alice', `wrong-${i}`, `198.51.100.${i}`), 'wrong')
    assert.equal(await attempt(auth, 'alice', PASSWORD, '192.0.2.1'), 60, 'this address is delayed for this account')
    assert.equal(await attempt(auth, 'alice', PASSWORD, '203.0.113.9'), 5, 'the account is delayed from any address')

    // Made-up names go the same way as real ones (a few through the authenticator), then 10,001 more
    // are recorded as it records them (weight 0: no such account), straight into the throttle.
    await inParallel(200, 8, async (i) => assert.equal(await attempt(auth, `made-up-${i}`, 'guess', '192.0.2.200'), 'wrong'))
    await inParallel(10_001, 8, async (i) => {
      const { pair, account } = Authenticator.passwordKeys(`made-up-too-${i}`, '192.0.2.200')
      await throttle.fail([pair, account], () => 0)
    })

    assert.equal(await attempt(auth, 'alice', PASSWORD, '192.0.2.1'), 60, 'the account+address count survived')
    assert.equal(await attempt(auth, 'alice', PASSWORD, '203.0.113.9'), 5, 'the account count survived')
    const { n } = await app.services.db.selectFrom('signin_failure').select((eb) => eb.fn.countAll<number>().as('n'))
      .where('weight', '<', 2).executeTakeFirstOrThrow()
    assert.ok(Number(n) <= 1000 + 2 * 100, `the table stays bounded (${n} evictable rows)`)
    // The made-up names themselves are throttled just like real ones (no enumeration by the throttle)…
    for (let i = 0; i < 10; i++) assert.equal(await attempt(auth, 'made-up-again', 'guess', '192.0.2.200'), 'wrong')
    assert.equal(await attempt(auth, 'made-up-again', 'guess', '192.0.2.200'), 60)

    // …and the delays end: a slow-down, not a lock-out.
    clock.ms += 61_000
    assert.equal(await attempt(auth, 'alice', PASSWORD, '192.0.2.1'), 'ok')
    assert.equal((await throttle.look([{ policy: POLICIES.account, subject: 'alice' }])).size, 1, 'the account count decays by itself')
  })

  test(`[${db}] failures from many addresses slow the account down: 429, Retry-After doubling to a cap, then decaying`, async (t) => {
    const app = await startTestApp(t, { db })
    await makeUser(app.services, 'alice')
    const { clock, throttle, auth } = withClock(app.services)
    const { free, baseDelayMs, maxDelayMs, forgetMs } = POLICIES.account
    let address = 0
    const fresh = () => `10.0.${Math.floor(++address / 250)}.${address % 250}`
    // Each address fails once: the per address limit never applies.
    const run = async (name: string) => {
      const seen: Outcome[] = []
      for (let i = 0; i < free; i++) seen.push(await attempt(auth, name, `wrong-${i}`, fresh()))
      assert.deepEqual(seen, Array(free).fill('wrong'))
      const delays: number[] = []
      for (let round = 0; round < 12; round++) {
        const wait = await attempt(auth, name, 'still-wrong', fresh())
        assert.equal(typeof wait, 'number', `round ${round}: 429`)
        delays.push(wait as number)
        // Attempts during the delay are refused without counting, so they cannot stretch it.
        for (let i = 0; i < 5; i++) assert.equal(await attempt(auth, name, 'hammer', fresh()), wait)
        clock.ms += (wait as number) * 1000
        assert.equal(await attempt(auth, name, `after-${round}`, fresh()), 'wrong')
      }
      return delays
    }
    const delays = await run('alice')
    const expected = delays.map((_, i) => Math.min(maxDelayMs, baseDelayMs * 2 ** i) / 1000)
    assert.deepEqual(delays, expected)
    assert.equal(delays.at(-1), maxDelayMs / 1000, 'capped')
    // During a delay even the right password is refused (the delay is no oracle).
    assert.equal(await attempt(auth, 'alice', PASSWORD, fresh()), maxDelayMs / 1000)
    // Quiet for the forget period after the last failure: the count is gone.
    const aliceKey = [{ policy: POLICIES.account, subject: 'alice' }]
    clock.ms += forgetMs - 1000
    assert.equal((await throttle.look(aliceKey)).get(throttleRowKey(aliceKey[0]!))?.count, free + 12)
    clock.ms += 1000
    assert.equal((await throttle.look(aliceKey)).size, 0)
    assert.equal(await attempt(auth, 'alice', PASSWORD, fresh()), 'ok')
    // A name that is no account is answered exactly alike.
    assert.deepEqual(await run('nobody-at-all'), delays)
    assert.equal(await attempt(auth, 'alice', 'wrong-again', fresh()), 'wrong', 'the count starts over')
  })

  test(`[${db}] a token signs in while the account's password is throttled; the password gets 429 with Retry-After`, async (t) => {
    const app = await startTestApp(t, { db })
    const s = app.services
    const alice = await makeUser(s, 'alice')
    const token = await makeToken(s, alice)
    // Failures from many addresses (the server does not trust X-Forwarded-For, so through the authenticator).
    for (let i = 0; i < POLICIES.account.free; i++) assert.equal(await attempt(s.auth, 'alice', `wrong-${i}`, `10.1.0.${i}`), 'wrong')
    // More failures recorded directly, so the delay is long enough for any machine's pace.
    const { account } = Authenticator.passwordKeys('alice', '')
    for (let i = 0; i < 10; i++) await s.auth.throttle.fail([account])

    const me = (auth: string) => call(`${app.url}/api/v1/user`, 'GET', auth)
    const refused = await me(basic('alice', PASSWORD))
    assert.equal(refused.status, 429, refused.text)
    const retry = Number(refused.headers.get('retry-after'))
    assert.ok(retry > 60 && retry <= POLICIES.account.maxDelayMs / 1000, `Retry-After ${retry}`)
    for (const auth of [tokenAuth(token), `Bearer ${token}`, basic('alice', token), basic(token, ''), basic(token, 'x-oauth-basic')]) {
      const r = await me(auth)
      assert.equal(r.status, 200, `${auth.split(' ')[0]}: ${r.text}`)
      assert.equal(r.body.login, 'alice')
    }
    // The package API too, and the web sign-in form refuses the password alike.
    assert.equal((await call(`${app.url}/api/packages/alice/generic/tool/1.0/a.bin`, 'GET', tokenAuth(token))).status, 404)
    const web = new WebClient(app.url)
    const r = await web.post('/-/login', { _csrf: await web.csrf('/-/login'), username: 'alice', password: PASSWORD, next: '/' })
    assert.equal(r.res.status, 429)
    assert.ok(Number(r.res.headers.get('retry-after')) > 60)
    // Other accounts are not affected.
    assert.equal((await me(basic('nobody', PASSWORD))).status, 401)
  })

  test(`[${db}] a key without failures is answered locally for a second; this instance's own failure ends that at once`, async (t) => {
    const app = await startTestApp(t, { db })
    const clock = { ms: Date.now() }
    const here = new SignInThrottle(app.services.db, { now: () => clock.ms })
    const there = new SignInThrottle(app.services.db, { now: () => clock.ms })
    const key = { policy: POLICIES.pair, subject: 'dave|127.0.0.1' }
    assert.equal(await here.retryAfterMs([key]), 0)
    // Another instance delays the key: here the remembered "clear" holds until its second is over.
    for (let i = 0; i < POLICIES.pair.free; i++) await there.fail([key])
    assert.ok(await there.retryAfterMs([key]) > 0)
    assert.equal(await here.retryAfterMs([key]), 0, 'answered from the local memory of the earlier lookup')
    clock.ms += 1001
    assert.ok(await here.retryAfterMs([key]) > 0, 'seen after the second')

    // A failure here is seen here at once, even within the second.
    const other = { policy: POLICIES.pair, subject: 'erin|127.0.0.1' }
    assert.equal(await here.retryAfterMs([other]), 0)
    for (let i = 0; i < POLICIES.pair.free; i++) await here.fail([other])
    assert.ok(await here.retryAfterMs([other]) > 0)

    // clearForMs 0: every lookup asks the database.
    const strict = new SignInThrottle(app.services.db, { now: () => clock.ms, clearForMs: 0 })
    const third = { policy: POLICIES.pair, subject: 'frank|127.0.0.1' }
    assert.equal(await strict.retryAfterMs([third]), 0)
    for (let i = 0; i < POLICIES.pair.free; i++) await there.fail([third])
    assert.ok(await strict.retryAfterMs([third]) > 0)
  })

  test(`[${db}] two instances on one database share the counts`, async (t) => {
    const [a, b] = await twoInstances(t, db)
    await makeUser(a.services, 'alice')
    const me = (app: TestApp, password: string) => call(`${app.url}/api/v1/user`, 'GET', basic('alice', password))
    // Failures on A throttle the same address on B, even with the right password.
    for (let i = 0; i < POLICIES.pair.free; i++) assert.equal((await me(a, `wrong-${i}`)).status, 401)
    const onB = await me(b, PASSWORD)
    assert.equal(onB.status, 429, onB.text)
    assert.ok(Number(onB.headers.get('retry-after')) >= 1)

    // Failures spread over both instances and many addresses add up to the account's slow-down.
    await makeUser(a.services, 'bob')
    for (let i = 0; i < POLICIES.account.free; i++) {
      assert.equal(await attempt((i % 2 ? a : b).services.auth, 'bob', `wrong-${i}`, `10.2.0.${i}`), 'wrong')
    }
    assert.equal(typeof await attempt(a.services.auth, 'bob', PASSWORD, '10.2.1.1'), 'number')
    assert.equal(typeof await attempt(b.services.auth, 'bob', PASSWORD, '10.2.1.2'), 'number')

    // Concurrent failures on both instances lose no count (atomic upserts, no read-modify-write).
    const key = { policy: POLICIES.account, subject: 'carol' }
    await inParallel(40, 8, (i) => (i % 2 ? a : b).services.auth.throttle.fail([key]))
    const row = await a.services.db.selectFrom('signin_failure').select(['count', 'blocked_until_ms'])
      .where('key', '=', throttleRowKey(key)).executeTakeFirstOrThrow()
    assert.equal(Number(row.count), 40)
    assert.ok(Number(row.blocked_until_ms) > Date.now() + 60_000, 'the longest delay of the racing failures holds')
  })
}

for (const db of testDatabases()) {
  test(`[${db}] wrong 2FA codes: a pending sign-in ends after 5, the account slows down across sign-ins and instances`, async (t) => {
    const [a, b] = await twoInstances(t, db)
    const alice = await makeUser(a.services, 'alice')
    const secret = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP'
    await a.services.users.setTotp(alice.id, secret, [])
    /** Signs in with the password on `app` and returns a client at the code step. */
    const pending = async (app: TestApp) => {
      const web = new WebClient(app.url)
      assert.equal((await web.signIn('alice', PASSWORD)).status, 303)
      return { web, _csrf: await web.csrf('/-/login/2fa') }
    }
    // Never a valid code: a 6-digit code none of the current steps has.
    const valid = new Set([-30_000, 0, 30_000].map((d) => totp(secret, Date.now() + d)))
    const wrong = ['000000', '111111', '222222', '333333', '444444', '555555', '666666'].filter((c) => !valid.has(c))
    for (const app of [a, b]) {
      const { web, _csrf } = await pending(app)
      const statuses: number[] = []
      for (let i = 0; i < POLICIES.pending.free; i++) statuses.push((await web.post('/-/login/2fa', { _csrf, code: wrong[i]!, next: '/' })).res.status)
      assert.deepEqual(statuses, [401, 401, 401, 401, 429], 'the fifth wrong code ends the pending sign-in')
      assert.equal((await web.get('/-/login/2fa')).res.status, 303, 'back to the password')
    }
    // 10 wrong codes on the two instances: the account's code step is delayed (made long here, so
    // that no machine is too slow for it), on either instance, even for the right code.
    const codes = { policy: POLICIES.totp, subject: String(alice.id) }
    for (let i = 0; i < 5; i++) await b.services.auth.throttle.fail([codes])
    const { web, _csrf } = await pending(a)
    const r = await web.post('/-/login/2fa', { _csrf, code: totp(secret), next: '/' })
    assert.equal(r.res.status, 429)
    assert.ok(Number(r.res.headers.get('retry-after')) > 60)
    // A token still works.
    const token = await makeToken(a.services, alice)
    assert.equal((await call(`${b.url}/api/v1/user`, 'GET', tokenAuth(token))).status, 200)
  })
}
