// SPDX-License-Identifier: Apache-2.0
// The SQLite span store, on a real database in a temporary directory:
// search filters and paging, RED metrics, the dependency graph, services,
// and retention by age and size.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSqliteSpanStore, type SqliteSpanStoreOptions } from '../../../src/collector/sqlite-span-store.js';
import { createWorkerSpanStore } from '../../../src/collector/worker-span-store.js';
import { normalizeSpans } from '../../../src/collector/span-model.js';
import { messageFromObject } from '../../../src/lib/otlp/otlp-codec.js';
import type { PbMessage } from '../../../src/lib/otlp/otlp-values.js';
import type { SpanStore } from '../../../src/collector/span-store.js';
import { buildTraceTree } from '../../../src/collector/trace-tree.js';
import { InvalidArgumentError } from '../../../src/lib/errors.js';
import { StorageError } from '../../../src/collector/collector-errors.js';

const T0 = 1_700_000_000_000_000_000n;
const MS = 1_000_000n;

function mustStore(t: TestContext, options: Partial<SqliteSpanStoreOptions> = {}): SpanStore {
  const dir = mkdtempSync(join(tmpdir(), 'maxpro-store-'));
  const store = createSqliteSpanStore({ dataDir: dir, ...options });
  t.after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return store;
}

interface SpanSpec {
  trace: number;
  span: number;
  parent?: number;
  service: string;
  name: string;
  startMs: number;
  durMs: number;
  error?: boolean;
  attrs?: Record<string, string | number | boolean>;
}

const hex = (n: number, len: number): string => n.toString(16).padStart(len, '0');

function request(specs: SpanSpec[]): Record<string, unknown> {
  const byService = new Map<string, SpanSpec[]>();
  for (const s of specs) byService.set(s.service, [...(byService.get(s.service) ?? []), s]);
  return {
    resourceSpans: [...byService.entries()].map(([service, spans]) => ({
      resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
      scopeSpans: [{ scope: { name: 'test' }, spans: spans.map((s) => ({
        traceId: hex(s.trace, 32), spanId: hex(s.span, 16), ...(s.parent ? { parentSpanId: hex(s.parent, 16) } : {}),
        name: s.name, kind: 2,
        startTimeUnixNano: (T0 + BigInt(s.startMs) * MS).toString(), endTimeUnixNano: (T0 + BigInt(s.startMs + s.durMs) * MS).toString(),
        attributes: Object.entries(s.attrs ?? {}).map(([key, v]) => ({ key, value: typeof v === 'string' ? { stringValue: v } : typeof v === 'boolean' ? { boolValue: v } : Number.isInteger(v) ? { intValue: String(v) } : { doubleValue: v } })),
        status: s.error ? { code: 2, message: 'failed' } : {},
      })) }],
    })),
  };
}

async function write(store: SpanStore, specs: SpanSpec[]): Promise<void> {
  const r = normalizeSpans(messageFromObject('traces', request(specs)) as unknown as PbMessage);
  assert.equal(r.rejected, 0, r.firstError);
  await store.write({ spans: r.rows, logs: [], metrics: [] });
}

// Two traces: frontend -> checkout -> db, and frontend -> checkout (error).
const FIXTURE: SpanSpec[] = [
  { trace: 1, span: 1, service: 'frontend', name: 'GET /cart', startMs: 0, durMs: 100, attrs: { 'http.route': '/cart', 'http.status_code': 200, cached: false } },
  { trace: 1, span: 2, parent: 1, service: 'checkout', name: 'load', startMs: 10, durMs: 50 },
  { trace: 1, span: 3, parent: 2, service: 'db', name: 'SELECT', startMs: 20, durMs: 20, attrs: { 'db.system': 'postgresql' } },
  { trace: 2, span: 4, service: 'frontend', name: 'GET /cart', startMs: 1000, durMs: 300, attrs: { 'http.route': '/cart', 'http.status_code': 500, cached: true } },
  { trace: 2, span: 5, parent: 4, service: 'checkout', name: 'load', startMs: 1010, durMs: 250, error: true },
  { trace: 2, span: 6, parent: 4, service: 'frontend', name: 'render', startMs: 1270, durMs: 20 },
];

