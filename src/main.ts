// Process entry: hands argv to the CLI. startup-heap.ts runs first, and the rest is imported only
// after it: static imports would all be loaded and compiled before any of them runs.
import './startup-heap.js'

const { runCli } = await import('./cli/index.js')
await runCli(process.argv)
