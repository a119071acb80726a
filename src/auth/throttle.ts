// Counts failures per key in a sliding minute. Answers "too many" instead of sleeping, so no request
// is held open (docs/http.md: slowed down or 429, never held for seconds).
const WINDOW_MS = 60_000
const MAX_KEYS = 10_000

export class Throttle {
  private readonly hits = new Map<string, { count: number; since: number }>()
  constructor(private readonly limit: number) {}

  blocked(key: string): boolean {
    const h = this.hits.get(key)
    if (!h) return false
    if (Date.now() - h.since > WINDOW_MS) {
      this.hits.delete(key)
      return false
    }
    return h.count >= this.limit
  }

  fail(key: string): void {
    const h = this.hits.get(key)
    if (!h || Date.now() - h.since > WINDOW_MS) {
      if (this.hits.size >= MAX_KEYS) this.hits.clear()
      this.hits.set(key, { count: 1, since: Date.now() })
    } else h.count++
  }

  reset(key: string): void {
    this.hits.delete(key)
  }
}
