// OIDC trusted publishing: an owner's writers define trust policies (issuer, audience, claim globs,
// scopes, lifetime); a CI job's ID token is verified against its issuer's discovery document and
// JWKS and exchanged for a short-lived Wharf token limited to that owner. Issuers must be https
// and public unless WHARF_OIDC_ALLOWED_HOSTS lists them; every fetch has a deadline and a size cap.
import type { Kysely } from 'kysely'
import type { JWTPayload, createRemoteJWKSet } from 'jose'

// jose is loaded at the first exchange, not at start-up: most servers never see an OIDC token, and
// it costs idle memory (issue 9: ≤ 100 MiB idle).
type Jose = typeof import('jose')
let jose: Jose | undefined
const loadJose = async (): Promise<Jose> => (jose ??= await import('jose'))
import type { Database, OidcPolicy, User } from '../storage/db/schema.js'
import type { TokenService } from '../accounts/tokens.js'
import { parseScopes, type Scope } from '../auth/scopes.js'
import { WharfError, invalid, notFound } from '../errors.js'
import { checkGlob, globMatches } from '../packages/version-glob.js'
import { OutboundGuard, outboundRequest } from './outbound.js'
import { recordAudit, type AuditBy } from './audit.js'

/** Never HS* (a shared secret) or none. */
export const ASYMMETRIC_ALGS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'] as const
export const DEFAULT_TTL_S = 15 * 60
const MAX_TTL_S = 24 * 3600
const FETCH_TIMEOUT_MS = 10_000
const DISCOVERY_CACHE_MS = 10 * 60_000
const MAX_TOKEN = 16 * 1024
const MAX_POLICIES = 100
const MAX_CLAIMS = 20
/** Clock skew allowed on exp, nbf and iat. */
const LEEWAY_S = 30

export interface OidcConfig { readonly allowedHosts: readonly string[]; readonly jwksCooldownMs: number }

export interface PolicyView {
  id: number; name: string; issuer: string; audience: string; claims: Record<string, string>
  scopes: Scope[]; tokenTtlSeconds: number; creator: string; createdUnix: number
}

export interface Exchanged { token: string; expiresUnix: number; owner: string; scopes: Scope[] }

const fail = (reason: string) => new WharfError('unauthenticated', reason)
const nowS = () => Math.floor(Date.now() / 1000)

interface Discovery { jwksUri: URL; algs: string[]; fetched: number }

export class OidcService {
  readonly #guard: OutboundGuard
  readonly #discovery = new Map<string, Discovery>()
  readonly #jwks = new Map<string, ReturnType<typeof createRemoteJWKSet>>()

  constructor(private readonly db: Kysely<Database>, private readonly tokens: TokenService, private readonly config: OidcConfig) {
    this.#guard = new OutboundGuard(config.allowedHosts, 'WHARF_OIDC_ALLOWED_HOSTS')
  }

