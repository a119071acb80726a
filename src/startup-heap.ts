// While Wharf starts (modules, migrations, the bootstrap admin) nearly everything it allocates lives
// on, and V8 answers each young-generation collection that keeps most of its objects by doubling the
// young generation, up to 16 MiB per semi-space. The server then sat idle on ~20 MiB of young
// generation it no longer needed, until V8's memory reducer gave it back ~25 s later. Holding the
// growth factor at 1 until the server listens keeps the young generation at its start size; traffic
// grows it as before (bench/README.md, seventh session: idle RSS 5 s after the ready line 86–91 MiB
// instead of 97–106, same time to the ready line). Imported first by main.ts, before anything else
// loads. A cluster primary (WHARF_WORKERS > 1) serves nothing and keeps it held; its workers let go.
import { setFlagsFromString } from 'node:v8'

/** Someone set the factor themselves (`node --semi-space-growth-factor=…`): leave it to them. */
const chosen = process.execArgv.some((a) => a.includes('semi-space-growth-factor'))
let holding = false
if (!chosen) {
  setFlagsFromString('--semi-space-growth-factor=1')
  holding = true
}

/** Start-up is over (the server listens, or a command other than `web` runs): V8's default again. */
export function startupDone(): void {
  if (!holding) return
  holding = false
  setFlagsFromString('--semi-space-growth-factor=2')
}
