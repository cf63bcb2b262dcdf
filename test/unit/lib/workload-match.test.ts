// SPDX-License-Identifier: Apache-2.0
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { matchesWorkload } from '../../../src/lib/workload-match.js';

const cases: { name: string; args: Parameters<typeof matchesWorkload>; want: boolean }[] = [
  { name: 'no filter passes anything', args: [undefined, undefined, undefined, {}], want: true },
  { name: 'container id prefix', args: ['abcdef123456', undefined, undefined, { container: 'abc' }], want: true },
  { name: 'other container', args: ['abcdef123456', undefined, undefined, { container: 'abd' }], want: false },
  { name: 'no container against a container filter', args: [undefined, undefined, undefined, { container: 'a' }], want: false },
  { name: 'pod by name', args: ['c', 'web-1', 'prod', { pod: 'web-1' }, 'uid-1'], want: true },
  { name: 'pod by UID', args: ['c', 'web-1', 'prod', { pod: 'uid-1' }, 'uid-1'], want: true },
  { name: 'other pod', args: ['c', 'web-1', 'prod', { pod: 'web-2' }, undefined], want: false },
  { name: 'namespace', args: ['c', 'web-1', 'prod', { namespace: 'prod' }], want: true },
  { name: 'other namespace', args: ['c', 'web-1', 'prod', { namespace: 'dev' }], want: false },
  { name: 'all three must hold', args: ['abc', 'web-1', 'prod', { container: 'ab', pod: 'web-1', namespace: 'dev' }], want: false },
];

for (const { name, args, want } of cases) {
  test(`matchesWorkload: ${name}`, () => {
    assert.equal(matchesWorkload(...args), want);
  });
}