  /** An issuer or JWKS URL we may fetch: https, or http for a host WHARF_OIDC_ALLOWED_HOSTS lists. */
  checkUrl(what: string, raw: string): URL {
    let url: URL
    try {
      url = new URL(raw)
    } catch {
      throw invalid(`${what}: not a URL`)
    }
    if (url.username || url.password || url.search || url.hash) throw invalid(`${what}: no credentials, query or fragment allowed`)
    const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase()
    const allowed = this.config.allowedHosts.includes('*') || this.config.allowedHosts.some((h) => h.toLowerCase() === host)
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && allowed)) {
      throw invalid(`${what}: must be an https URL (list the host in WHARF_OIDC_ALLOWED_HOSTS to allow http)`)
    }
    return url
  }

  // ---- trust policies ----

  async list(ownerId: number): Promise<PolicyView[]> {
    const rows = await this.db.selectFrom('oidc_policy').innerJoin('user', 'user.id', 'oidc_policy.creator_id')
      .selectAll('oidc_policy').select('user.name as creator_name').where('owner_id', '=', ownerId).orderBy('oidc_policy.id').execute()
    return rows.map((r) => view(r, r.creator_name))
  }

  async get(ownerId: number, id: number): Promise<PolicyView> {
    const found = (await this.list(ownerId)).find((p) => p.id === id)
    if (!found) throw notFound(`trust policy ${id}`)
    return found
  }

  async create(owner: User, creator: User, body: Record<string, unknown>, by: AuditBy): Promise<PolicyView> {
    const str = (k: string, max: number): string => {
      const v = body[k]
      if (typeof v !== 'string' || v.trim() === '' || v.length > max) throw invalid(`${k}: required, at most ${max} characters`)
      return v.trim()
    }
    const name = str('name', 100)
    if (!/^[A-Za-z0-9._-]+$/.test(name)) throw invalid('name: letters, digits, ".", "_" and "-" only')
    const issuer = this.checkUrl('issuer', str('issuer', 1000).replace(/\/+$/, '')).href.replace(/\/+$/, '')
    const audience = str('audience', 1000)
    const c = body.claims
    if (c === null || typeof c !== 'object' || Array.isArray(c)) throw invalid('claims: expected an object of claim name → glob pattern')
    const claims: Record<string, string> = {}
    for (const [k, v] of Object.entries(c as Record<string, unknown>)) {
      if (!/^[A-Za-z0-9_.:-]{1,100}$/.test(k)) throw invalid(`claims: bad claim name '${k}'`)
      if (typeof v !== 'string' || v.trim() === '') throw invalid(`claims.${k}: expected a non-empty glob pattern`)
      claims[k] = checkGlob(`claims.${k}`, v)
    }
    if (Object.keys(claims).length > MAX_CLAIMS) throw invalid(`claims: at most ${MAX_CLAIMS}`)
    // Without a claim that narrows it down, every job of the issuer (say, all of GitHub) could publish.
    if (!Object.values(claims).some((g) => g.replace(/\*/g, '') !== '')) {
      throw invalid('claims: at least one claim pattern other than "*" is required (e.g. repository)')
    }
    const scopes = parseScopes((body.scopes ?? ['write:package']) as string[] | string)
    for (const s of scopes) if (s !== 'read:package' && s !== 'write:package') throw invalid(`scopes: only read:package and write:package may be granted, not '${s}'`)
    const ttlRaw = body.token_lifetime_seconds ?? DEFAULT_TTL_S
    if (typeof ttlRaw !== 'number' || !Number.isSafeInteger(ttlRaw) || ttlRaw < 1 || ttlRaw > MAX_TTL_S) {
      throw invalid(`token_lifetime_seconds: a whole number from 1 to ${MAX_TTL_S}`)
    }
    const count = await this.db.selectFrom('oidc_policy').select((e) => e.fn.countAll<number>().as('n')).where('owner_id', '=', owner.id).executeTakeFirstOrThrow()
    if (Number(count.n) >= MAX_POLICIES) throw invalid(`at most ${MAX_POLICIES} trust policies per owner`)
    const row = await this.db.transaction().execute(async (trx) => {
      const r = await trx.insertInto('oidc_policy').values({
        owner_id: owner.id, creator_id: creator.id, name, issuer, audience, claims_json: JSON.stringify(claims),
        scopes: scopes.join(','), token_ttl_s: ttlRaw, created_unix: nowS(),
      }).returningAll().executeTakeFirstOrThrow()
      await recordAudit(trx, by, { action: 'oidc.policy.create', ownerId: owner.id, targetType: 'oidc_policy', target: `${owner.name}/${name}`, detail: { policy_id: r.id, issuer, audience, claims, scopes } })
      return r
    })
    return view(row, creator.name)
  }

  /** Deletes the policy and revokes the tokens exchanged under it. */
  async delete(owner: User, id: number, by: AuditBy): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      const r = await trx.deleteFrom('oidc_policy').where('owner_id', '=', owner.id).where('id', '=', id).returning(['id', 'name']).executeTakeFirst()
      if (!r) throw notFound(`trust policy ${id}`)
      await trx.deleteFrom('access_token').where('oidc_policy_id', '=', id).execute()
      await recordAudit(trx, by, { action: 'oidc.policy.delete', ownerId: owner.id, targetType: 'oidc_policy', target: `${owner.name}/${r.name}`, detail: { policy_id: id } })
    })
  }

  // ---- the exchange ----

  async exchange(idToken: unknown, ip: string | null): Promise<Exchanged> {
    if (typeof idToken !== 'string' || idToken === '') throw fail('expected {"token": "<OIDC ID token>"}')
    if (idToken.length > MAX_TOKEN) throw fail('the ID token is too large')
    const { decodeJwt, decodeProtectedHeader, jwtVerify } = await loadJose()
    let iss: unknown
    let alg: unknown
    try {
      iss = decodeJwt(idToken).iss
      alg = decodeProtectedHeader(idToken).alg
    } catch {
      throw fail('the ID token is not a JWT')
    }
    if (typeof iss !== 'string' || iss === '') throw fail('the ID token has no issuer (iss)')
    if (typeof alg !== 'string' || !(ASYMMETRIC_ALGS as readonly string[]).includes(alg)) {
      throw fail(`algorithm '${String(alg)}' is not accepted (only asymmetric ones: ${ASYMMETRIC_ALGS.join(', ')})`)
    }
    const issuer = iss.replace(/\/+$/, '')
    const policies = await this.db.selectFrom('oidc_policy').selectAll().where('issuer', '=', issuer).orderBy('id').execute()
    if (policies.length === 0) throw fail(`no trust policy accepts tokens from issuer '${issuer.slice(0, 200)}'`)

    const disc = await this.discover(issuer)
    let payload: JWTPayload
    try {
      ({ payload } = await jwtVerify(idToken, this.keySet(disc.jwksUri), {
        issuer: iss, algorithms: disc.algs, clockTolerance: LEEWAY_S, requiredClaims: ['exp', 'iat'],
      }))
    } catch (err) {
      throw fail(verifyReason(err))
    }
    if (typeof payload.iat === 'number' && payload.iat > nowS() + LEEWAY_S) throw fail('the ID token was issued in the future (iat)')

    const auds = typeof payload.aud === 'string' ? [payload.aud] : Array.isArray(payload.aud) ? payload.aud : []
    const forAud = policies.filter((p) => auds.includes(p.audience))
    if (forAud.length === 0) throw fail(`audience ${JSON.stringify(auds).slice(0, 200)} is not accepted by any trust policy of this issuer`)
    let why = ''
    const policy = forAud.find((p) => {
      for (const [k, glob] of Object.entries(JSON.parse(p.claims_json) as Record<string, string>)) {
        const v = payload[k]
        const s = typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : undefined
        if (s === undefined || !globMatches(glob, s)) {
          why ||= `claim '${k}' ${s === undefined ? 'is missing' : `'${s.slice(0, 200)}'`} does not match '${glob}'`
          return false
        }
      }
      return true
    })
    if (!policy) throw fail(`no trust policy matches the token's claims: ${why}`)

    const [owner, creator] = await Promise.all([
      this.db.selectFrom('user').selectAll().where('id', '=', policy.owner_id).executeTakeFirst(),
      this.db.selectFrom('user').selectAll().where('id', '=', policy.creator_id).executeTakeFirst(),
    ])
    if (!owner || !creator) throw fail('the trust policy no longer has an owner')
    const scopes = parseScopes(policy.scopes)
    const expiresUnix = nowS() + policy.token_ttl_s
    const claims = Object.fromEntries(['sub', 'repository', 'ref', 'environment', 'workflow', 'project_path', 'pipeline_id', 'run_id']
      .filter((k) => typeof payload[k] === 'string' || typeof payload[k] === 'number').map((k) => [k, payload[k]]))
    const { token } = await this.tokens.createExchanged(creator, {
      policyId: policy.id, policyName: policy.name, ownerId: owner.id, ownerName: owner.name, scopes, expiresUnix, claims,
    }, { userId: creator.id, name: creator.name, kind: 'oidc', tokenName: `policy:${policy.name}`, ip })
    return { token, expiresUnix, owner: owner.name, scopes }
  }

  private async discover(issuer: string): Promise<Discovery> {
    const cached = this.#discovery.get(issuer)
    if (cached && Date.now() - cached.fetched < DISCOVERY_CACHE_MS) return cached
    let base: URL
    try {
      base = this.checkUrl('issuer', issuer)
    } catch (err) {
      throw fail(err instanceof Error ? err.message : String(err))
    }
    const doc = await this.getJson(new URL(`${base.href.replace(/\/+$/, '')}/.well-known/openid-configuration`), 'discovery document') as Record<string, unknown>
    if (typeof doc.issuer !== 'string' || doc.issuer.replace(/\/+$/, '') !== issuer) throw fail('the discovery document names another issuer')
    if (typeof doc.jwks_uri !== 'string') throw fail('the discovery document has no jwks_uri')
    let jwksUri: URL
    try {
      jwksUri = this.checkUrl('jwks_uri', doc.jwks_uri)
    } catch (err) {
      throw fail(err instanceof Error ? err.message : String(err))
    }
    const offered = Array.isArray(doc.id_token_signing_alg_values_supported) ? doc.id_token_signing_alg_values_supported.filter((a): a is string => typeof a === 'string') : undefined
    const algs = ASYMMETRIC_ALGS.filter((a) => !offered || offered.includes(a))
    if (algs.length === 0) throw fail('the issuer offers no asymmetric signing algorithm')
    const d = { jwksUri, algs, fetched: Date.now() }
    if (this.#discovery.size > 1000) this.#discovery.clear()
    this.#discovery.set(issuer, d)
    return d
  }

  private keySet(uri: URL): ReturnType<typeof createRemoteJWKSet> {
    let set = this.#jwks.get(uri.href)
    if (!set) {
      // Only called after exchange() loaded jose.
      const { createRemoteJWKSet, customFetch } = jose!
      set = createRemoteJWKSet(uri, {
        timeoutDuration: FETCH_TIMEOUT_MS, cooldownDuration: this.config.jwksCooldownMs, cacheMaxAge: 10 * 60_000,
        // Through the address guard, with a deadline and a size cap.
        [customFetch]: async (url: string) => {
          const r = await outboundRequest(this.#guard, new URL(url), { method: 'GET', headers: { accept: 'application/json' }, body: '', timeoutMs: FETCH_TIMEOUT_MS })
          return new Response(r.body, { status: r.status, headers: { 'content-type': 'application/json' } })
        },
      })
      if (this.#jwks.size > 1000) this.#jwks.clear()
      this.#jwks.set(uri.href, set)
    }
    return set
  }

  private async getJson(url: URL, what: string): Promise<unknown> {
    let r
    try {
      r = await outboundRequest(this.#guard, url, { method: 'GET', headers: { accept: 'application/json' }, body: '', timeoutMs: FETCH_TIMEOUT_MS })
    } catch (err) {
      throw fail(`could not fetch the issuer's ${what}: ${err instanceof Error ? err.message : String(err)}`)
    }
    if (r.status !== 200) throw fail(`the issuer's ${what} answered ${r.status}`)
    try {
      return JSON.parse(r.body)
    } catch {
      throw fail(`the issuer's ${what} is not JSON (or larger than 64 KiB)`)
    }
  }
}

function verifyReason(err: unknown): string {
  const joseErrors = jose!.errors
  if (err instanceof joseErrors.JWTExpired) return 'the ID token has expired'
  if (err instanceof joseErrors.JWTClaimValidationFailed) return `the ID token's ${err.claim} claim is not valid: ${err.reason}`
  if (err instanceof joseErrors.JWKSNoMatchingKey) return 'no key of the issuer\'s JWKS matches the ID token (unknown kid)'
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) return 'the ID token\'s signature is not valid'
  if (err instanceof joseErrors.JOSEAlgNotAllowed) return 'the ID token\'s algorithm is not accepted'
  if (err instanceof joseErrors.JWKSTimeout) return 'the issuer\'s JWKS did not answer in time'
  if (err instanceof WharfError) return err.message
  return `the ID token could not be verified: ${err instanceof Error ? err.message : String(err)}`.slice(0, 300)
}

function view(r: OidcPolicy, creator: string): PolicyView {
  return {
    id: r.id, name: r.name, issuer: r.issuer, audience: r.audience, claims: JSON.parse(r.claims_json) as Record<string, string>,
    scopes: parseScopes(r.scopes), tokenTtlSeconds: r.token_ttl_s, creator, createdUnix: r.created_unix,
  }
}
