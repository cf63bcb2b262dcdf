// SPDX-License-Identifier: Apache-2.0
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { formatAncestry, formatExecRow, matchesExecFilters } from '../../../src/probes/process/cli/trace-exec.js';
import type { ProcessRecord } from '../../../src/probes/process/process-schema.js';

const base: ProcessRecord = {
  'time': '2026-11-24T15:19:08.370123456Z', 'event.name': 'process.exec',
  'process.pid': 42, 'process.parent_pid': 7, 'process.real_user.id': 1000,
  'process.executable.path': '/bin/true', 'process.executable.name': 'true', 'process.command_args': ['/bin/true', 'a1'],
  'maxpro.tid': 42, 'maxpro.comm': 'true', 'maxpro.boot_ns': 1, 'maxpro.cgroup.id': 1, 'maxpro.exec.retval': 0,
  'container.id': 'c74b0f5062f0bc726cae1e9369ad4a95deed6b298d247f0407475adb23fa3190', 'container.runtime': 'containerd',
  'k8s.pod.uid': 'u-1', 'k8s.pod.name': 'web-1', 'k8s.namespace.name': 'prod',
  'maxpro.ancestry': [{ pid: 7, comm: 'bash' }, { pid: 1, comm: 'systemd' }],
};

describe('trace exec output', () => {
  test('row: time, pid, ppid, uid, return, pod and argv', () => {
    assert.equal(formatExecRow(base), '15:19:08.370       42        7    1000  0        prod/web-1                    /bin/true a1');
    const failed: ProcessRecord = { ...base, 'maxpro.exec.retval': -2, 'error.type': 'ENOENT', 'maxpro.args.truncated': true };
    delete failed['k8s.pod.name'];
    assert.match(formatExecRow(failed), / ENOENT +containerd:c74b0f5062f0 +\/bin\/true a1 \[…\]$/);
  });
  test('a failed exec shows the path that failed when argv[0] differs', () => {
    const r: ProcessRecord = { ...base, 'maxpro.exec.retval': -2, 'error.type': 'ENOENT', 'process.executable.path': '/usr/local/bin/true', 'process.command_args': ['true', 'x'] };
    assert.match(formatExecRow(r), / ENOENT .* \[\/usr\/local\/bin\/true\] true x$/);
  });
  test('ancestry line', () => {
    assert.equal(formatAncestry(base), '    ↳ bash(7) ← systemd(1)');
  });
  test('filters', () => {
    assert.ok(matchesExecFilters(base, { failed: false }));
    assert.ok(!matchesExecFilters(base, { failed: true }));
    assert.ok(matchesExecFilters(base, { failed: false, comm: 'true', pid: 7, container: 'c74b', pod: 'web-1', namespace: 'prod' }));
    assert.ok(matchesExecFilters(base, { failed: false, pod: 'u-1' }));
    assert.ok(!matchesExecFilters(base, { failed: false, namespace: 'dev' }));
    assert.ok(!matchesExecFilters(base, { failed: false, container: 'ffff' }));
    assert.ok(!matchesExecFilters({ ...base, 'event.name': 'process.exit' }, { failed: false }));
  });
});
