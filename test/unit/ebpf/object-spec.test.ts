// SPDX-License-Identifier: Apache-2.0
// ObjectSpec is pure: opening and configuring needs no root and no kernel.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  openObject, openObjectFile, bpfObjectPath, ClosedError, InvalidArgumentError, NotFoundError, SyscallError,
} from '../../../src/ebpf/index.js';

describe('ObjectSpec', () => {
  test('describes programs, maps and global variables from the ELF', () => {
    const spec = openObjectFile(bpfObjectPath('ringbuf_bench'));
    try {
      assert.equal(spec.name, 'ringbuf_bench');
      assert.deepEqual(spec.programs.map((p) => [p.name, p.section, p.type]), [['ringbuf_bench__sys_enter', 'tp_btf/sys_enter', 'tracing']]);
      const events = spec.maps.find((m) => m.name === 'events');
      assert.equal(events?.type, 'ringbuf');
      const drops = spec.maps.find((m) => m.name === 'drops');
      assert.equal(drops?.type, 'percpu_array');
      const rodata = spec.variables['.rodata']?.map((v) => v.name);
      assert.deepEqual(rodata, ['maxpro_wakeup_bytes', 'targ_tgid', 'targ_syscall']);
    } finally {
      spec.close();
    }
  });

  test('setConstant checks names, ranges and types', () => {
    const spec = openObjectFile(bpfObjectPath('ringbuf_bench'));
    try {
      spec.setConstant('targ_tgid', 0xffffffff).setConstant('targ_syscall', -1).setConstant('maxpro_wakeup_bytes', 1n << 40n);
      assert.throws(() => spec.setConstant('targ_tgid', 2 ** 32), InvalidArgumentError);
      assert.throws(() => spec.setConstant('targ_tgid', 1.5), InvalidArgumentError);
      assert.throws(() => spec.setConstant('nope', 1), NotFoundError);
      assert.throws(() => spec.setMaxEntries('events', 1000), /power of two/);
      assert.throws(() => spec.setMaxEntries('events', 0), InvalidArgumentError);
      assert.throws(() => spec.setMaxEntries('nope', 4096), NotFoundError);
      assert.throws(() => spec.setAutoload('nope', false), NotFoundError);
      spec.setMaxEntries('events', 1 << 20).setAutoload('ringbuf_bench__sys_enter', false);
    } finally {
      spec.close();
      spec.close();
    }
    assert.throws(() => spec.setConstant('targ_tgid', 1), ClosedError);
    assert.throws(() => spec.load(), ClosedError);
  });

  test('opens from bytes; rejects empty input, bad names and non-ELF bytes', () => {
    const bytes = readFileSync(bpfObjectPath('doctor'));
    const spec = openObject(bytes, 'doctor');
    assert.ok(spec.programs.length >= 10);
    spec.close();
    assert.throws(() => openObject(new Uint8Array(0), 'x'), InvalidArgumentError);
    assert.throws(() => openObject(bytes, ''), InvalidArgumentError);
    assert.throws(() => openObject(bytes, 'x'.repeat(64)), InvalidArgumentError);
    assert.throws(() => openObject(new Uint8Array([1, 2, 3, 4]), 'junk'), SyscallError);
  });
});
