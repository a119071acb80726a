import type { RegistryModule } from './registry-module.js'

export const packageTypes: readonly RegistryModule[] = []
export const findPackageType = (name: string) => packageTypes.find((t) => t.name === name)
