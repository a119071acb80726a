// `wharf go pack|push` — registered by the Go registry (src/registries/go/cli.ts) once it lands.
import type { Command } from 'commander'

export function registerGo(_program: Command): void {}
