// SPDX-License-Identifier: Apache-2.0
/**
 * The embedded SQLite store on its own thread. The HTTP thread keeps
 * decoding requests while the store thread commits the previous batch, and
 * slow queries do not stall the receiver. Semantics are those of the SQLite
 * store: `write()` resolves only after the commit.
 */
import { Worker } from 'node:worker_threads';
import { InvalidArgumentError, NotFoundError } from '../lib/errors.js';
import { StorageError } from './collector-errors.js';
import type { SqliteSpanStoreOptions } from './sqlite-span-store.js';
import type { SpanStore } from './span-store.js';

interface Reply {
  id: number;
  result?: unknown;
  error?: { message: string; code: string };
}

function toError(e: { message: string; code: string }): Error {
  if (e.code === 'MAXPRO_ERR_INVALID_ARGUMENT') return new InvalidArgumentError(e.message);
  if (e.code === 'MAXPRO_ERR_NOT_FOUND') return new NotFoundError(e.message);
  return new StorageError(e.message);
}

/** Opens the SQLite store in a worker thread; resolves once it is open. */
export async function createWorkerSpanStore(options: SqliteSpanStoreOptions): Promise<SpanStore> {
  const worker = new Worker(new URL('./span-store-worker.js', import.meta.url), { workerData: options });
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>();
  let nextId = 1;
  let failed: Error | undefined;
  let closed = false;
  const ready = new Promise<void>((resolve, reject) => pending.set(0, { resolve: () => resolve(), reject }));
  worker.on('message', (m: Reply) => {
    const p = pending.get(m.id);
    if (!p) return;
    pending.delete(m.id);
    if (m.error) p.reject(toError(m.error)); else p.resolve(m.result);
  });
  const fail = (err: Error): void => {
    failed ??= err;
    for (const p of pending.values()) p.reject(failed);
    pending.clear();
  };
  worker.on('error', (err) => fail(new StorageError(`span store thread failed: ${err.message}`, { cause: err })));
  worker.on('exit', (code) => fail(new StorageError(closed ? 'span store: used after close' : `span store thread exited with code ${code}`)));
  await ready;

  const call = <T>(method: keyof SpanStore, ...args: unknown[]): Promise<T> => {
    if (failed) return Promise.reject(failed);
    if (closed && method !== 'close') return Promise.reject(new StorageError('span store: used after close'));
    const id = nextId++;
    return new Promise<T>((resolve, reject) => {
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      worker.postMessage({ id, method, args });
    });
  };
  let closing: Promise<void> | undefined;
  return {
    write: (batch) => call('write', batch),
    getTrace: (traceId) => call('getTrace', traceId),
    searchSpans: (q) => call('searchSpans', q),
    exportSpans: (after, limit) => call('exportSpans', after, limit),
    listServices: () => call('listServices'),
    listOperations: (service) => call('listOperations', service),
    redMetrics: (q) => call('redMetrics', q),
    dependencies: (start, end) => call('dependencies', start, end),
    listRecords: (signal, q) => call('listRecords', signal, q),
    applyRetention: () => call('applyRetention'),
    stats: () => call('stats'),
    close: () => {
      closing ??= (async () => {
        const done = call<void>('close').catch(() => undefined);
        closed = true;
        await done;
        await worker.terminate();
      })();
      return closing;
    },
  };
}
