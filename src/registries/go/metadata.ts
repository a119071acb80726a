// What a Go upload stores on its version (package_version.metadata), read by the GOPROXY routes
// and the version page alike.
import type { VersionView } from '../../packages/package-service.js'

export interface GoVersionMetadata {
  goMod: string
  goModSynthesized: boolean
}

/** Every upload stores the metadata; without it, the go.mod a zip without one gets is the right answer. */
export function goMetadataOf(v: Pick<VersionView, 'name' | 'metadataJson'>): GoVersionMetadata {
  if (v.metadataJson) {
    try {
      const m = JSON.parse(v.metadataJson) as Partial<GoVersionMetadata>
      if (typeof m.goMod === 'string') return { goMod: m.goMod, goModSynthesized: m.goModSynthesized === true }
    } catch {
      // fall through: a row written by hand or by a future version; the synthesized go.mod is still right
    }
  }
  return { goMod: `module ${v.name}\n`, goModSynthesized: true }
}
