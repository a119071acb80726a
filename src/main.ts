// Process entry: hands argv to the CLI.
import { runCli } from './cli/index.js'

await runCli(process.argv)
