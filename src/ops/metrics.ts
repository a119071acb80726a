// Prometheus metrics (prom-client), one registry per Services so tests can run several apps in one
// process. Labels are bounded by construction: route PATTERNS (never raw URLs), methods, status
// codes, package types, blob/db operation names, job names. Each worker or instance reports its own
// numbers under `instance` and `worker` labels; Prometheus adds them up.
//
// The hot path pays one Map lookup and a few counter increments per request: label children are
// resolved once per (route, method, status) and kept (prom-client hashes a label object on every
// call otherwise).
import cluster from 'node:cluster'
import os from 'node:os'
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import type { BlobStore } from '../storage/blobs/blob-store.js'

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]
const OP_BUCKETS = [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30]

/** The label value of requests that matched no route: never the raw path. */
export const UNMATCHED_ROUTE = '<unmatched>'

interface Inc { inc(n?: number): void }
interface Observe { observe(v: number): void }

/** What one (route, method, status) updates; resolved once, then reused. */
interface RequestChildren {
  requests: Inc
  duration: Observe
  received: Inc
  sent: Inc
  upload?: Inc
  download?: Inc
}

export class Metrics {
  readonly registry = new Registry()
  readonly #requests: Counter<'method' | 'route' | 'status'>
  readonly #duration: Histogram<'method' | 'route'>
  readonly #received: Counter<'route'>
  readonly #sent: Counter<'route'>
  readonly #uploads: Counter<'type'>
  readonly #downloads: Counter<'type'>
  readonly #blobOps: Histogram<'op'>
  readonly #blobErrors: Counter<'op'>
  readonly #dbQueries: Histogram
  readonly #dbErrors: Counter
  readonly #jobRuns: Counter<'job' | 'outcome'>
  readonly #jobDuration: Histogram<'job'>
  readonly #jobRemoved: Counter<'job' | 'what'>
  readonly #children = new Map<string, Map<number, RequestChildren>>()

  constructor() {
    this.registry.setDefaultLabels({ instance: os.hostname(), worker: cluster.isWorker && cluster.worker ? String(cluster.worker.id) : '0' })
    collectDefaultMetrics({ register: this.registry, prefix: 'wharf_' })
    const r = [this.registry]
    this.#requests = new Counter({ name: 'wharf_http_requests_total', help: 'HTTP requests by route pattern, method and status', labelNames: ['method', 'route', 'status'], registers: r })
    this.#duration = new Histogram({ name: 'wharf_http_request_duration_seconds', help: 'HTTP request latency by route pattern and method', labelNames: ['method', 'route'], buckets: LATENCY_BUCKETS, registers: r })
    this.#received = new Counter({ name: 'wharf_http_received_bytes_total', help: 'Request body bytes received (Content-Length), by route pattern', labelNames: ['route'], registers: r })
    this.#sent = new Counter({ name: 'wharf_http_sent_bytes_total', help: 'Response body bytes sent (Content-Length), by route pattern', labelNames: ['route'], registers: r })
    this.#uploads = new Counter({ name: 'wharf_package_uploads_total', help: 'Successful package uploads by package type', labelNames: ['type'], registers: r })
    this.#downloads = new Counter({ name: 'wharf_package_downloads_total', help: 'Package file downloads (200 and 206) by package type', labelNames: ['type'], registers: r })
    this.#blobOps = new Histogram({ name: 'wharf_blob_operation_duration_seconds', help: 'Blob store operation latency (until the stream opens, for reads)', labelNames: ['op'], buckets: OP_BUCKETS, registers: r })
    this.#blobErrors = new Counter({ name: 'wharf_blob_operation_errors_total', help: 'Blob store operations that failed', labelNames: ['op'], registers: r })
    this.#dbQueries = new Histogram({ name: 'wharf_db_query_duration_seconds', help: 'Database query latency', buckets: OP_BUCKETS, registers: r })
    this.#dbErrors = new Counter({ name: 'wharf_db_query_errors_total', help: 'Database queries that failed', registers: r })
    this.#jobRuns = new Counter({ name: 'wharf_job_runs_total', help: 'Background job runs by job and outcome', labelNames: ['job', 'outcome'], registers: r })
    this.#jobDuration = new Histogram({ name: 'wharf_job_duration_seconds', help: 'Background job run time', labelNames: ['job'], buckets: [0.01, 0.1, 0.5, 1, 5, 15, 60, 300, 1800], registers: r })
    this.#jobRemoved = new Counter({ name: 'wharf_job_removed_total', help: 'What background jobs removed (blobs, files, versions …)', labelNames: ['job', 'what'], registers: r })
  }

