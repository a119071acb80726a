import { test } from 'node:test'
import assert from 'node:assert/strict'
import { base32Decode, base32Encode, hashRecoveryCode, matchTotp, totp, useRecoveryCode, verifyTotp } from './totp.js'

// RFC 6238 appendix B (SHA-1 rows), last six digits of the eight given there.
const SECRET = base32Encode(Buffer.from('12345678901234567890'))
for (const [t, code] of [[59, '287082'], [1111111109, '081804'], [1111111111, '050471'], [1234567890, '005924'], [2000000000, '279037'], [20000000000, '353130']] as const) {
  test(`RFC 6238 vector at ${t}`, () => assert.equal(totp(SECRET, t * 1000), code))
}

test('base32 round trip', () => {
  for (const n of [0, 1, 5, 10, 20, 33]) {
    const b = Buffer.alloc(n, 0xa7)
    assert.deepEqual(base32Decode(base32Encode(b)), b)
  }
  assert.throws(() => base32Decode('01!'))
})

test('verify accepts one step either side, and nothing else', () => {
  const at = 1_700_000_000_000
  for (const d of [-1, 0, 1]) assert.equal(verifyTotp(SECRET, totp(SECRET, at + d * 30_000), at), true)
  for (const d of [-3, 2, 3]) assert.equal(verifyTotp(SECRET, totp(SECRET, at + d * 30_000), at), false)
  assert.equal(matchTotp(SECRET, totp(SECRET, at), at), Math.floor(at / 30_000))
  for (const bad of ['', '12345', '1234567', 'abcdef', ' 12 34 5']) assert.equal(verifyTotp(SECRET, bad, at), false)
})

test('recovery codes are single-use', () => {
  const stored = JSON.stringify(['aaaaa-bbbbb', '01234-56789'].map(hashRecoveryCode))
  const rest = useRecoveryCode(stored, ' 01234-56789 ')
  assert.equal(rest?.length, 1)
  assert.equal(useRecoveryCode(JSON.stringify(rest), '01234-56789'), undefined)
  assert.equal(useRecoveryCode(stored, 'nope'), undefined)
  assert.equal(useRecoveryCode('not json', '01234-56789'), undefined)
  assert.equal(useRecoveryCode(null, '01234-56789'), undefined)
})