test('getTrace returns every span; the tree nests them; bad ids are an argument error', async (t) => {
  const store = mustStore(t);
  await write(store, FIXTURE);
  const spans = await store.getTrace(hex(1, 32));
  assert.deepEqual(spans.map((s) => s.name), ['GET /cart', 'load', 'SELECT']);
  const tree = buildTraceTree(hex(1, 32), spans);
  assert.equal(tree.roots.length, 1);
  assert.equal(tree.roots[0]!.children[0]!.children[0]!.name, 'SELECT');
  assert.equal(tree.durationNs, 100_000_000);
  assert.deepEqual(await store.getTrace(hex(99, 32)), []);
  await assert.rejects(store.getTrace('xyz'), InvalidArgumentError);
  // A retried request does not duplicate spans.
  await write(store, FIXTURE);
  assert.equal((await store.getTrace(hex(1, 32))).length, 3);
});

test('search: every filter narrows, results are newest first', async (t) => {
  const store = mustStore(t);
  await write(store, FIXTURE);
  const names = async (q: Parameters<SpanStore['searchSpans']>[0]): Promise<string[]> => (await store.searchSpans(q)).spans.map((s) => s.spanId.slice(-1));
  assert.deepEqual(await names({}), ['6', '5', '4', '3', '2', '1']);
  assert.deepEqual(await names({ service: 'frontend' }), ['6', '4', '1']);
  assert.deepEqual(await names({ service: 'frontend', operation: 'GET /cart' }), ['4', '1']);
  assert.deepEqual(await names({ startNs: T0 + 500n * MS }), ['6', '5', '4']);
  assert.deepEqual(await names({ endNs: T0 + 15n * MS }), ['2', '1']);
  assert.deepEqual(await names({ minDurationNs: 100n * MS }), ['5', '4', '1']);
  assert.deepEqual(await names({ maxDurationNs: 20n * MS }), ['6', '3']);
  assert.deepEqual(await names({ statusCode: 2 }), ['5']);
  assert.deepEqual(await names({ attributes: { 'http.route': '/cart' } }), ['4', '1']);
  assert.deepEqual(await names({ attributes: { 'http.status_code': '500' } }), ['4']);
  assert.deepEqual(await names({ attributes: { cached: 'true' } }), ['4']);
  assert.deepEqual(await names({ attributes: { 'http.route': '/cart', cached: 'false' } }), ['1']);
  assert.deepEqual(await names({ attributes: { 'db.system': 'mysql' } }), []);
});

test('search paging: pages join to the full result without repeats, even with a bounded scan', async (t) => {
  const store = mustStore(t, { maxSearchScan: 3 });
  const many: SpanSpec[] = Array.from({ length: 25 }, (_, i) => ({ trace: 10 + i, span: 100 + i, service: 'svc', name: i % 2 ? 'odd' : 'even', startMs: i, durMs: 1 }));
  await write(store, many);
  const seen: string[] = [];
  let token: string | undefined;
  let pages = 0;
  do {
    const page = await store.searchSpans({ operation: 'odd', limit: 4, ...(token ? { pageToken: token } : {}) });
    assert.ok(page.spans.length <= 4);
    seen.push(...page.spans.map((s) => s.spanId));
    token = page.nextPageToken;
    pages++;
  } while (token && pages < 100);
  const expected = many.filter((s) => s.name === 'odd').map((s) => hex(s.span, 16)).reverse();
  assert.deepEqual(seen, expected);
  await assert.rejects(store.searchSpans({ pageToken: 'garbage' }), InvalidArgumentError);
});

