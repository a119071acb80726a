// `npm run bench`: the figures issue 3 asks for, measured against a real server process on this
// machine, on local files or (BENCH_STORAGE_URL=s3://…, issue 10) an S3 bucket, with or without
// BENCH_SERVE_DIRECT=true. Exit code 1 when the memory target (RSS growth ≤ 64 MiB while 1 GiB goes
// up or down) is missed or any byte came back wrong; 2 for a wrong setting. See bench/README.md.
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { downloadBig, fetchSmall, measureRps, request, uploadBig } from './load.js'
import { measureRss, readCpuSeconds, readMemory, startServer, type RssPhase, type RunningServer } from './server.js'
import { BenchConfigError, openBenchStore, type BenchStore } from './store.js'

const MiB = 1024 * 1024
const RSS_LIMIT = 64 * MiB
const benchDir = path.dirname(fileURLToPath(import.meta.url))
const repoRoot = path.resolve(benchDir, '..')

const sizeMiB = Number(process.env.BENCH_SIZE_MIB ?? '1024')
if (!Number.isInteger(sizeMiB) || sizeMiB < 1 || sizeMiB > 8192) {
  console.error('BENCH_SIZE_MIB must be a whole number of MiB between 1 and 8192')
  process.exit(2)
}
const bigSize = sizeMiB * MiB

let store: BenchStore
try {
  store = await openBenchStore(process.env)
} catch (err) {
  console.error(err instanceof BenchConfigError ? err.message : `bench: the store cannot be used: ${err instanceof Error ? err.message : String(err)}`)
  process.exit(2)
}
const redirects = store.serveDirect === 'redirect'
// One results file per set-up, so a run on S3 does not overwrite the figures of files (BENCH_RESULTS overrides).
const resultsFile = process.env.BENCH_RESULTS
  ? path.resolve(process.env.BENCH_RESULTS)
  : path.join(benchDir, store.kind === 'files' ? 'results.json' : redirects ? 'results-s3-direct.json' : 'results-s3.json')

// BENCH_RSS_TRACE=FILE: every RSS sample of the big transfers (phase, ms into it, MiB), and when the
// upload was answered, to see where memory goes.
const traceFile = process.env.BENCH_RSS_TRACE ? path.resolve(process.env.BENCH_RSS_TRACE) : undefined
const traceLines: string[] = []
const tracer = (phase: string) => traceFile ? (ms: number, rss: number) => traceLines.push(`${phase} ${Math.round(ms)} ${toMiB(rss)}`) : undefined

const admin = { username: 'bench', password: randomBytes(12).toString('hex') }
const dataDir = mkdtempSync(path.join(os.tmpdir(), 'wharf-bench-'))
let server: RunningServer | undefined

// Whatever ends the run, the server process and the temp folder (which holds a 1 GiB blob) go.
function cleanUpNow() {
  if (server && server.child.exitCode === null && server.child.signalCode === null) server.child.kill('SIGKILL')
  rmSync(dataDir, { recursive: true, force: true })
}
process.once('exit', cleanUpNow)
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(sig, () => {
    console.error(`\n${sig}: stopping the server and removing ${dataDir}${store.kind === 's3' ? ` and ${store.description}` : ''}`)
    if (server && server.child.exitCode === null && server.child.signalCode === null) server.child.kill('SIGKILL')
    setTimeout(() => process.exit(130), 15_000).unref()
    void store.cleanup().finally(() => process.exit(130))
  })
}

