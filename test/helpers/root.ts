// Where the project is, and how to run its CLI, wherever this test runs from: its TypeScript under
// tsx (`node --import tsx --test test/…`), or the JavaScript `npm test` transpiles into .test-build/
// (scripts/run-tests.mjs), which runs without tsx's loader and so starts each file and CLI faster.
import path from 'node:path'

const BUILD = '.test-build'
const up = path.resolve(import.meta.dirname, '../..')
/** True when this code runs from .test-build/ (plain JavaScript), false under tsx. */
export const TRANSPILED = path.basename(up) === BUILD
/** The project's root folder (where package.json and src/ are). */
export const ROOT = TRANSPILED ? path.dirname(up) : up
/**
 * `node` arguments that run the CLI from the same code the test runs: the transpiled src/main.js
 * next to it, or src/main.ts through tsx, as `npm run wharf` would from sources.
 */
export const WHARF = TRANSPILED
  ? ['--enable-source-maps', path.join(up, 'src/main.js')]
  : ['--import', 'tsx', path.join(ROOT, 'src/main.ts')]
