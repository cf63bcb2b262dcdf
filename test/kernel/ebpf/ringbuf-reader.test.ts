// SPDX-License-Identifier: Apache-2.0
// The ring-buffer path: every event delivered exactly once in order, exact
// loss accounting with a tiny ring and a paused reader, and the reader's
// close/flush contract.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  openObjectFile, bpfObjectPath, createRingBufferReader, forEachRecord, readDropCounts, ClosedError, InvalidArgumentError,
} from '../../../src/ebpf/index.js';
import type { BpfObject } from '../../../src/ebpf/index.js';
import { decodeRingbufBenchEvent } from '../../../src/probes/ringbuf-bench/ringbuf-bench-event.js';
import type { RingbufBenchEvent } from '../../../src/probes/ringbuf-bench/ringbuf-bench-event.js';
import { kernelSkip, sleep } from '../../helpers/kernel.js';

const skip = kernelSkip();
const NR_GETPPID = 110;

let producedOffset = 0;

function load(ringBytes: number, wakeupBytes = 0): BpfObject {
  const spec = openObjectFile(bpfObjectPath('ringbuf_bench'));
  producedOffset = spec.variables['.bss']?.find((v) => v.name === 'produced')?.offset ?? -1;
  assert.ok(producedOffset >= 0, 'produced is in .bss');
  spec.setConstant('targ_tgid', process.pid).setConstant('targ_syscall', NR_GETPPID).setConstant('maxpro_wakeup_bytes', wakeupBytes);
  spec.setMaxEntries('events', ringBytes);
  return spec.load();
}

/** The `produced` counter from the object's .bss. */
function produced(obj: BpfObject): bigint {
  const bss = [...obj.maps.values()].find((m) => m.name.endsWith('.bss'));
  assert.ok(bss, 'bss map present');
  const v = bss.lookup(new Uint8Array(4));
  assert.ok(v);
  return new DataView(v.buffer, v.byteOffset).getBigUint64(producedOffset, true);
}

describe('ring buffer reader', { skip }, () => {
  test('delivers every event exactly once, in order, with decoded fields', async () => {
    const obj = load(1 << 22);
    try {
      obj.program('ringbuf_bench__sys_enter').attachTrace();
      const seqs: number[] = [];
      const ev = {} as RingbufBenchEvent;
      let badPid = 0;
      const reader = createRingBufferReader({
        map: obj.map('events'), intervalMs: 5,
        onBatch: (b) => forEachRecord(b, (view, off) => {
          decodeRingbufBenchEvent(view, off, b.bytes, ev);
          if (ev.pid !== process.pid || ev.tid !== process.pid || ev.syscallNr !== NR_GETPPID || ev.comm.length === 0) badPid++;
          seqs.push(ev.seq);
        }),
      });
      const N = 50_000;
      for (let i = 0; i < N; i++) void process.ppid;
      await reader.close();
      assert.equal(seqs.length, N);
      assert.equal(badPid, 0);
      for (let i = 0; i < N; i++) assert.equal(seqs[i], i);
      const s = reader.stats();
      assert.equal(s.records, N);
      assert.equal(s.queueDrops, 0);
      assert.equal(readDropCounts(obj).ringbuf_full, 0n);
    } finally {
      obj.close();
    }
  });

  test('exact loss accounting: tiny ring, paused reader: delivered + drops = produced', async () => {
    const obj = load(4096); // one page: holds 56 records of 64+8 bytes
    try {
      obj.program('ringbuf_bench__sys_enter').attachTrace();
      const N = 1000;
      for (let i = 0; i < N; i++) void process.ppid; // reader not started: the ring overflows
      let delivered = 0;
      const reader = createRingBufferReader({ map: obj.map('events'), onBatch: (b) => { delivered += b.count; } });
      await reader.close();
      const drops = readDropCounts(obj).ringbuf_full;
      assert.equal(produced(obj), BigInt(N));
      assert.ok(delivered > 0 && delivered < N, `delivered ${delivered}`);
      assert.equal(BigInt(delivered) + drops, BigInt(N), `delivered ${delivered} + dropped ${drops} = produced ${N}`);
    } finally {
      obj.close();
    }
  });

  test('a forced wakeup above the fill threshold drains before the interval', async () => {
    const obj = load(1 << 16, 1 << 12);
    try {
      obj.program('ringbuf_bench__sys_enter').attachTrace();
      let delivered = 0;
      const reader = createRingBufferReader({ map: obj.map('events'), intervalMs: 60_000, onBatch: (b) => { delivered += b.count; } });
      for (let i = 0; i < 200; i++) void process.ppid; // 200 * 72 bytes > 4 KiB threshold
      await sleep(200);
      assert.ok(delivered >= 56, `woken and drained early: ${delivered}`);
      await reader.close();
      assert.equal(delivered, 200);
    } finally {
      obj.close();
    }
  });

  test('flush drains now; errors in onBatch are counted, not fatal; close is idempotent', async () => {
    const obj = load(1 << 16);
    try {
      obj.program('ringbuf_bench__sys_enter').attachTrace();
      let calls = 0;
      let errors = 0;
      const reader = createRingBufferReader({
        map: obj.map('events'), intervalMs: 60_000,
        onBatch: () => { calls++; if (calls === 1) throw new Error('decoder bug'); },
        onError: () => { errors++; },
      });
      void process.ppid;
      reader.flush();
      await sleep(100);
      assert.equal(calls, 1, 'flushed without waiting for the 60 s interval');
      void process.ppid;
      const p1 = reader.close();
      const p2 = reader.close();
      assert.equal(p1, p2);
      await p1;
      assert.equal(reader.closed, true);
      assert.throws(() => reader.flush(), ClosedError);
      assert.equal(reader.stats().callbackErrors, 1);
      assert.equal(errors, 1);
      assert.equal(reader.stats().records, 2);
    } finally {
      obj.close();
    }
  });

  test('rejects a non-ringbuf map and bad options before touching the kernel', () => {
    const obj = load(1 << 16);
    try {
      assert.throws(() => createRingBufferReader({ map: obj.map('drops'), onBatch: () => undefined }), InvalidArgumentError);
      assert.throws(() => createRingBufferReader({ map: obj.map('events'), onBatch: () => undefined, intervalMs: 0 }), InvalidArgumentError);
      assert.throws(() => createRingBufferReader({ map: obj.map('events'), onBatch: () => undefined, batches: 1 }), InvalidArgumentError);
    } finally {
      obj.close();
    }
  });
});
