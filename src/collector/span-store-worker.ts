// SPDX-License-Identifier: Apache-2.0
/**
 * Worker-thread side of {@link createWorkerSpanStore}: owns the SQLite store
 * and runs each call it receives, in order.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { MaxproError } from '../lib/errors.js';
import { createSqliteSpanStore, type SqliteSpanStoreOptions } from './sqlite-span-store.js';
import type { SpanStore } from './span-store.js';

interface Call {
  id: number;
  method: keyof SpanStore;
  args: unknown[];
}

const port = parentPort!;
let store: SpanStore;
try {
  store = createSqliteSpanStore(workerData as SqliteSpanStoreOptions);
  port.postMessage({ id: 0, result: 'ready' });
} catch (err) {
  port.postMessage({ id: 0, error: { message: (err as Error).message, code: err instanceof MaxproError ? err.code : 'MAXPRO_ERR_COLLECTOR_STORAGE' } });
  process.exit(0);
}

port.on('message', (call: Call) => {
  void (async () => {
    try {
      const fn = store[call.method] as (...a: unknown[]) => Promise<unknown>;
      const result = await fn.apply(store, call.args);
      port.postMessage({ id: call.id, result });
      if (call.method === 'close') port.close();
    } catch (err) {
      port.postMessage({ id: call.id, error: { message: (err as Error).message, code: err instanceof MaxproError ? err.code : 'MAXPRO_ERR_COLLECTOR_STORAGE' } });
    }
  })();
});
