// `wharf go pack` and `wharf go push`: build a module zip the way the go command does, and upload
// it to PUT /api/packages/{owner}/go/upload. Talks to a server over HTTP only, never to services.
import { createReadStream } from 'node:fs'
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises'
import http from 'node:http'
import https from 'node:https'
import os from 'node:os'
import path from 'node:path'
import { pipeline } from 'node:stream/promises'
import type { Command } from 'commander'
import { ModuleZipError } from './errors.js'
import { GoModSyntaxError, parseGoMod } from './gomod.js'
import { packModule, type PackResult } from './pack.js'

/** What the commands take from the environment; the CLI adapter reads it, nothing here does. */
export interface GoCliEnv {
  /** WHARF_TOKEN: the access token `push` sends. */
  readonly token?: string
  /** SSL_CERT_FILE: trusted CA certificates for https, instead of Node's defaults. */
  readonly caFile?: string
}

export interface Output {
  out(line: string): void
  err(line: string): void
}

const stdio: Output = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
}

/** An error the user can act on: printed as one line, exit code 1. */
export class GoCliError extends Error {
  override readonly name = 'GoCliError'
}

export function registerGoCommands(go: Command, env: () => GoCliEnv, io: Output = stdio): void {
  go.command('pack').description('build a module zip from a module folder, as the go command would')
    .argument('<dir>', 'the module folder (holding go.mod)')
    .requiredOption('--version <version>', 'the module version, e.g. v1.2.3')
    .option('--output <file>', 'where to write the zip (default: {name}-{version}.zip in the current folder)')
    .action(guard(io, async (dir: string, o: { version: string; output?: string }) => {
      const result = await packModule(dir, o.version, o.output ?? await defaultOutput(dir, o.version))
      report(io, result)
    }))

  go.command('push').description('pack a module folder and upload it to a Wharf server (token from WHARF_TOKEN)')
    .argument('<dir>', 'the module folder (holding go.mod)')
    .requiredOption('--version <version>', 'the module version, e.g. v1.2.3')
    .requiredOption('--url <url>', 'the server, e.g. https://wharf.example.com')
    .requiredOption('--owner <owner>', 'the user or organization to upload to')
    .action(guard(io, async (dir: string, o: { version: string; url: string; owner: string }) => {
      const { token, caFile } = env()
      if (!token) throw new GoCliError('WHARF_TOKEN is not set: create a token with the write:package scope and export it')
      const tmp = await mkdtemp(path.join(os.tmpdir(), 'wharf-go-push-'))
      try {
        const result = await packModule(dir, o.version, path.join(tmp, 'module.zip'))
        report(io, result)
        const target = uploadUrl(o.url, o.owner)
        const ca = caFile ? await readFile(caFile) : undefined
        const answer = await upload(target, result.file, token, ca)
        const text = answer.body.trim()
        if (answer.status < 200 || answer.status > 299) {
          throw new GoCliError(`${target} answered ${answer.status}${text ? `: ${text}` : ''}`)
        }
        io.out(`pushed ${result.module}@${result.version} to ${target}: ${answer.status}${text ? ` ${text}` : ' Created'}`)
      } finally {
        await rm(tmp, { recursive: true, force: true })
      }
    }))
}

function guard<A extends unknown[]>(io: Output, action: (...args: A) => Promise<void>) {
  return async (...args: A) => {
    try {
      await action(...args)
    } catch (err) {
      // Problems with the module or the server are the user's to fix; anything else is a bug.
      const known = err instanceof ModuleZipError || err instanceof GoCliError || isSystemError(err)
      io.err(`wharf: ${err instanceof Error ? err.message : String(err)}`)
      if (!known && err instanceof Error && err.stack) io.err(err.stack)
      process.exitCode = 1
    }
  }
}

const isSystemError = (err: unknown) => err instanceof Error && typeof (err as NodeJS.ErrnoException).code === 'string'

function report(io: Output, r: PackResult): void {
  io.out(`packed ${r.module}@${r.version} into ${r.file} (${r.included.length} files, ${r.omitted.length} left out)`)
  for (const f of r.included) io.out(`  included  ${f}`)
  for (const f of r.omitted) io.out(`  left out  ${f.path}: ${f.reason}`)
}

/**
 * `{name}-{version}.zip`, name being the module path's last element that is not a major version
 * suffix ("example.com/tool/v2" → "tool"), so the file says what it holds.
 */
async function defaultOutput(dir: string, version: string): Promise<string> {
  let module: string | undefined
  try {
    module = parseGoMod(await readFile(path.join(dir, 'go.mod'), 'utf8')).module
  } catch (err) {
    // packModule reads go.mod too and explains what is wrong with it.
    if (!(err instanceof GoModSyntaxError) && (err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  const elems = (module ?? 'module').split('/')
  const last = elems.length > 1 && /^v\d+$/.test(elems.at(-1)!) ? elems.at(-2)! : elems.at(-1)!
  const name = `${last.replace(/[^A-Za-z0-9._-]/g, '_')}-${version.replace(/[^A-Za-z0-9.+_-]/g, '_')}.zip`
  return path.resolve(name)
}

export function uploadUrl(base: string, owner: string): URL {
  let url: URL
  try {
    url = new URL(base)
  } catch {
    throw new GoCliError(`--url: not a URL: ${base}`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new GoCliError(`--url: expected http:// or https://, got ${base}`)
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/api/packages/${encodeURIComponent(owner)}/go/upload`
  return url
}

/**
 * PUTs the file with Expect: 100-continue, so a refusal (401, 403, 409 …) arrives before the
 * body is sent. Resolves with the status and the (text) answer.
 */
async function upload(url: URL, file: string, token: string, ca?: Buffer): Promise<{ status: number; body: string }> {
  const { size } = await stat(file)
  const lib = url.protocol === 'https:' ? https : http
  return new Promise((resolve, reject) => {
    const req = lib.request(url, {
      method: 'PUT',
      headers: {
        authorization: `token ${token}`, 'content-type': 'application/zip', 'content-length': String(size),
        expect: '100-continue', 'user-agent': 'wharf-go-push',
      },
      ...(ca ? { ca } : {}),
    })
    let sent = false
    const sendBody = () => {
      if (sent) return
      sent = true
      pipeline(createReadStream(file), req).catch((err: unknown) => {
        req.destroy(err instanceof Error ? err : new Error(String(err)))
      })
    }
    // A proxy in between may never answer 100 Continue; like curl, send the body after a second.
    const wait = setTimeout(sendBody, 1000)
    req.on('error', (err) => {
      clearTimeout(wait)
      reject(new GoCliError(`cannot reach ${url.origin}: ${err.message}`))
    })
    req.on('continue', sendBody)
    req.on('response', (res) => {
      clearTimeout(wait)
      const chunks: Buffer[] = []
      let kept = 0
      res.on('data', (c: Buffer) => {
        // An answer is a line or two; never keep more than 64 KiB of whatever a proxy sends.
        if (kept < 65536) chunks.push(c)
        kept += c.length
      })
      res.on('error', reject)
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8').slice(0, 65536) })
        req.destroy()
      })
    })
    req.flushHeaders()
  })
}
