import { test } from 'node:test'
import assert from 'node:assert/strict'
import { isValidFileName, isValidPackageName, isValidVersion } from './validate.js'

const names: Array<[string, boolean]> = [
  ['tool', true], ['My.Tool_1-2+3', true], ['a', true], ['7', true], ['ab', true], ['..', false],
  ['...', true], ['.', false], ['_', false], ['-', false], ['+', false], ['', false], ['a b', false],
  ['a/b', false], ['ä', false], ['a:b', false], ['x'.repeat(255), true], ['x'.repeat(256), false],
]
for (const [input, ok] of names) test(`package name ${JSON.stringify(input)} → ${ok}`, () => assert.equal(isValidPackageName(input), ok))

const versions: Array<[string, boolean]> = [
  ['1.0.0', true], ['v1', true], ['1.0/beta', true], ['with space', true], ['ünï', true], ['', false],
  [' 1.0', false], ['1.0 ', false], ['1.0\t', false], ['1\n0', false], ['1\u00000', false], ['1\u007f', false],
]
for (const [input, ok] of versions) test(`version ${JSON.stringify(input)} → ${ok}`, () => assert.equal(isValidVersion(input), ok))

const files: Array<[string, boolean]> = [
  ['tool.bin', true], ['A.bin', true], ['my file (1).tar.gz', true], ['a=b:c;d[e]{f}~!@#$%^&', true],
  ['x+y-z_1', true], ['.hidden', true], ['...', true], ['.', false], ['..', false], ['', false],
  [' lead', false], ['trail ', false], ['a/b', false], ['a\\b', false], ['a"b', false], ["a'b", false],
  ['a?b', false], ['a*b', false], ['a<b', false], ['a|b', false], ['a,b', false], ['ü.bin', false],
  ['a\tb', false], ['x'.repeat(256), false],
]
for (const [input, ok] of files) test(`file name ${JSON.stringify(input)} → ${ok}`, () => assert.equal(isValidFileName(input), ok))
