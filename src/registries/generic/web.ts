// How Generic packages look on the web pages: file URLs and curl instructions.
import { html } from '../../web/html.js'
import { commandBlock } from '../../web/layout.js'
import { apiBase, type RegistryWeb, type VersionRef } from '../registry-module.js'

const seg = encodeURIComponent
const versionUrl = (ref: VersionRef) => `${apiBase(ref, 'generic')}/${seg(ref.name)}/${seg(ref.version)}`

export const web: RegistryWeb = {
  fileUrl: (ref, file) => `${versionUrl(ref)}/${seg(file.name)}`,
  install(ref) {
    // The lead file if the type marks one, else the largest: usually the thing people came for.
    const first = ref.files.find((f) => f.isLead) ?? [...ref.files].sort((a, b) => Number(b.size) - Number(a.size))[0]
    const url = `${versionUrl(ref)}/${seg(first?.name ?? 'FILE')}`
    const auth = ref.ownerPublic ? '' : '--user USERNAME:TOKEN '
    return html`<p>Download a file with curl${ref.ownerPublic ? '' : ' (this owner is not public: use your username and an access token)'}:</p>
${commandBlock(`curl -fL ${auth}-o ${JSON.stringify(first?.name ?? 'FILE')} \\\n  "${url}"`, 1)}
<p>Upload another file to this version:</p>
${commandBlock(`curl -f --user USERNAME:TOKEN --upload-file ./FILE \\\n  "${versionUrl(ref)}/FILE"`, 2)}`
  },
}
