// SPDX-License-Identifier: Apache-2.0
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chooseExitHook } from '../../../src/probes/process/process-probe.js';

const cases: { hook: 'auto' | 'group-dead' | 'leader'; args: number | undefined; want: 'group-dead' | 'leader' }[] = [
  { hook: 'auto', args: 2, want: 'group-dead' }, // sched_process_exit(p, group_dead)
  { hook: 'auto', args: 1, want: 'leader' }, // sched_process_exit(p): older kernels
  { hook: 'auto', args: undefined, want: 'group-dead' }, // no prototype in BTF: the current form
  { hook: 'leader', args: 2, want: 'leader' },
  { hook: 'group-dead', args: 1, want: 'group-dead' },
];

for (const { hook, args, want } of cases) {
  test(`exit hook ${hook} with ${args ?? 'unknown'} tracepoint arguments -> ${want}`, () => {
    let asked = 0;
    assert.equal(chooseExitHook(hook, () => { asked++; return args; }), want);
    assert.equal(asked, hook === 'auto' ? 1 : 0, 'the kernel is asked only for auto');
  });
}
