// SPDX-License-Identifier: Apache-2.0
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { compareKernel, effectiveCaps, memlockLimit, mountsOfType, parseKernelVersion } from '../../../src/doctor/system-info.js';

describe('system info parsing', () => {
  test('capabilities from CapEff', () => {
    assert.deepEqual([...effectiveCaps('CapEff:\t000001ffffffffff\n')].sort(), [
      'CAP_BPF', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_NET_ADMIN', 'CAP_PERFMON', 'CAP_SYS_ADMIN', 'CAP_SYS_PTRACE', 'CAP_SYS_RESOURCE',
    ]);
    assert.deepEqual([...effectiveCaps('CapEff:\t000000c000000000\n')].sort(), ['CAP_BPF', 'CAP_PERFMON']);
    assert.equal(effectiveCaps('CapEff:\t0000000000000000\n').size, 0);
    assert.equal(effectiveCaps('garbage').size, 0);
  });
  test('kernel versions', () => {
    assert.deepEqual(parseKernelVersion('6.18.44-fc-v669'), [6, 18, 44]);
    assert.deepEqual(parseKernelVersion('5.8'), [5, 8, 0]);
    assert.deepEqual(parseKernelVersion('weird'), [0, 0, 0]);
    assert.ok(compareKernel([5, 8, 0], [5, 8, 0]) === 0);
    assert.ok(compareKernel([5, 4, 200], [5, 8, 0]) < 0);
    assert.ok(compareKernel([6, 0, 0], [5, 19, 9]) > 0);
  });
  test('mounts and memlock', () => {
    const mounts = 'bpf /sys/fs/bpf bpf rw 0 0\ntracefs /sys/kernel/tracing tracefs rw 0 0\nnone /x bpf rw 0 0\n';
    assert.deepEqual(mountsOfType('bpf', mounts), ['/sys/fs/bpf', '/x']);
    assert.deepEqual(mountsOfType('debugfs', mounts), []);
    assert.equal(memlockLimit('Max locked memory         8388608              8388608              bytes\n'), 8388608);
    assert.equal(memlockLimit('Max locked memory         unlimited            unlimited            bytes\n'), Infinity);
  });
});