async function main(): Promise<boolean> {
  const started = performance.now()
  const loadAtStart = os.loadavg().map(round2)
  server = await startServer({ repoRoot, dataDir, admin, env: store.env })
  const { url, pid } = server
  log(`server pid ${pid} at ${url.href}, data in ${dataDir}, blobs in ${store.description}, serve-direct ${store.serveDirect}`)

  const basic = `Basic ${Buffer.from(`${admin.username}:${admin.password}`).toString('base64')}`
  const created = await request(new URL(`/api/v1/users/${admin.username}/tokens`, url), {
    method: 'POST', headers: { authorization: basic, 'content-type': 'application/json' },
  }, JSON.stringify({ name: 'bench', scopes: ['write:package'] }))
  if (created.status !== 201) throw new Error(`token creation answered ${created.status}: ${created.body.toString()}`)
  const auth = { authorization: `token ${(JSON.parse(created.body.toString()) as { sha1: string }).sha1}` }

  const fileUrl = (name: string) => new URL(`/api/packages/${admin.username}/generic/bench/1.0.0/${name}`, url)
  const small = randomBytes(1024)
  const put = await request(fileUrl('small.bin'), { method: 'PUT', headers: { ...auth, 'content-type': 'application/octet-stream' } }, small)
  if (put.status !== 201) throw new Error(`1 KiB upload answered ${put.status}: ${put.body.toString()}`)
  // One download first, so the idle baseline below is of a server that has loaded the download path
  // (with serve-direct: the 307, then the bytes from the presigned URL it names).
  const get = await fetchSmall(fileUrl('small.bin'), auth)
  if (get.status !== (redirects ? 307 : 200)) throw new Error(`1 KiB download answered ${get.status}, expected ${redirects ? 307 : 200}`)
  if (!get.body.equals(small)) throw new Error('1 KiB download: the bytes differ from those uploaded')

  // The big round trip comes before the load test, on a server that has done almost nothing yet:
  // its idle RSS is the lowest baseline, the strictest test of "memory does not grow with the file".
  const idleRss = readMemory(pid).rss
  log(`uploading ${sizeMiB} MiB…`)
  // A big upload is answered once SHA-256 is known and the bytes are stored; MD5, SHA-1 and SHA-512
  // follow in a worker that reads the blob back (from S3 too), and the first reader waits for them.
  // That read-back belongs to the upload: a HEAD (untimed in the MB/s) waits for it inside the phase.
  const up = await measureRss(pid, async () => {
    const sent = await uploadBig(fileUrl('big.bin'), auth, bigSize)
    if (traceFile) traceLines.push(`upload answered after ${Math.round(sent.seconds * 1000)} ms`)
    const h0 = performance.now()
    const head = await request(fileUrl('big.bin'), { method: 'HEAD', headers: auth })
    if (head.status !== 200) throw new Error(`HEAD after the upload answered ${head.status}`)
    if (head.headers['x-checksum-sha256'] !== sent.sha256) throw new Error(`HEAD: X-Checksum-Sha256 ${String(head.headers['x-checksum-sha256'])}, uploaded ${sent.sha256}`)
    if (!/^[0-9a-f]{128}$/.test(String(head.headers['x-checksum-sha512']))) throw new Error('HEAD: no X-Checksum-Sha512')
    return { ...sent, digestSeconds: (performance.now() - h0) / 1000 }
  }, tracer('upload'))
  log(`downloading ${sizeMiB} MiB…`)
  const down = await measureRss(pid, () => downloadBig(fileUrl('big.bin'), auth, bigSize, redirects), tracer('download'))
  if (traceFile) writeFileSync(traceFile, traceLines.join('\n') + '\n')
  const roundTripOk = up.result.sha256 === down.result.sha256

  log(`1 KiB downloads${redirects ? ' (307s, not followed)' : ''}, 32 connections: 2 s warm-up, then up to 10 s or 200k requests…`)
  const serverCpu0 = readCpuSeconds(pid)
  const clientCpu0 = process.cpuUsage()
  const rps = await measureRps({
    url: fileUrl('small.bin'), headers: auth, expected: small,
    connections: 32, warmupMs: 2000, maxMs: 10_000, maxRequests: 200_000, redirects,
  })
  // CPU per request says more than req/s on a shared machine: it does not depend on who else runs.
  const serverCpu = readCpuSeconds(pid) - serverCpu0
  const clientCpu = process.cpuUsage(clientCpu0)
  const cpu = {
    serverMicrosPerRequest: Math.round((serverCpu * 1e6) / Math.max(1, rps.allRequests)),
    serverCores: round2(serverCpu / rps.seconds),
    clientCores: round2((clientCpu.user + clientCpu.system) / 1e6 / rps.seconds),
  }
  const rssAfterLoad = readMemory(pid).rss

  await server.stop()
  const rssPass = up.rss.growth <= RSS_LIMIT && down.rss.growth <= RSS_LIMIT
  const ok = rssPass && roundTripOk && rps.failures === 0

  const results = {
    date: new Date().toISOString(),
    machine: {
      nproc: os.availableParallelism(), cpu: os.cpus()[0]?.model ?? 'unknown',
      memoryMiB: Math.round(os.totalmem() / MiB), node: process.version, platform: `${os.platform()} ${os.release()}`,
      loadAverageAtStart: loadAtStart, loadAverageAtEnd: os.loadavg().map(round2),
    },
    store: { kind: store.kind, location: store.description, serveDirect: store.serveDirect },
    small: {
      fileBytes: small.length, connections: 32,
      measured: redirects ? '307 redirects to presigned URLs (not followed)' : '200 answers with the bytes',
      ...rps, rps: Math.round(rps.rps), seconds: round2(rps.seconds), cpu,
    },
    big: {
      sizeMiB,
      upload: { mbPerSecond: round2(up.result.mbPerSecond), seconds: round2(up.result.seconds), digestSeconds: round2(up.result.digestSeconds), rss: mib(up.rss) },
      download: { via: down.result.via, mbPerSecond: round2(down.result.mbPerSecond), seconds: round2(down.result.seconds), rss: mib(down.rss) },
      sha256: up.result.sha256, sha256Match: roundTripOk,
    },
    serverRssMiB: { idleAtStart: toMiB(idleRss), afterLoadTest: toMiB(rssAfterLoad) },
    target: { rssGrowthMiB: RSS_LIMIT / MiB, pass: rssPass },
    pass: ok,
    totalSeconds: round2((performance.now() - started) / 1000),
  }
  writeFileSync(resultsFile, JSON.stringify(results, null, 2) + '\n')

  const verdict = (p: boolean) => (p ? 'PASS' : 'FAIL')
  const rows: Array<[string, string]> = [
    ['machine', `${results.machine.nproc} CPUs (${results.machine.cpu}), ${results.machine.memoryMiB} MiB, Node ${process.version}`],
    ['load average at start/end', `${loadAtStart.join(' ')} / ${results.machine.loadAverageAtEnd.join(' ')}  (other work on this machine skews the figures)`],
    ['blob store', store.description],
    ['serve-direct', redirects ? 'true (GETs answered with a 307 to a presigned URL)' : 'off (bytes through Wharf)'],
    [redirects ? '1 KiB GET → 307, 32 conns, token' : '1 KiB GET, 32 conns, token', `${results.small.rps} req/s${redirects ? ' of redirects (not followed)' : ''}  (${rps.requests} in ${results.small.seconds} s, p50 ${rps.p50Ms} ms, p99 ${rps.p99Ms} ms, ${rps.failures} bad)`],
    ['  CPU during that test', `server ${cpu.serverCores} cores (${cpu.serverMicrosPerRequest} µs/request), bench client ${cpu.clientCores} cores`],
    ...(rps.firstFailure ? [['  first bad answer', rps.firstFailure] as [string, string]] : []),
    [`${sizeMiB} MiB upload`, `${results.big.upload.mbPerSecond} MB/s  (${results.big.upload.seconds} s until the 201)`],
    ['  then MD5/SHA-1/SHA-512', `${results.big.upload.digestSeconds} s more  (read back from the store in a worker; a HEAD waits for them)`],
    [`${sizeMiB} MiB download`, `${results.big.download.mbPerSecond} MB/s  (${results.big.download.seconds} s${redirects ? ', 307 then the presigned URL' : ''})`],
    ['SHA-256 up = down', `${verdict(roundTripOk)}  ${up.result.sha256.slice(0, 16)}…`],
    ['server RSS growth, upload', `${rssLine(up.rss)}, digests included`],
    ['server RSS growth, download', rssLine(down.rss)],
    [`RSS target ≤ ${RSS_LIMIT / MiB} MiB`, verdict(rssPass)],
  ]
  const width = Math.max(...rows.map(([k]) => k.length))
  console.log('\nWharf benchmark (MB = 10^6 bytes, MiB = 2^20)\n')
  for (const [k, v] of rows) console.log(`  ${k.padEnd(width)}  ${v}`)
  console.log(`\n  results written to ${path.relative(process.cwd(), resultsFile)}; ${verdict(ok)}`)
  return ok
}

function rssLine(r: RssPhase): string {
  return `${toMiB(r.growth)} MiB  (idle ${toMiB(r.baseline)} → peak ${toMiB(r.peak)} MiB, ${r.samples} samples, max gap ${r.maxGapMs} ms)`
}
const mib = (r: RssPhase) => ({ baselineMiB: toMiB(r.baseline), peakMiB: toMiB(r.peak), growthMiB: toMiB(r.growth), samples: r.samples, maxGapMs: r.maxGapMs })
const toMiB = (bytes: number) => round2(bytes / MiB)
const round2 = (n: number) => Math.round(n * 100) / 100
const log = (msg: string) => console.error(`bench: ${msg}`)

try {
  process.exitCode = (await main()) ? 0 : 1
} catch (err) {
  console.error('bench failed:', err instanceof Error ? err.message : err)
  process.exitCode = 1
} finally {
  await server?.stop()
  await store.cleanup()
  cleanUpNow()
}
