// SPDX-License-Identifier: Apache-2.0
/**
 * Group commit: every batch that arrives while the previous store write runs
 * is written in the next single transaction, then all of its callers are
 * answered. A caller's promise resolves only after its rows are committed.
 */
import type { SpanRow, RecordRow } from './span-model.js';
import type { SpanStore, StoreBatch } from './span-store.js';

/** The commit queue in front of a store. */
export interface GroupCommit {
  /** Queues `batch` (`records` rows) and resolves once it is committed. */
  commit(batch: StoreBatch, records: number): Promise<void>;
  /** Gauge: rows queued and not yet committed. */
  queued(): number;
  /** Resolves once everything queued so far is written. */
  flush(): Promise<void>;
}

interface Pending {
  batch: StoreBatch;
  records: number;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** Creates the commit queue of `store`. */
export function createGroupCommit(store: SpanStore): GroupCommit {
  const queue: Pending[] = [];
  let queued = 0;
  let flushing = false;

  const flush = async (): Promise<void> => {
    if (flushing) return;
    flushing = true;
    try {
      while (queue.length > 0) {
        const items = queue.splice(0, queue.length);
        const batch = items.length === 1 ? items[0]!.batch : merge(items);
        try {
          await store.write(batch);
          for (const p of items) p.resolve();
        } catch (err) {
          for (const p of items) p.reject(err);
        } finally {
          for (const p of items) queued -= p.records;
        }
        // Let the event loop read more requests between commits.
        await new Promise<void>((r) => setImmediate(r));
      }
    } finally {
      flushing = false;
    }
  };

  return {
    commit: (batch, records) => new Promise((resolve, reject) => {
      queued += records;
      queue.push({ batch, records, resolve, reject });
      if (!flushing) setImmediate(() => void flush());
    }),
    queued: () => queued,
    flush,
  };
}

function merge(items: Pending[]): StoreBatch {
  // A loop, not push(...rows): a large request would overflow the argument limit.
  const spans: SpanRow[] = [];
  const logs: RecordRow[] = [];
  const metrics: RecordRow[] = [];
  for (const p of items) {
    for (const r of p.batch.spans) spans.push(r);
    for (const r of p.batch.logs) logs.push(r);
    for (const r of p.batch.metrics) metrics.push(r);
  }
  return { spans, logs, metrics };
}
