// SPDX-License-Identifier: Apache-2.0
// The bounded export queue: exact drop counts by reason, batching, timers, once-only shutdown.
import { describe, test, mock } from 'node:test';
import assert from 'node:assert/strict';
import { createExportQueue } from '../../../src/exporters/export-queue.js';
import type { BatchResult } from '../../../src/exporters/export-queue.js';
import { createTokenBucket } from '../../../src/lib/token-bucket.js';

function gate(): { promise: Promise<void>; open(): void } {
  let open!: () => void;
  const promise = new Promise<void>((r) => { open = r; });
  return { promise, open };
}

describe('export queue', () => {
  test('overflow drops are counted exactly; everything accepted is exported', async () => {
    const g = gate();
    const got: number[] = [];
    const q = createExportQueue<number>({
      maxQueueSize: 10, maxBatchSize: 5, flushIntervalMs: 60_000,
      exportBatch: async (items) => { await g.promise; got.push(...items); return { status: 'success' }; },
    });
    let accepted = 0;
    for (let i = 0; i < 100; i++) if (q.add(i)) accepted++;
    // The first full batch left for the (blocked) exporter, so 15 fit: 5 in flight + 10 queued.
    assert.equal(accepted, 15);
    assert.equal(q.stats().dropped.queue_full, 85);
    g.open();
    await q.forceFlush();
    assert.equal(got.length, accepted);
    assert.equal(q.stats().exported, accepted);
    assert.equal(q.stats().accepted + q.stats().dropped.queue_full, 100);
  });

  test('failed batches are counted as export_failed', async () => {
    let n = 0;
    const q = createExportQueue<number>({ maxBatchSize: 3, flushIntervalMs: 60_000, exportBatch: async (): Promise<BatchResult> => (n++ === 0 ? { status: 'failure', error: new Error('x') } : { status: 'success' }) });
    for (let i = 0; i < 6; i++) q.add(i);
    await q.forceFlush();
    assert.deepEqual(q.stats().dropped, { queue_full: 0, export_failed: 3, shutdown: 0 });
    assert.equal(q.stats().exported, 3);
  });

  test('the flush timer sends a partial batch', async () => {
    mock.timers.enable({ apis: ['setTimeout'] });
    try {
      const sent: number[][] = [];
      const q = createExportQueue<number>({ maxBatchSize: 100, flushIntervalMs: 1000, exportBatch: async (b) => { sent.push(b); return { status: 'success' }; } });
      q.add(1);
      q.add(2);
      mock.timers.tick(999);
      await Promise.resolve();
      assert.equal(sent.length, 0);
      mock.timers.tick(1);
      await new Promise((r) => setImmediate(r));
      assert.deepEqual(sent, [[1, 2]]);
    } finally {
      mock.timers.reset();
    }
  });

  test('shutdown drains within the deadline and counts what is left; runs once', async () => {
    const q = createExportQueue<number>({ maxBatchSize: 2, flushIntervalMs: 60_000, exportBatch: () => new Promise<BatchResult>(() => undefined) });
    for (let i = 0; i < 5; i++) q.add(i);
    const t0 = Date.now();
    const p1 = q.shutdown(200);
    const p2 = q.shutdown(10_000);
    assert.equal(p1, p2);
    await p1;
    assert.ok(Date.now() - t0 < 2000);
    // 2 in flight when the first batch left, 3 queued: all 5 counted, none exported.
    assert.equal(q.stats().dropped.shutdown, 5);
    assert.equal(q.stats().exported, 0);
    assert.equal(q.add(9), false);
    assert.equal(q.stats().dropped.shutdown, 6);
  });
});

describe('token bucket', () => {
  test('refills continuously up to the burst; bounded keys', () => {
    let now = 0;
    const b = createTokenBucket({ ratePerSecond: 10, burst: 5, maxKeys: 2, now: () => now });
    let ok = 0;
    for (let i = 0; i < 20; i++) if (b.take('a')) ok++;
    assert.equal(ok, 5);
    now = 300; // 3 tokens
    ok = 0;
    for (let i = 0; i < 20; i++) if (b.take('a')) ok++;
    assert.equal(ok, 3);
    now = 100_000;
    ok = 0;
    for (let i = 0; i < 20; i++) if (b.take('a')) ok++;
    assert.equal(ok, 5, 'never more than the burst');
    b.take('b');
    b.take('c');
    assert.equal(b.stats().keys, 2);
    assert.equal(b.stats().evictedKeys, 1);
  });
  test('rejects nonsense rates', () => {
    assert.throws(() => createTokenBucket({ ratePerSecond: 0 }), /must be > 0/);
    assert.throws(() => createTokenBucket({ ratePerSecond: 1, burst: 0.5 }), /burst/);
  });
});
