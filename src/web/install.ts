// Per-type facts for the pages: where a file is downloaded from and how to install a version.
// (RegistryModule has no web hooks yet; when it grows installHint(), this moves there.)
import { html, type Html } from './html.js'
import { copyButton } from './layout.js'

export interface InstallInput {
  base: URL
  owner: string
  ownerPublic: boolean
  type: string
  name: string
  version: string
  files: ReadonlyArray<{ name: string; isLead: number; size: number | string }>
}

const seg = encodeURIComponent
/** The go command's case encoding for module paths and versions in proxy URLs: "A" → "!a". */
export const goEscape = (s: string) => s.replace(/[A-Z]/g, (c) => `!${c.toLowerCase()}`)

function apiBase(base: URL, owner: string, type: string): string {
  return new URL(`api/packages/${seg(owner)}/${type}`, base).toString()
}

/** The API path a file downloads from, or undefined for a type the web UI does not know. */
export function fileUrl(i: Omit<InstallInput, 'files'>, file: { name: string; isLead: number }): string | undefined {
  if (i.type === 'generic') return `${apiBase(i.base, i.owner, 'generic')}/${seg(i.name)}/${seg(i.version)}/${seg(file.name)}`
  if (i.type === 'go') {
    const root = `${apiBase(i.base, i.owner, 'go')}/${goEscape(i.name)}/@v/${goEscape(i.version)}`
    if (file.name.endsWith('.mod')) return `${root}.mod`
    if (file.name.endsWith('.info')) return `${root}.info`
    return `${root}.zip`
  }
  return undefined
}

function block(lines: string, n: number): Html {
  const id = `cmd-${n}`
  return html`<div class="hash"><pre id="${id}"><code>${lines}</code></pre>${copyButton(lines, 'Copy', id)}</div>`
}

export function installHtml(i: InstallInput): Html {
  const host = i.base.host
  if (i.type === 'generic') {
    // The lead file if the type marks one, else the largest: usually the thing people came for.
    const first = i.files.find((f) => f.isLead) ?? [...i.files].sort((a, b) => Number(b.size) - Number(a.size))[0]
    const url = first ? fileUrl(i, first)! : `${apiBase(i.base, i.owner, 'generic')}/${seg(i.name)}/${seg(i.version)}/FILE`
    const auth = i.ownerPublic ? '' : '--user USERNAME:TOKEN '
    return html`<p>Download a file with curl${i.ownerPublic ? '' : ' (this owner is not public: use your username and an access token)'}:</p>
${block(`curl -fL ${auth}-o ${JSON.stringify(first?.name ?? 'FILE')} \\\n  "${url}"`, 1)}
<p>Upload another file to this version:</p>
${block(`curl -f --user USERNAME:TOKEN --upload-file ./FILE \\\n  "${apiBase(i.base, i.owner, 'generic')}/${seg(i.name)}/${seg(i.version)}/FILE"`, 2)}`
  }
  if (i.type === 'go') {
    const proxy = apiBase(i.base, i.owner, 'go')
    const withCreds = proxy.replace(/^(https?:\/\/)/, '$1USERNAME:TOKEN@')
    return html`<p>Point the go command at this proxy, then fetch the module:</p>
${block(`export GOPROXY=${i.ownerPublic ? proxy : withCreds},https://proxy.golang.org,direct\nexport GONOSUMDB=${i.name}\ngo get ${i.name}@${i.version}`, 3)}
<ul>
<li><code>GONOSUMDB</code> tells go not to look this module up in the public checksum database (sum.golang.org),
which does not know private modules. Do not use <code>GOPRIVATE</code> for this: it also turns the proxy off for the module.</li>
<li>${i.ownerPublic ? 'This owner is public: no credentials are needed. ' : ''}For private owners go sends credentials only to
<code>https://</code> proxies: put <code>USERNAME:TOKEN@</code> in <code>GOPROXY</code> as above, or add
<code>machine ${host} login USERNAME password TOKEN</code> to <code>~/.netrc</code>.</li>
<li>Publish a version with <code>wharf go push DIR --version vX.Y.Z --url ${i.base.toString()} --owner ${i.owner}</code> (token in <code>WHARF_TOKEN</code>).</li>
</ul>`
  }
  return html`<p class="muted">No install instructions for ${i.type} packages yet.</p>`
}
