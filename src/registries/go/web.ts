// How Go modules look on the web pages: GOPROXY file URLs, go get instructions, the go.mod.
import { html, type Html } from '../../web/html.js'
import { commandBlock } from '../../web/layout.js'
import { apiBase, type RegistryWeb } from '../registry-module.js'
import { parseGoMod } from './gomod.js'
import { pickLatest, retractionOf, retractionsOf } from './latest.js'
import { goMetadataOf } from './metadata.js'

const safeParse = (text: string) => {
  try {
    return parseGoMod(text)
  } catch {
    return undefined
  }
}

/** The go command's case encoding for module paths and versions in proxy URLs: "A" → "!a". */
export const goEscape = (s: string) => s.replace(/[A-Z]/g, (c) => `!${c.toLowerCase()}`)

/** The go.mod is shown cut short past 64 KiB. */
const MAX_SHOWN_GO_MOD = 65536

export const web: RegistryWeb = {
  slashedNames: true,
  fileUrl(ref, file) {
    const root = `${apiBase(ref, 'go')}/${goEscape(ref.name)}/@v/${goEscape(ref.version)}`
    if (file.name.endsWith('.mod')) return `${root}.mod`
    if (file.name.endsWith('.info')) return `${root}.info`
    return `${root}.zip`
  },
  install(ref) {
    const proxy = apiBase(ref, 'go')
    const withCreds = proxy.replace(/^(https?:\/\/)/, '$1USERNAME:TOKEN@')
    return html`<p>Point the go command at this proxy, then fetch the module:</p>
${commandBlock(`export GOPROXY=${ref.ownerPublic ? proxy : withCreds},https://proxy.golang.org,direct\nexport GONOSUMDB=${ref.name}\ngo get ${ref.name}@${ref.version}`, 3)}
<ul>
<li><code>GONOSUMDB</code> tells go not to look this module up in the public checksum database (sum.golang.org),
which does not know private modules. Do not use <code>GOPRIVATE</code> for this: it also turns the proxy off for the module.</li>
<li>${ref.ownerPublic ? 'This owner is public: no credentials are needed. ' : ''}For private owners go sends credentials only to
<code>https://</code> proxies: put <code>USERNAME:TOKEN@</code> in <code>GOPROXY</code> as above, or add
<code>machine ${ref.base.host} login USERNAME password TOKEN</code> to <code>~/.netrc</code>.</li>
${ref.name.toLowerCase().startsWith(`${ref.base.host}/${ref.owner}/`.toLowerCase()) ? html`<li>This module is named after this server, so the go command can also find it with no proxy set:
<code>GOPRIVATE=${ref.base.host} go get ${ref.name}@${ref.version}</code> (it reads <code>${ref.base.toString()}${ref.owner}/…?go-get=1</code> over https${ref.ownerPublic ? '' : html`, credentials from <code>~/.netrc</code>`}).</li>` : ''}
<li>Publish a version with <code>wharf go push DIR --version vX.Y.Z --url ${ref.base.toString()} --owner ${ref.owner}</code> (token in <code>WHARF_TOKEN</code>).</li>
</ul>`
  },
  async versionPage({ services, version }) {
    const notices: Html[] = []
    // Retractions and deprecation are read from the go.mod of the module's highest version, as go does.
    const versions = await services.packages.listVersionsOfPackage(version)
    const mods = versions.map((v) => ({ version: v.version, goMod: goMetadataOf(v).goMod }))
    const retracted = retractionOf(retractionsOf(mods), version.version)
    if (retracted) {
      notices.push(html`<p class="notice warning"><strong>Retracted</strong> by the module's authors${retracted.rationale ? html`: ${retracted.rationale}` : ''}. <code>go get …@latest</code> skips this version.</p>`)
    }
    const top = pickLatest(versions.map((v) => v.version))
    const topMod = mods.find((m) => m.version === top)?.goMod
    const deprecated = topMod !== undefined ? safeParse(topMod)?.deprecated : undefined
    if (deprecated !== undefined) notices.push(html`<p class="notice warning"><strong>Deprecated:</strong> ${deprecated}</p>`)
    const goMod = goMetadataOf(version).goMod.slice(0, MAX_SHOWN_GO_MOD)
    return { notices, sections: [html`<h2>go.mod</h2><pre><code>${goMod}</code></pre>`] }
  },
}
