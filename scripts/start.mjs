// `npm start` / `npm run wharf` / bin/wharf.js: runs the compiled JavaScript in dist/, compiling it
// first when src/ changed since the last build (scripts/build.mjs). Where dist/ cannot be built (no
// typescript installed, a read-only checkout) it runs the TypeScript sources through tsx instead.
import { pathToFileURL } from 'node:url'
import path from 'node:path'
import { DIST, ROOT, ensureBuilt } from './build.mjs'

if (ensureBuilt()) {
  await import(pathToFileURL(path.join(DIST, 'main.js')).href)
} else {
  process.stderr.write('wharf: running the TypeScript sources through tsx instead (slower start, more memory)\n')
  const { register } = await import('tsx/esm/api')
  register()
  await import(pathToFileURL(path.join(ROOT, 'src/main.ts')).href)
}
