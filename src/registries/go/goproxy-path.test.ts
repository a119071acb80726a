import assert from 'node:assert/strict'
import { test } from 'node:test'
import { parseGoProxyPath, type GoProxyRequest } from './goproxy-path.js'

const cases: ReadonlyArray<readonly [string, GoProxyRequest | undefined]> = [
  ['example.com/m/@v/list', { kind: 'list', module: 'example.com/m' }],
  ['example.com/m/@latest', { kind: 'latest', module: 'example.com/m' }],
  ['example.com/m/@v/v1.2.3.info', { kind: 'info', module: 'example.com/m', version: 'v1.2.3' }],
  ['example.com/m/@v/v1.2.3.mod', { kind: 'mod', module: 'example.com/m', version: 'v1.2.3' }],
  ['example.com/m/@v/v1.2.3.zip', { kind: 'zip', module: 'example.com/m', version: 'v1.2.3' }],
  ['example.com/m/v2/@v/v2.0.0-rc.1.zip', { kind: 'zip', module: 'example.com/m/v2', version: 'v2.0.0-rc.1' }],
  ['example.com/m/@v/v2.0.0+incompatible.info', { kind: 'info', module: 'example.com/m', version: 'v2.0.0+incompatible' }],
  ['example.com/m/@v/v0.0.0-20240102150405-abcdef123456.mod',
    { kind: 'mod', module: 'example.com/m', version: 'v0.0.0-20240102150405-abcdef123456' }],
  // Case encoding: "!x" is "X", in module paths and in versions.
  ['github.com/!azure/azure-sdk-for-go/@v/list', { kind: 'list', module: 'github.com/Azure/azure-sdk-for-go' }],
  ['github.com/!google!cloud!platform/omega/@latest', { kind: 'latest', module: 'github.com/GoogleCloudPlatform/omega' }],
  ['example.com/m/@v/v1.0.0-!r!c1.info', { kind: 'info', module: 'example.com/m', version: 'v1.0.0-RC1' }],
  ['sumdb/sum.golang.org/supported', { kind: 'supported' }],
  ['sumdb/sum.golang.org/lookup/example.com/m@v1.0.0', { kind: 'sumdb' }],
  ['sumdb/sum.golang.org/tile/8/0/000', { kind: 'sumdb' }],
  // Invalid escapes and paths.
  ['github.com/Azure/x/@v/list', undefined],              // raw upper case
  ['github.com/!Azure/x/@v/list', undefined],             // "!" before upper case
  ['github.com/!!azure/x/@v/list', undefined],
  ['github.com/!0azure/x/@v/list', undefined],
  ['github.com/azure!/@v/list', undefined],               // trailing "!"
  ['example.com/m/@v/v1.0.0-RC1.info', undefined],
  ['example.com/m/@v/v1.0.0-!1.info', undefined],
  ['example/m/@v/list', undefined],                       // no dot in the first element
  ['example.com/m/v1/@v/list', undefined],                // /v1 is not a major version suffix
  // Not GOPROXY requests.
  ['', undefined],
  ['upload', undefined],
  ['@v/list', undefined],
  ['/example.com/m/@v/list', undefined],
  ['example.com/m/@v/', undefined],
  ['example.com/m/@v/.info', undefined],
  ['example.com/m/@v/v1.2.3.tar', undefined],
  ['example.com/m/@v/v1.2.3', undefined],
  ['example.com/m/@v/v1/x.info', undefined],
  ['example.com/m/@latest/x', undefined],
  ['example.com/m/@v/list/x', undefined],
  ['example.com/m/@x/list', undefined],
  ['example.com/m', undefined],
]

for (const [input, expected] of cases) {
  test(`parseGoProxyPath(${JSON.stringify(input)})`, () => assert.deepEqual(parseGoProxyPath(input), expected))
}