  /**
   * Records one finished request. `route` is the matched route pattern (undefined: none matched),
   * `packageType` the registry type when the route belongs to one.
   */
  request(route: string | undefined, method: string, status: number, seconds: number, received: number, sent: number, packageType?: string): void {
    const key = route ?? UNMATCHED_ROUTE
    let byStatus = this.#children.get(method === 'GET' ? key : `${method} ${key}`)
    if (!byStatus) {
      byStatus = new Map()
      this.#children.set(method === 'GET' ? key : `${method} ${key}`, byStatus)
    }
    let c = byStatus.get(status)
    if (!c) {
      c = {
        requests: this.#requests.labels(method, key, String(status)),
        duration: this.#duration.labels(method, key),
        received: this.#received.labels(key),
        sent: this.#sent.labels(key),
      }
      if (packageType && status === 201 && (method === 'PUT' || method === 'POST')) c.upload = this.#uploads.labels(packageType)
      if (packageType && method === 'GET' && (status === 200 || status === 206)) c.download = this.#downloads.labels(packageType)
      byStatus.set(status, c)
    }
    c.requests.inc()
    c.duration.observe(seconds)
    if (received > 0) c.received.inc(received)
    if (sent > 0) c.sent.inc(sent)
    c.upload?.inc()
    c.download?.inc()
  }

  dbQuery(seconds: number): void {
    this.#dbQueries.observe(seconds)
  }

  dbError(): void {
    this.#dbErrors.inc()
  }

  /** Wraps a scheduled job's run: counts it, times it, and labels the outcome. */
  timeJob<T>(job: string, run: () => Promise<T>): Promise<T> {
    const end = this.#jobDuration.startTimer({ job })
    return run().then((v) => {
      end()
      this.#jobRuns.inc({ job, outcome: 'ok' })
      return v
    }, (err: unknown) => {
      end()
      this.#jobRuns.inc({ job, outcome: 'error' })
      throw err
    })
  }

  jobRemoved(job: string, what: string, n: number): void {
    if (n > 0) this.#jobRemoved.inc({ job, what }, n)
  }

  /** The store with every operation timed and its failures counted. */
  instrumentBlobs(store: BlobStore): BlobStore {
    const ops = this.#blobOps
    const errors = this.#blobErrors
    const timed = <A extends unknown[], R>(op: string, fn: (...a: A) => Promise<R>) => {
      const h = ops.labels(op)
      const e = errors.labels(op)
      return async (...a: A): Promise<R> => {
        const start = process.hrtime.bigint()
        try {
          return await fn(...a)
        } catch (err) {
          e.inc()
          throw err
        } finally {
          h.observe(Number(process.hrtime.bigint() - start) / 1e9)
        }
      }
    }
    const wrapped = new Map<PropertyKey, unknown>()
    for (const [name, op] of [['put', 'put'], ['putFile', 'put_file'], ['putBytes', 'put_bytes'], ['open', 'open'], ['stat', 'stat'], ['delete', 'delete'], ['ping', 'ping']] as const) {
      const fn = store[name] as ((...a: unknown[]) => Promise<unknown>) | undefined
      if (fn) wrapped.set(name, timed(op, fn.bind(store)))
    }
    // The store inside a transaction (small blobs kept in the database) is timed the same way.
    const within = store.within?.bind(store)
    if (within) wrapped.set('within', (trx: Parameters<typeof within>[0]) => this.instrumentBlobs(within(trx)))
    // A Proxy, so methods a backend adds (presigning …) and instanceof checks keep working.
    return new Proxy(store, {
      get(target, prop) {
        if (wrapped.has(prop)) return wrapped.get(prop)
        const v: unknown = Reflect.get(target, prop, target)
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v
      },
    })
  }

  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() }
  }
}
