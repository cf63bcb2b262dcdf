// SPDX-License-Identifier: Apache-2.0
// Which capability a refusal names, and how the doctor reports each capability and tracefs.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { missingCapability } from '../../../src/ebpf/capabilities.js';
import type { CapName } from '../../../src/ebpf/capabilities.js';
import { capabilityChecks, tracefsCheck } from '../../../src/doctor/run-doctor.js';

const caps = (...c: CapName[]): Set<CapName> => new Set(c);

describe('missingCapability', () => {
  const cases: { kinds: string[]; held: CapName[]; want: CapName | undefined }[] = [
    { kinds: ['tracing', 'tracepoint'], held: ['CAP_PERFMON'], want: 'CAP_BPF' },
    { kinds: ['tracing'], held: ['CAP_BPF'], want: 'CAP_PERFMON' },
    { kinds: ['tp'], held: ['CAP_BPF'], want: 'CAP_PERFMON' },
    { kinds: ['xdp'], held: ['CAP_BPF', 'CAP_PERFMON'], want: 'CAP_NET_ADMIN' },
    { kinds: ['sched_cls'], held: ['CAP_SYS_ADMIN'], want: 'CAP_NET_ADMIN' }, // SYS_ADMIN stands in for BPF, not NET_ADMIN
    { kinds: ['socket_filter'], held: ['CAP_BPF'], want: undefined },
    { kinds: ['tracing'], held: ['CAP_SYS_ADMIN'], want: undefined },
    { kinds: [], held: [], want: 'CAP_BPF' }, // maps alone
    { kinds: ['tracing'], held: ['CAP_BPF', 'CAP_PERFMON'], want: undefined }, // refused for another reason
  ];
  for (const c of cases) {
    test(`${c.kinds.join('+') || 'maps'} with ${c.held.join('+') || 'nothing'} -> ${c.want ?? 'none missing'}`, () => {
      assert.equal(missingCapability(c.kinds, caps(...c.held)), c.want);
    });
  }
});

describe('doctor capability checks', () => {
  const byId = (held: CapName[], exe = false): Record<string, { status: string; detail: string; required: boolean }> =>
    Object.fromEntries(capabilityChecks(caps(...held), false, () => exe).map((c) => [c.id, c]));

  test('the chart\'s set passes; each missing one is named with what it costs', () => {
    const all = byId(['CAP_BPF', 'CAP_PERFMON', 'CAP_SYS_PTRACE']);
    for (const id of ['caps.bpf', 'caps.perfmon', 'caps.sys_ptrace']) assert.equal(all[id]?.status, 'ok', id);
    assert.equal(all['caps.net_admin']?.status, 'unavailable');
    assert.match(all['caps.net_admin']!.detail, /XDP and TC/);

    const noBpf = byId(['CAP_PERFMON', 'CAP_SYS_PTRACE']);
    assert.equal(noBpf['caps.bpf']?.status, 'fail');
    assert.equal(noBpf['caps.bpf']?.required, true);
    const noPerfmon = byId(['CAP_BPF', 'CAP_SYS_PTRACE']);
    assert.equal(noPerfmon['caps.perfmon']?.status, 'fail');
    const noPtrace = byId(['CAP_BPF', 'CAP_PERFMON']);
    assert.equal(noPtrace['caps.sys_ptrace']?.status, 'warn');
    assert.equal(noPtrace['caps.sys_ptrace']?.required, false);
    assert.match(noPtrace['caps.sys_ptrace']!.detail, /executable path/);
    // Where other users' /proc/<pid>/exe is readable anyway (same uid, hidepid off), nothing is lost.
    assert.equal(byId(['CAP_BPF', 'CAP_PERFMON'], true)['caps.sys_ptrace']?.status, 'ok');
  });

  test('CAP_SYS_ADMIN stands in for CAP_BPF and CAP_PERFMON', () => {
    const admin = byId(['CAP_SYS_ADMIN']);
    assert.equal(admin['caps.bpf']?.status, 'ok');
    assert.match(admin['caps.bpf']!.detail, /as CAP_SYS_ADMIN/);
    assert.equal(admin['caps.perfmon']?.status, 'ok');
  });
});

describe('doctor tracefs check', () => {
  test('not mounted, not readable and readable are told apart; none is required', () => {
    const notMounted = tracefsCheck({ state: 'not-mounted' }, 0);
    const unreadable = tracefsCheck({ state: 'unreadable', dir: '/sys/kernel/tracing', file: '/sys/kernel/tracing/events/sched/sched_process_exec/id', errno: 'EACCES' }, 65534);
    const readable = tracefsCheck({ state: 'readable', dir: '/sys/kernel/tracing' }, 0);
    assert.match(notMounted.detail, /^not mounted/);
    assert.match(notMounted.fix ?? '', /mount -t tracefs/);
    assert.match(unreadable.detail, /^mounted at \/sys\/kernel\/tracing but not readable by uid 65534 \(EACCES/);
    assert.equal(unreadable.fix, undefined, 'mounting it again would not help');
    assert.equal(readable.status, 'ok');
    for (const c of [notMounted, unreadable, readable]) assert.equal(c.required, false);
  });
});
