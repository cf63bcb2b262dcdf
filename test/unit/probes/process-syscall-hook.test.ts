// SPDX-License-Identifier: Apache-2.0
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chooseSyscallHook } from '../../../src/probes/process/process-probe.js';
import type { ProcessSyscallHook } from '../../../src/probes/process/process-probe.js';
import { tracefsState } from '../../../src/ebpf/tracefs.js';
import type { TracefsState } from '../../../src/ebpf/tracefs.js';

const cases: { hook: ProcessSyscallHook; tracefs: TracefsState; want: 'tracepoint' | 'tp_btf' }[] = [
  { hook: 'auto', tracefs: { state: 'readable', dir: '/sys/kernel/tracing' }, want: 'tracepoint' },
  // A non-root agent: tracefs is root-only.
  { hook: 'auto', tracefs: { state: 'unreadable', dir: '/sys/kernel/tracing', file: '/sys/kernel/tracing/events/x/id', errno: 'EACCES' }, want: 'tp_btf' },
  { hook: 'auto', tracefs: { state: 'not-mounted' }, want: 'tp_btf' },
  { hook: 'tracepoint', tracefs: { state: 'not-mounted' }, want: 'tracepoint' },
  { hook: 'tp_btf', tracefs: { state: 'readable', dir: '/sys/kernel/tracing' }, want: 'tp_btf' },
];

for (const { hook, tracefs, want } of cases) {
  test(`syscall hook ${hook} with tracefs ${tracefs.state} -> ${want}`, () => {
    let asked = 0;
    assert.equal(chooseSyscallHook(hook, () => { asked++; return tracefs; }), want);
    assert.equal(asked, hook === 'auto' ? 1 : 0, 'tracefs is looked at only for auto');
  });
}

test('tracefsState: a readable id file, a mounted tracefs without the tracepoint, and no tracefs', () => {
  const root = mkdtempSync(join(tmpdir(), 'maxpro-tracefs-'));
  try {
    const a = join(root, 'a'), b = join(root, 'b'), none = join(root, 'none');
    mkdirSync(join(a, 'events/syscalls/sys_enter_execve'), { recursive: true });
    writeFileSync(join(a, 'events/syscalls/sys_enter_execve/id'), '700\n');
    mkdirSync(join(b, 'events'), { recursive: true });
    assert.deepEqual(tracefsState('syscalls', 'sys_enter_execve', [none, a]), { state: 'readable', dir: a });
    // The first mounted one answers, like libbpf's lookup: b has events/ but not this tracepoint.
    assert.deepEqual(tracefsState('syscalls', 'sys_enter_execve', [b, a]), { state: 'readable', dir: b });
    assert.deepEqual(tracefsState('syscalls', 'sys_enter_execve', [none]), { state: 'not-mounted' });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
