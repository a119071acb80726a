// `wharf doctor [--rehash] [--fix]`: exit code 0 when the database and the blob store agree, 1 with a
// summary otherwise (after --fix: 1 when something is left that could not be repaired safely).
import type { Command } from 'commander'
import { loadConfig } from '../config/config.js'
import { openServices, type Services } from '../services.js'
import { withServices } from './index.js'
import { diagnose, fix, problemCount, type DoctorReport, type Orphan } from '../packages/doctor.js'

export function registerDoctor(program: Command): void {
  program.command('doctor').description('check the database against the blob store: missing, corrupt, orphaned')
    .option('--rehash', 'also check every blob\'s SHA-256 (reads every byte)', false)
    .option('--fix', 'remove what is safe: orphans and temp files past the GC grace, empty versions and packages', false)
    .action(withServices(() => openServices(loadConfig(process.env)), async (s, o: { rehash: boolean; fix: boolean }) => {
      process.exitCode = await runDoctor(s, o, (line) => process.stdout.write(`${line}\n`))
    }))
}

export async function runDoctor(s: Services, o: { rehash?: boolean; fix?: boolean }, print: (line: string) => void): Promise<number> {
  const deps = { db: s.db, flavor: s.flavor, blobs: s.blobs, tmpDir: s.tmpDir, graceMs: s.config.gc.graceMs }
  let report = await diagnose(deps, { rehash: o.rehash })
  printReport(report, print)
  if (o.fix && problemCount(report) > 0) {
    const f = await fix(deps)
    print(`fixed: ${f.blobFiles} orphan blob(s), ${f.blobRows} unreferenced blob row(s), ${f.tmpFiles} temp file(s), ${f.versions} empty version(s), ${f.packages} empty package(s)`)
    report = await diagnose(deps, { rehash: o.rehash })
  }
  const n = problemCount(report)
  const parts = [
    [report.missing.length, 'missing blob'], [report.wrongSize.length, 'blob of the wrong size'], [report.corrupt.length, 'corrupt blob'],
    [old(report.orphanBlobs), 'orphan blob'], [old(report.unreferencedRows), 'unreferenced blob row'],
    [report.emptyVersions.length, 'version without files'], [report.emptyPackages.length, 'package without versions'],
    [old(report.tempFiles), 'temp file'],
  ].filter(([k]) => Number(k) > 0).map(([k, what]) => `${k} ${what}`)
  print(n === 0
    ? `ok: ${report.files} file(s), ${report.blobsChecked} blob(s) checked${o.rehash ? `, ${report.rehashed} rehashed` : ''}; no problems`
    : `summary: ${n} problem(s): ${parts.join(', ')}${o.fix ? '' : ' (--fix removes orphans, temp files and empty versions/packages; missing or corrupt blobs need restoring from a backup)'}`)
  return n === 0 ? 0 : 1
}

const old = (xs: Orphan[]) => xs.filter((x) => !x.young).length

function printReport(r: DoctorReport, print: (line: string) => void): void {
  const used = (u: string[]) => (u.length > 0 ? ` used by ${u.join(', ')}` : '')
  for (const b of r.missing) print(`missing blob ${b.sha256} (${b.size} bytes)${used(b.usedBy)}`)
  for (const b of r.wrongSize) print(`wrong size: blob ${b.sha256} has ${b.actualSize} bytes, the database says ${b.size}${used(b.usedBy)}`)
  for (const b of r.corrupt) print(`corrupt blob ${b.sha256}: its bytes hash to ${b.actualSha256}${used(b.usedBy)}`)
  const young = (x: Orphan) => (x.young ? ' (younger than the GC grace period: an upload in progress?)' : '')
  for (const x of r.orphanBlobs) print(`orphan blob ${x.name}: no database row${young(x)}`)
  for (const x of r.unreferencedRows) print(`unreferenced blob row ${x.name}: no file uses it${young(x)}`)
  for (const v of r.emptyVersions) print(`version without files: ${v}`)
  for (const p of r.emptyPackages) print(`package without versions: ${p}`)
  for (const x of r.tempFiles) print(`temp file ${x.name}${young(x)}`)
}
