import type { RegistryModule } from './registry-module.js'
import { generic } from './generic/index.js'
import { go } from './go/index.js'

export const packageTypes: readonly RegistryModule[] = [generic, go]
export const findPackageType = (name: string) => packageTypes.find((t) => t.name === name)
