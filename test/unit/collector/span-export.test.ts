// SPDX-License-Identifier: Apache-2.0
// Following the span store in arrival order (`/api/spans/export`), as `maxpro record` does,
// on a real SQLite store, directly, through its worker thread and through the query API.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSqliteSpanStore } from '../../../src/collector/sqlite-span-store.js';
import { createWorkerSpanStore } from '../../../src/collector/worker-span-store.js';
import { normalizeSpans } from '../../../src/collector/span-model.js';
import { handleQuery } from '../../../src/collector/query-api.js';
import { messageFromObject } from '../../../src/lib/otlp/otlp-codec.js';
import type { PbMessage } from '../../../src/lib/otlp/otlp-values.js';
import type { SpanStore } from '../../../src/collector/span-store.js';
import { InvalidArgumentError } from '../../../src/lib/errors.js';

const T0 = 1_700_000_000_000_000_000n;
const hex = (n: number, len: number): string => n.toString(16).padStart(len, '0');

/** Writes spans 1..n of trace `trace`, newest start first, so arrival order differs from time order. */
async function write(store: SpanStore, trace: number, from: number, n: number): Promise<void> {
  const spans = Array.from({ length: n }, (_, i) => {
    const id = from + i;
    return { traceId: hex(trace, 32), spanId: hex(id, 16), name: `op${id}`, kind: 1, startTimeUnixNano: (T0 - BigInt(id) * 1000n).toString(), endTimeUnixNano: (T0 + 5n).toString() };
  });
  const r = normalizeSpans(messageFromObject('traces', { resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'svc' } }] }, scopeSpans: [{ spans }] }] }) as unknown as PbMessage);
  assert.equal(r.rejected, 0, r.firstError);
  await store.write({ spans: r.rows, logs: [], metrics: [] });
}

const stores: [string, (dir: string) => Promise<SpanStore>][] = [
  ['sqlite store', async (dir) => createSqliteSpanStore({ dataDir: dir })],
  ['worker store', (dir) => createWorkerSpanStore({ dataDir: dir })],
];

for (const [name, open] of stores) {
  test(`${name}: export pages through spans in arrival order, limit 0 gives the newest cursor`, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'maxpro-export-'));
    const store = await open(dir);
    t.after(async () => { await store.close(); rmSync(dir, { recursive: true, force: true }); });
    assert.deepEqual(await store.exportSpans('0', 0), { spans: [], next: '0' });
    await write(store, 1, 1, 5);
    const start = (await store.exportSpans('0', 0)).next;
    await write(store, 2, 6, 7);
    const seen: string[] = [];
    let cursor = start;
    for (;;) {
      const page = await store.exportSpans(cursor, 3);
      seen.push(...page.spans.map((s) => s.spanId));
      if (page.spans.length === 0) { assert.equal(page.next, cursor); break; }
      cursor = page.next;
    }
    assert.deepEqual(seen, Array.from({ length: 7 }, (_, i) => hex(6 + i, 16)), 'only the spans after the cursor, in arrival order, each once');
    const all = await store.exportSpans('0', 100);
    assert.equal(all.spans.length, 12);
    assert.equal(all.spans[0]!.service, 'svc');
    for (const [after, limit] of [['x', 1], ['-1', 1], ['0', 10001], ['0', 1.5]] as const) {
      await assert.rejects(store.exportSpans(after, limit), InvalidArgumentError, `${after} ${limit}`);
    }
  });
}

test('query API: /api/spans/export answers pages and refuses a bad cursor with 400', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'maxpro-export-'));
  const store = createSqliteSpanStore({ dataDir: dir });
  t.after(async () => { await store.close(); rmSync(dir, { recursive: true, force: true }); });
  await write(store, 1, 1, 4);
  const stats = () => ({ accepted: {}, rejected: {}, queuedSpans: 0, inflightRequests: 0 });
  const page = JSON.parse((await handleQuery(store, '/api/spans/export?after=1&limit=2', stats)).body) as { spans: { spanId: string }[]; next: string };
  assert.deepEqual(page.spans.map((s) => s.spanId), [hex(2, 16), hex(3, 16)]);
  assert.equal(page.next, '3');
  const bad = await handleQuery(store, '/api/spans/export?after=abc', stats);
  assert.equal(bad.status, 400);
  assert.match(bad.body, /export cursor 'abc'/);
  assert.equal((await handleQuery(store, '/api/spans/export?limit=many', stats)).status, 400);
});