test('RED metrics: rate, error ratio and duration percentiles per operation and bucket', async (t) => {
  const store = mustStore(t);
  const specs: SpanSpec[] = Array.from({ length: 100 }, (_, i) => ({
    trace: 1000 + i, span: 1000 + i, service: 'api', name: i < 50 ? 'a' : 'b', startMs: i * 100, durMs: i + 1, error: i % 10 === 0,
  }));
  await write(store, specs);
  const red = await store.redMetrics({ service: 'api', startNs: T0, endNs: T0 + 10_000n * MS, stepNs: 5_000n * MS });
  const all = red.series.find((s) => s.operation === '*')!;
  assert.equal(all.total.count, 100);
  assert.equal(all.total.rate, 10);
  assert.equal(all.total.errorRatio, 0.1);
  assert.equal(all.total.p50Ms, 50);
  assert.equal(all.total.p90Ms, 90);
  assert.equal(all.total.p99Ms, 99);
  assert.equal(all.buckets.length, 2);
  assert.deepEqual(all.buckets.map((b) => b.count), [50, 50]);
  assert.deepEqual(all.buckets.map((b) => b.p99Ms), [50, 100]);
  const a = red.series.find((s) => s.operation === 'a')!;
  assert.equal(a.total.count, 50);
  assert.equal(a.total.errorRatio, 0.1);
  assert.deepEqual(red.series.map((s) => s.operation), ['*', 'a', 'b']);
  const onlyB = await store.redMetrics({ service: 'api', operation: 'b', startNs: T0, endNs: T0 + 10_000n * MS, stepNs: 10_000n * MS });
  assert.equal(onlyB.series.find((s) => s.operation === '*')!.total.p50Ms, 75);
  await assert.rejects(store.redMetrics({ service: 'api', startNs: T0, endNs: T0, stepNs: MS }), InvalidArgumentError);
});

test('dependencies, services and operations', async (t) => {
  const store = mustStore(t);
  await write(store, FIXTURE);
  const edges = await store.dependencies(T0, T0 + 10_000n * MS);
  assert.deepEqual(edges, [
    { parent: 'checkout', child: 'db', callCount: 1, errorCount: 0 },
    { parent: 'frontend', child: 'checkout', callCount: 2, errorCount: 1 },
  ]);
  assert.deepEqual(await store.listServices(), ['checkout', 'db', 'frontend']);
  assert.deepEqual((await store.listOperations('frontend')).map((o) => o.name), ['GET /cart', 'render']);
});

test('retention by ingest age and by size; data older than the window goes, newer stays', async (t) => {
  const byAge = mustStore(t, { maxAgeMs: 150 });
  await write(byAge, FIXTURE.slice(0, 3));
  await new Promise((r) => setTimeout(r, 300));
  await write(byAge, FIXTURE.slice(3));
  const r = await byAge.applyRetention();
  assert.equal(r.deletedSpans, 3);
  assert.equal((await byAge.getTrace(hex(1, 32))).length, 0);
  assert.equal((await byAge.getTrace(hex(2, 32))).length, 3);

  const bySize = mustStore(t, { maxBytes: 2 * 1024 * 1024, maxAgeMs: 0 });
  const big = 'x'.repeat(1000);
  for (let b = 0; b < 10; b++) {
    await write(bySize, Array.from({ length: 1000 }, (_, i) => ({ trace: 5000 + b * 1000 + i, span: 5000 + b * 1000 + i, service: 's', name: 'n', startMs: b, durMs: 1, attrs: { pad: big } })));
  }
  const before = await bySize.stats();
  assert.ok(before.spans === 10_000);
  const rs = await bySize.applyRetention();
  assert.ok(rs.deletedSpans > 0);
  const after = await bySize.stats();
  assert.ok(after.spans < 10_000 && after.spans > 0, `${after.spans} spans left`);
  // The newest batch survived, the oldest did not.
  assert.equal((await bySize.getTrace(hex(5000 + 9 * 1000 + 999, 32))).length, 1);
  assert.equal((await bySize.getTrace(hex(5000, 32))).length, 0);
});

