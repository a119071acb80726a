import assert from 'node:assert/strict'
import { test } from 'node:test'
import { GoModSyntaxError, parseGoMod } from './gomod.js'

test('parseGoMod finds the module and go directives in every form', () => {
  for (const [text, want] of [
    ['module example.com/m\n\ngo 1.21\n', { module: 'example.com/m', go: '1.21' }],
    ['module example.com/m', { module: 'example.com/m' }],
    ['module "example.com/m"\n', { module: 'example.com/m' }],
    ['module `example.com/m`\n', { module: 'example.com/m' }],
    ['module "example.com/\\u006d"\n', { module: 'example.com/m' }],
    ['// header\nmodule example.com/m// no space before the comment\r\ngo 1.24.0 // toolchain\n', { module: 'example.com/m', go: '1.24.0' }],
    ['module (\n  // Deprecated: use example.com/n.\n  example.com/m\n)\n', { module: 'example.com/m' }],
    ['go 1.22\nrequire (\n\tmodule v1.0.0\n\texample.com/x v1.2.3 // indirect\n)\nmodule example.com/m\n', { module: 'example.com/m', go: '1.22' }],
    ['replace example.com/x => ../x\nexclude example.com/y v1.0.0\n', {}],
    ['', {}],
  ] as const) {
    assert.deepEqual(parseGoMod(text), want, JSON.stringify(text))
  }
})

test('parseGoMod refuses a module directive Go would refuse', () => {
  for (const [text, message] of [
    ['module a.b/c\nmodule example.com/m\n', 'go.mod:2: repeated module statement'],
    ['module\n', 'go.mod:1: usage: module module/path'],
    ['module a b\n', 'go.mod:1: usage: module module/path'],
    ['module (\n a.b/c\n d.e/f\n)\n', 'go.mod:3: repeated module statement'],
    ['\nmodule "example.com/m\n', 'go.mod:2: unterminated quoted string'],
    ['module "example.com/\\q"\n', 'go.mod:1: invalid escape sequence in quoted string: "\\\\q"'],
  ] as const) {
    assert.throws(() => parseGoMod(text), (err: unknown) => err instanceof GoModSyntaxError && err.message === message,
      JSON.stringify(text))
  }
})
