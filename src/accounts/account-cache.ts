// Short-lived caches of the lookups every authenticated request makes (owner by name, org
// membership, token → user), so a busy client costs one database query per download instead of
// four. DESIGN.md "Shared state": entries live at most ACCOUNT_CACHE_MS, so a revoked token, a
// removed member or a changed visibility takes effect on every instance within 5 s; on this instance
// at once, because the Kysely plugin below clears every cache whenever a statement writes one of the
// account tables, whoever issues it (services, jobs, the CLI, code added later).
import type { KyselyPlugin, OperationNode, PluginTransformQueryArgs, PluginTransformResultArgs, QueryResult, RootOperationNode, UnknownRow } from 'kysely'

export const ACCOUNT_CACHE_MS = 5_000
const MAX_ENTRIES = 10_000

/** The tables whose rows the caches hold (users and organizations, teams, members, tokens). */
const ACCOUNT_TABLES = new Set(['user', 'team', 'team_user', 'access_token'])

/** A map whose entries expire; full → emptied (a crude bound, never an unbounded map). */
export class TtlCache<K, V> {
  readonly #entries = new Map<K, { value: V; expires: number }>()

  constructor(private readonly ttlMs = ACCOUNT_CACHE_MS, private readonly maxEntries = MAX_ENTRIES) {}

  get(key: K): V | undefined {
    const e = this.#entries.get(key)
    if (e === undefined) return undefined
    if (e.expires > Date.now()) return e.value
    this.#entries.delete(key)
    return undefined
  }

  set(key: K, value: V): void {
    if (this.#entries.size >= this.maxEntries) this.#entries.clear()
    this.#entries.set(key, { value, expires: Date.now() + this.ttlMs })
  }

  delete(key: K): void {
    this.#entries.delete(key)
  }

  clear(): void {
    this.#entries.clear()
  }
}

export class AccountCache {
  readonly #caches: Array<TtlCache<unknown, unknown>> = []
  /** Writes seen so far: a lookup that started before one must not cache what it read. */
  #generation = 0

  /** A new cache that clear() empties. */
  create<K, V>(ttlMs = ACCOUNT_CACHE_MS): TtlCache<K, V> {
    const c = new TtlCache<K, V>(ttlMs)
    this.#caches.push(c)
    return c
  }

  clear(): void {
    this.#generation++
    for (const c of this.#caches) c.clear()
  }

  /**
   * Reads through `cache`: a hit within the TTL, else `load()`; a defined result is cached unless
   * an account write happened while it loaded (it could be from before that write).
   */
  async through<K, V>(cache: TtlCache<K, V>, key: K, load: () => Promise<V | undefined>): Promise<V | undefined> {
    const hit = cache.get(key)
    if (hit !== undefined) return hit
    const gen = this.#generation
    const v = await load()
    if (v !== undefined && gen === this.#generation) cache.set(key, v)
    return v
  }

  /** Clears the caches before and after every statement that writes an account table. */
  plugin(): KyselyPlugin {
    const writes = new WeakSet<object>()
    return {
      transformQuery: ({ node, queryId }: PluginTransformQueryArgs): RootOperationNode => {
        if (writesAccounts(node)) {
          writes.add(queryId)
          this.clear()
        }
        return node
      },
      transformResult: async ({ result, queryId }: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> => {
        if (writes.has(queryId)) this.clear()
        return result
      },
    }
  }
}

function writesAccounts(node: RootOperationNode): boolean {
  let target: OperationNode | undefined
  switch (node.kind) {
    case 'InsertQueryNode': target = node.into; break
    case 'UpdateQueryNode': target = node.table; break
    case 'DeleteQueryNode': target = node.from; break
    default: return false
  }
  const tables = tableNames(target)
  if (!tables.some((t) => ACCOUNT_TABLES.has(t))) return false
  // The once-a-minute "last used" stamp of a token changes nothing a cache holds.
  if (node.kind === 'UpdateQueryNode' && tables.length === 1 && tables[0] === 'access_token') {
    const cols = (node.updates ?? []).map((u) => (u.column as { column?: { name?: string } }).column?.name)
    if (cols.length > 0 && cols.every((c) => c === 'last_used_unix')) return false
  }
  return true
}

/** Names of the TableNodes under a statement's target (a table, an alias, a FROM list). */
function tableNames(node: unknown, out: string[] = []): string[] {
  if (!node || typeof node !== 'object') return out
  const n = node as { kind?: string; table?: { identifier?: { name?: string } } }
  if (n.kind === 'TableNode' && typeof n.table?.identifier?.name === 'string') {
    out.push(n.table.identifier.name)
    return out
  }
  for (const v of Object.values(node)) {
    if (Array.isArray(v)) for (const x of v) tableNames(x, out)
    else if (v && typeof v === 'object') tableNames(v, out)
  }
  return out
}
