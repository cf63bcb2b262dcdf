// SPDX-License-Identifier: Apache-2.0
// Loading, verifier failures, fd hygiene, pinning across process restarts,
// map operations, libbpf log forwarding and BPF run-time stats.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  openObjectFile, bpfObjectDir, bpfObjectPath, createRingBufferReader, enableBpfStats, native, removePinned,
  setLibbpfLogHandler, ensurePinDir, DEFAULT_PIN_DIR, VerifierError, ClosedError, NotFoundError, BPF_NOEXIST, SyscallError,
} from '../../../src/ebpf/index.js';
import { kernelSkip } from '../../helpers/kernel.js';

const skip = kernelSkip();
const testObj = (name: string): string => resolve(bpfObjectDir(), `testdata/${name}.bpf.o`);
const u32 = (n: number): Uint8Array => { const b = new Uint8Array(4); new DataView(b.buffer).setUint32(0, n, true); return b; };
const u64 = (n: bigint): Uint8Array => { const b = new Uint8Array(8); new DataView(b.buffer).setBigUint64(0, n, true); return b; };
const fdCount = (): number => readdirSync('/proc/self/fd').length;

describe('BPF object lifecycle', { skip }, () => {
  test('a verifier rejection surfaces as VerifierError with the whole log', () => {
    const spec = openObjectFile(testObj('verifier_reject'), 'verifier_reject');
    assert.throws(() => spec.load(), (err: unknown) => {
      assert.ok(err instanceof VerifierError, `got ${String(err)}`);
      assert.equal(err.code, 'MAXPRO_ERR_EBPF_VERIFIER');
      assert.equal(err.program, 'verifier_reject/verifier_reject');
      assert.ok(err.log.length > 3, 'full log kept');
      assert.ok(err.log.some((l) => /invalid mem access 'map_value_or_null'/.test(l)), 'log has the reason');
      assert.ok(err.message.length < 400, 'message stays short');
      assert.match(err.message, /invalid mem access|R\d/);
      return true;
    });
    assert.throws(() => spec.load(), ClosedError, 'a failed spec cannot be reused');
  });

  test('closing an object frees every fd and handle, repeatedly', async () => {
    const before = fdCount();
    const baseline = native().handleCounts();
    for (let i = 0; i < 20; i++) {
      const spec = openObjectFile(bpfObjectPath('ringbuf_bench'));
      spec.setConstant('targ_tgid', process.pid).setMaxEntries('events', 1 << 16);
      const obj = spec.load();
      obj.program('ringbuf_bench__sys_enter').attachTrace();
      const reader = createRingBufferReader({ map: obj.map('events'), onBatch: () => undefined });
      void process.ppid;
      await reader.close();
      await reader.close();
      obj.close();
      obj.close();
    }
    assert.deepEqual(native().handleCounts(), baseline);
    assert.equal(fdCount(), before, 'no fd leaked');
  });

  test('use after close throws ClosedError', () => {
    const obj = openObjectFile(bpfObjectPath('ringbuf_bench')).load();
    const map = obj.map('drops');
    obj.close();
    assert.throws(() => obj.program('ringbuf_bench__sys_enter'), ClosedError);
    assert.throws(() => map.lookup(u32(0)), ClosedError);
  });

  test('pinned maps survive a process restart', () => {
    ensurePinDir(DEFAULT_PIN_DIR);
    const dir = `${DEFAULT_PIN_DIR}/test-pin-${process.pid}`;
    ensurePinDir(dir);
    const child = fileURLToPath(new URL('../fixtures/pin-child.js', import.meta.url));
    try {
      const wrote = execFileSync(process.execPath, [child, 'write', dir, '777'], { encoding: 'utf8' }).trim();
      assert.equal(wrote, '777');
      assert.ok(existsSync(`${dir}/hits`), 'map pinned');
      const again = execFileSync(process.execPath, [child, 'write', dir, '223'], { encoding: 'utf8' }).trim();
      assert.equal(again, '1000', 'second process continued the count');
      const read = execFileSync(process.execPath, [child, 'read', dir], { encoding: 'utf8' }).trim();
      assert.equal(read, '1000');
    } finally {
      removePinned(dir);
    }
    assert.equal(existsSync(dir), false);
  });

  test('map operations: lookup, update, delete, iterate, batch', () => {
    const spec = openObjectFile(testObj('attach_all'), 'attach_all');
    for (const p of spec.programs) spec.setAutoload(p.name, false);
    const obj = spec.load();
    try {
      const hits = obj.map('hits');
      assert.equal(hits.type, 'array');
      assert.equal(hits.keySize, 4);
      assert.equal(hits.valueSize, 8);
      hits.update(u32(3), u64(42n));
      assert.equal(hits.sumU64(u32(3)), 42n);
      assert.deepEqual([...hits.keys()].length, 16);
      const entries = [...hits.entries()];
      assert.equal(entries.length, 16);
      assert.throws(() => hits.update(u32(1), u64(1n), BPF_NOEXIST), SyscallError, 'array keys always exist');
      assert.throws(() => hits.update(new Uint8Array(3), u64(1n)), /key is 3 bytes/);
      assert.throws(() => hits.delete(u32(1)), SyscallError, 'array elements cannot be deleted');
      assert.equal(hits.lookup(u32(99)), undefined);
      const seen = new Map<number, bigint>();
      const n = hits.lookupBatch((k, v) => {
        seen.set(new DataView(k.buffer, k.byteOffset).getUint32(0, true), new DataView(v.buffer, v.byteOffset).getBigUint64(0, true));
      }, { max: 5 });
      assert.equal(n, 16, 'batched walk over several syscalls');
      assert.equal(seen.size, 16);
      assert.equal(seen.get(3), 42n);
      assert.throws(() => obj.map('nope'), NotFoundError);
    } finally {
      obj.close();
    }
  });

  test('libbpf log lines reach the JS handler', async () => {
    const lines: string[] = [];
    setLibbpfLogHandler((_level, line) => lines.push(line), 'debug');
    try {
      const obj = openObjectFile(bpfObjectPath('ringbuf_bench')).load();
      obj.close();
      await new Promise((r) => setTimeout(r, 50));
    } finally {
      setLibbpfLogHandler(null);
    }
    assert.ok(lines.some((l) => l.startsWith('libbpf:')), `got ${lines.length} lines`);
  });

  test('BPF stats count program runs', () => {
    const stats = enableBpfStats();
    const spec = openObjectFile(testObj('attach_all'), 'attach_all');
    for (const p of spec.programs) spec.setAutoload(p.name, p.name === 't_tp_btf');
    spec.setConstant('targ_tgid', process.pid);
    const obj = spec.load();
    try {
      obj.program('t_tp_btf').attachTrace();
      for (let i = 0; i < 500; i++) void process.ppid;
      const s = obj.program('t_tp_btf').stats();
      assert.ok(s.runCount >= 500n, `runCount ${s.runCount}`);
      assert.ok(s.runTimeNs > 0n);
    } finally {
      obj.close();
      stats.close();
      stats.close();
    }
  });
});