test('worker store: same answers through the thread, errors keep their codes, close is final', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'maxpro-store-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const store = await createWorkerSpanStore({ dataDir: dir });
  await write(store, FIXTURE);
  assert.equal((await store.getTrace(hex(2, 32))).length, 3);
  await assert.rejects(store.getTrace('nope'), (e: unknown) => e instanceof InvalidArgumentError && /32 hex digits/.test(e.message));
  await store.close();
  await assert.rejects(store.listServices(), StorageError);
  // Reopened, the data is there.
  const again = await createWorkerSpanStore({ dataDir: dir });
  assert.deepEqual(await again.listServices(), ['checkout', 'db', 'frontend']);
  await again.close();
});

test('query API: RED, dependencies, search params, and 400s that say what was wrong', async (t) => {
  const { handleQuery, parseDurationNs, parseTimeNs } = await import('../../../src/collector/query-api.js');
  const store = mustStore(t);
  await write(store, FIXTURE);
  const stats = (): { accepted: Record<string, number>; rejected: Record<string, number>; queuedSpans: number; inflightRequests: number } =>
    ({ accepted: { traces: 6 }, rejected: { malformed: 2 }, queuedSpans: 0, inflightRequests: 1 });
  const get = async (path: string): Promise<{ status: number; body: Record<string, unknown> }> => {
    const r = await handleQuery(store, path, stats);
    return { status: r.status, body: r.contentType.startsWith('application/json') ? JSON.parse(r.body) as Record<string, unknown> : { text: r.body } };
  };
  const red = await get(`/api/red?service=frontend&start=${T0}&end=${T0 + 2000n * MS}&step=1s`);
  assert.equal(red.status, 200);
  const series = red.body.series as { operation: string; total: { count: number; p99Ms: number }; buckets: unknown[] }[];
  assert.deepEqual(series.map((s) => [s.operation, s.total.count]), [['*', 3], ['GET /cart', 2], ['render', 1]]);
  assert.equal(series[0]!.buckets.length, 2);
  assert.equal(series[1]!.total.p99Ms, 300);
  const deps = await get(`/api/dependencies?start=${T0}&end=${T0 + 5000n * MS}`);
  assert.equal((deps.body.edges as unknown[]).length, 2);
  const found = await get(`/api/spans?service=frontend&minDuration=150ms&attr=${encodeURIComponent('http.route=/cart')}&start=${T0}`);
  assert.deepEqual((found.body.spans as { spanId: string }[]).map((s) => s.spanId), [hex(4, 16)]);
  const trace = await get(`/api/traces/${hex(1, 32).toUpperCase()}`);
  assert.equal(trace.status, 200);
  assert.equal((trace.body.roots as unknown[]).length, 1);
  assert.equal((await get(`/api/traces/${hex(77, 32)}`)).status, 404);
  const bad = await get('/api/spans?minDuration=fast');
  assert.equal(bad.status, 400);
  assert.match((bad.body.error as { message: string }).message, /minDuration 'fast' is not a duration/);
  assert.equal((await get('/api/spans?status=broken')).status, 400);
  assert.equal((await get('/api/red')).status, 400);
  assert.equal((await get('/api/nothing')).status, 404);
  const prom = await get('/metrics');
  assert.match(String(prom.body.text), /maxpro_collector_rejected_total\{reason="malformed"\} 2/);
  assert.equal(parseDurationNs('1.5s'), 1_500_000_000n);
  assert.equal(parseDurationNs('250ms'), 250_000_000n);
  assert.equal(parseTimeNs('15m', 'start', 1_000_000), 1_000_000n * 1_000_000n - 900_000_000_000n);
  assert.equal(parseTimeNs('2023-11-14T22:13:20Z'), 1_700_000_000_000_000_000n);
});
