import type { RegistryModule } from './registry-module.js'
import { generic } from './generic/index.js'

export const packageTypes: readonly RegistryModule[] = [generic]
export const findPackageType = (name: string) => packageTypes.find((t) => t.name === name)
