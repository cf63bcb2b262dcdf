// SPDX-License-Identifier: Apache-2.0
// The example probe's module through the generic parts that read it: the policy planner turns its
// predicate into its kernel settings, the live stream's filter into its demand.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { planPushDown } from '../../../src/agent/policy/policy-planner.js';
import { POLICY_SET_SCHEMA } from '../../../src/agent/policy/policy.js';
import { parseStreamFilter, streamDemandsOf } from '../../../src/agent/http/stream-filter.js';

const plan = (policy: unknown) => planPushDown(POLICY_SET_SCHEMA.parse(policy));

describe('sysenter push-down', () => {
  const cases: { name: string; policy: unknown; want: { records: boolean; syscallNr: number } }[] = [
    { name: 'default keep: every syscall of the configured process', policy: { default: 'keep', rules: [] }, want: { records: true, syscallNr: -1 } },
    { name: 'default drop, no rule: no record', policy: { default: 'drop', rules: [] }, want: { records: false, syscallNr: -1 } },
    { name: 'one syscall kept', policy: { default: 'drop', rules: [{ name: 'r', when: 'syscall.id == 39', action: 'keep' }] }, want: { records: true, syscallNr: 39 } },
    {
      name: 'two syscalls kept: the map holds one number, so every syscall',
      policy: { default: 'drop', rules: [{ name: 'a', when: 'syscall.id == 39', action: 'keep' }, { name: 'b', when: 'syscall.id == 0', action: 'keep' }] },
      want: { records: true, syscallNr: -1 },
    },
    {
      name: 'a comparison with no kernel form: every syscall, user space decides',
      policy: { default: 'drop', rules: [{ name: 'r', when: 'syscall.id > 3', action: 'keep' }] }, want: { records: true, syscallNr: -1 },
    },
    {
      name: 'a drop rule is exact in user space: nothing kept, nothing sent',
      policy: { default: 'drop', rules: [{ name: 'r', when: 'syscall.id == 39', action: 'drop' }] }, want: { records: false, syscallNr: -1 },
    },
    {
      name: 'a catch-all drop for the probe ends its evaluation',
      policy: { default: 'keep', rules: [{ name: 'r', probes: ['sysenter'], action: 'drop' }] }, want: { records: false, syscallNr: -1 },
    },
  ];
  for (const c of cases) test(c.name, () => assert.deepEqual(plan(c.policy).sysenter, c.want));

  test('the TCP settings are the same whether or not another probe has a push-down', () => {
    const p = plan({ default: 'drop', rules: [{ name: 'r', when: 'tcp.connect.latency > 100ms', action: 'keep' }] });
    assert.deepEqual(p.tcp, { minHandshakeNs: 100_000_000, minSrttNs: 0, minLifetimeNs: 0, stream: false, failed: false, retransmits: false });
    assert.deepEqual(p.sysenter, { records: false, syscallNr: -1 });
  });
});

describe('sysenter stream demand', () => {
  const q = (s: string) => parseStreamFilter(new URLSearchParams(s));
  const cases: [string, unknown][] = [
    ['probe=sysenter&pid=42', { pid: 42 }],
    ['pid=42', { pid: 42 }],
    ['probe=sysenter', undefined],
    ['probe=tcp&pid=42', undefined],
    ['probe=sysenter&pid=42&kept=true', undefined],
  ];
  for (const [query, want] of cases) test(`${query} -> ${JSON.stringify(want)}`, () => assert.deepEqual(streamDemandsOf(q(query)).get('sysenter'), want));
});
