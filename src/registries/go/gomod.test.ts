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
    ['module (\n  // Deprecated: use example.com/n.\n  example.com/m\n)\n', { module: 'example.com/m', deprecated: 'use example.com/n.' }],
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

test('parseGoMod reads retract directives with their rationale and the Deprecated comment', () => {
  const info = parseGoMod([
    '// Deprecated: use example.com/n instead.',
    '// It will not get fixes.',
    'module example.com/m',
    '',
    'go 1.19',
    '',
    '// Published too early.',
    'retract v1.0.0',
    'retract [v1.1.0, v1.1.5] // Broken builds.',
    'retract (',
    '\t// Leaked a secret.',
    '\tv1.3.0',
    '\tv1.4.0',
    ')',
  ].join('\n'))
  assert.equal(info.module, 'example.com/m')
  assert.equal(info.deprecated, 'use example.com/n instead.\nIt will not get fixes.')
  assert.deepEqual(info.retract, [
    { low: 'v1.0.0', high: 'v1.0.0', rationale: 'Published too early.' },
    { low: 'v1.1.0', high: 'v1.1.5', rationale: 'Broken builds.' },
    { low: 'v1.3.0', high: 'v1.3.0', rationale: 'Leaked a secret.' },
    { low: 'v1.4.0', high: 'v1.4.0', rationale: '' },
  ])
  assert.equal(parseGoMod('// header\n\nmodule example.com/m // Deprecated: gone\n').deprecated, 'gone')
  assert.equal(parseGoMod('// Deprecated: detached\n\nmodule example.com/m\n').deprecated, undefined)
  assert.throws(() => parseGoMod('retract [v1.0.0 v1.2.0]\n'), GoModSyntaxError)
})
