// SPDX-License-Identifier: Apache-2.0
// Decoders on golden bytes laid out as process.h declares them.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  PROCESS_EXEC_EVENT, PROCESS_FLAG, decodeProcessExecEvent, decodeProcessExitEvent, decodeProcessForkEvent, splitArgs,
} from '../../../src/probes/process/process-event.js';

function execRecord(opts: { flags: number; argc: number; filename: string; args: string; retval: number }): { view: DataView; bytes: Uint8Array; len: number } {
  const fn = Buffer.from(`${opts.filename}\0`);
  const args = Buffer.from(opts.args, 'utf8');
  const len = PROCESS_EXEC_EVENT.size + fn.length + args.length;
  const buf = Buffer.alloc(len + 8);
  const off = 8; // a record never starts at 0 in a batch
  buf.writeUInt8(1, off); buf.writeUInt8(1, off + 1); buf.writeUInt16LE(opts.flags, off + 2); buf.writeUInt32LE(len, off + 4);
  buf.writeBigUInt64LE(5_000_000_123n, off + 8);
  const u32 = [1234, 1234, 1000, 1240, 1001, 1002, 0, 1003, 0, 0, 0, 0];
  u32.forEach((v, i) => buf.writeUInt32LE(v, off + 16 + i * 4));
  buf.writeBigUInt64LE(0x1_0000_0005n, off + 48); // cgroup id above 2^32
  buf.writeUInt32LE(4026531840, off + 56); buf.writeUInt32LE(4026531836, off + 60);
  buf.writeUInt32LE(7, off + 64); buf.writeUInt32LE(opts.argc, off + 68); buf.writeInt32LE(opts.retval, off + 72);
  buf.writeUInt32LE(fn.length, off + 76); buf.writeUInt32LE(args.length, off + 80); buf.writeUInt32LE(args.length, off + 84);
  buf.writeBigUInt64LE(4_999_000_000n, off + 88);
  buf.write('bash', off + 96, 'latin1');
  fn.copy(buf, off + 112);
  args.copy(buf, off + 112 + fn.length);
  return { view: new DataView(buf.buffer, buf.byteOffset, buf.length), bytes: new Uint8Array(buf.buffer, buf.byteOffset, buf.length), len };
}

describe('process event decoders', () => {
  test('exec: identity, path, argv and 64-bit fields', () => {
    const r = execRecord({ flags: PROCESS_FLAG.threadExec, argc: 3, filename: '/bin/true', args: '/bin/true\0a1\0a2\0', retval: 0 });
    const e = decodeProcessExecEvent(r.view, 8, r.len, r.bytes, 128);
    assert.equal(e.type, 'exec');
    assert.equal(e.bootNs, 5_000_000_123);
    assert.equal(e.pid, 1234);
    assert.equal(e.ppid, 1000);
    assert.equal(e.oldTid, 1240);
    assert.equal(e.uid, 1001);
    assert.equal(e.egid, 1003);
    assert.equal(e.cgroupId, 0x1_0000_0005);
    assert.equal(e.nsPid, 7);
    assert.equal(e.filename, '/bin/true');
    assert.deepEqual(e.args, ['/bin/true', 'a1', 'a2']);
    assert.equal(e.argsTruncated, false);
    assert.equal(e.startBootNs, 4_999_000_000);
    assert.equal(e.comm, 'bash');
  });
  test('exec: a cut last argument is kept and flagged', () => {
    const r = execRecord({ flags: PROCESS_FLAG.argsTruncated, argc: 2, filename: '/bin/echo', args: '/bin/echo\0xxxx', retval: 0 });
    const e = decodeProcessExecEvent(r.view, 8, r.len, r.bytes, 128);
    assert.deepEqual(e.args, ['/bin/echo', 'xxxx']);
    assert.equal(e.argsTruncated, true);
  });
  test('exec: more arguments than maxArgs are cut and flagged even without the kernel flag', () => {
    const r = execRecord({ flags: 0, argc: 4, filename: '/bin/x', args: 'a\0b\0c\0d\0', retval: 0 });
    const e = decodeProcessExecEvent(r.view, 8, r.len, r.bytes, 2);
    assert.deepEqual(e.args, ['a', 'b']);
    assert.equal(e.argsTruncated, true);
  });
  test('exec: failure, UTF-8 argument', () => {
    const r = execRecord({ flags: PROCESS_FLAG.failed, argc: 2, filename: '/nope', args: '/nope\0héllo wörld\0', retval: -2 });
    const e = decodeProcessExecEvent(r.view, 8, r.len, r.bytes, 128);
    assert.equal(e.retval, -2);
    assert.deepEqual(e.args, ['/nope', 'héllo wörld']);
  });
  test('exec: data lengths beyond the record are refused', () => {
    const r = execRecord({ flags: 0, argc: 1, filename: '/x', args: 'abc\0', retval: 0 });
    assert.throws(() => decodeProcessExecEvent(r.view, 8, r.len - 2, r.bytes, 128), RangeError);
  });
  test('fork and exit', () => {
    const buf = Buffer.alloc(80);
    buf.writeBigUInt64LE(99n, 8);
    [10, 11, 9, 3, 1000, 1000, 400, 401].forEach((v, i) => buf.writeUInt32LE(v, 16 + i * 4));
    buf.writeBigUInt64LE(77n, 48); buf.writeBigUInt64LE(55n, 56); buf.write('sh', 64, 'latin1');
    const f = decodeProcessForkEvent(new DataView(buf.buffer, buf.byteOffset, 80), 0, new Uint8Array(buf.buffer, buf.byteOffset, 80));
    assert.deepEqual([f.pid, f.tid, f.ppid, f.nsPid, f.mntnsId, f.cgroupId, f.startBootNs, f.comm], [10, 11, 9, 3, 400, 77, 55, 'sh']);

    const x = Buffer.alloc(72);
    const view = new DataView(x.buffer, x.byteOffset, 72);
    const bytes = new Uint8Array(x.buffer, x.byteOffset, 72);
    x.writeUInt32LE(10, 16); x.writeUInt32LE(12, 20); x.writeUInt32LE(9, 24);
    x.writeUInt32LE(3 << 8, 28); x.writeBigUInt64LE(2_000_000n, 40);
    let e = decodeProcessExitEvent(view, 0, bytes);
    assert.deepEqual([e.exitCode, e.signal, e.coreDumped, e.lifetimeNs, e.tid], [3, null, false, 2_000_000, 12]);
    x.writeUInt32LE(0x80 | 11, 28); // SIGSEGV with core
    e = decodeProcessExitEvent(view, 0, bytes);
    assert.deepEqual([e.exitCode, e.signal, e.coreDumped], [null, 11, true]);
  });
  test('splitArgs honours the limit and a missing last NUL', () => {
    const b = Buffer.from('a\0bb\0ccc');
    assert.deepEqual(splitArgs(b, 0, b.length, 10), ['a', 'bb', 'ccc']);
    assert.deepEqual(splitArgs(b, 0, b.length, 2), ['a', 'bb']);
    assert.deepEqual(splitArgs(b, 0, 0, 2), []);
  });
});
