// SPDX-License-Identifier: Apache-2.0
// Loading, filtering and playing a capture, its spans back as OTLP/JSON, and --diff's verdicts,
// on captures written by the real writer.
import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCaptureWriter } from '../../../src/capture/capture-writer.js';
import { loadCapture, type CaptureFilter } from '../../../src/capture/capture-contents.js';
import { playCapture } from '../../../src/capture/capture-playback.js';
import { spansToOtlpJson } from '../../../src/capture/spans-otlp.js';
import { diffCaptures } from '../../../src/capture/capture-diff.js';
import type { LiveStreamEvent } from '../../../src/agent/http/live-stream-client.js';
import type { StoredSpan } from '../../../src/collector/span-store.js';

const T0 = 1_700_000_000_000n * 1_000_000n;
const MS = 1_000_000n;

function span(i: number, o: { service?: string; name?: string; atMs: number; durMs: number; error?: boolean; pod?: string }): StoredSpan {
  const start = T0 + BigInt(o.atMs) * MS;
  return {
    traceId: (i + 1).toString(16).padStart(32, '0'), spanId: (i + 1).toString(16).padStart(16, '0'), name: o.name ?? 'GET /', kind: 2,
    startTimeUnixNano: start.toString(), endTimeUnixNano: (start + BigInt(Math.round(o.durMs * 1e6))).toString(), durationNs: Math.round(o.durMs * 1e6),
    service: o.service ?? 'web', attributes: [{ key: 'i', value: { intValue: String(i) } }], events: [], links: [],
    status: o.error ? { code: 2, message: 'boom' } : { code: 0 },
    resource: { attributes: [{ key: 'service.name', value: { stringValue: o.service ?? 'web' } }, ...(o.pod ? [{ key: 'k8s.pod.name', value: { stringValue: o.pod } }] : [])], schemaUrl: 'https://opentelemetry.io/schemas/1.24.0' },
    scope: { name: 'lib', version: '1' },
  };
}

function event(i: number, atMs: number, pod = ''): LiveStreamEvent {
  return { time: new Date(Number((T0 + BigInt(atMs) * MS) / MS)).toISOString(), probe: 'process', name: 'process.exec', pid: 100 + i, tgid: 100 + i, comm: 'sh', cgroupId: 1, fields: {}, attributes: {}, labels: {}, workload: { pod, container: '', namespace: '', cgroupPath: '' } };
}

function writeCapture(t: TestContext, name: string, spans: StoredSpan[], events: LiveStreamEvent[] = [], blockBytes = 16384): string {
  const dir = mkdtempSync(join(tmpdir(), 'maxpro-replay-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, `${name}.mxcap`);
  const w = createCaptureWriter({ path, maxBlockBytes: blockBytes });
  w.append('meta', { format: 1, startedNs: T0.toString() }, T0);
  for (const e of events) w.append('events', e, BigInt(Date.parse(e.time)) * MS);
  for (const s of spans) w.append('spans', s, BigInt(s.startTimeUnixNano));
  w.close();
  return path;
}

describe('capture replay', () => {
  const spans = Array.from({ length: 200 }, (_, i) => span(i, { atMs: i * 50, durMs: 5, service: i % 4 === 0 ? 'db' : 'web', pod: i % 2 ? 'web-1' : 'web-2' }));
  const events = Array.from({ length: 100 }, (_, i) => event(i, i * 100, i % 2 ? 'web-1' : ''));

  const filters: { name: string; filter: CaptureFilter; spans: number; events: number }[] = [
    { name: 'none', filter: {}, spans: 200, events: 100 },
    { name: 'service', filter: { service: 'db' }, spans: 50, events: 100 },
    { name: 'pod', filter: { pod: 'web-1' }, spans: 100, events: 50 },
    { name: 'since', filter: { sinceNs: T0 + 5000n * MS }, spans: 100, events: 50 },
    { name: 'window', filter: { sinceNs: T0 + 1000n * MS, untilNs: T0 + 2000n * MS }, spans: 20, events: 10 },
    { name: 'service and pod', filter: { service: 'db', pod: 'web-2' }, spans: 50, events: 0 },
  ];
  for (const f of filters) {
    test(`filter ${f.name}: keeps exactly the matching records, counts the rest`, (t) => {
      const c = loadCapture(writeCapture(t, 'f', spans, events), f.filter);
      assert.equal(c.spans.length, f.spans);
      assert.equal(c.events.length, f.events);
      assert.equal(c.filtered, 300 - f.spans - f.events);
      assert.deepEqual(c.problems, []);
      for (let i = 1; i < c.spans.length; i++) assert.ok(BigInt(c.spans[i - 1]!.startTimeUnixNano) <= BigInt(c.spans[i]!.startTimeUnixNano));
    });
  }

  test('the record limit loads at most that many and counts the rest', (t) => {
    const c = loadCapture(writeCapture(t, 'l', spans, events), {}, 120);
    assert.equal(c.spans.length + c.events.length, 120);
    assert.equal(c.overLimit, 180);
  });

  test('playback: time order across events and spans, at the chosen speed', async (t) => {
    const c = loadCapture(writeCapture(t, 'p', spans.slice(0, 20), events.slice(0, 10)));
    const seen: bigint[] = [];
    const kinds: string[] = [];
    const fast = await playCapture(c, { speed: Infinity, onEvent: (_e, ts) => { seen.push(ts); kinds.push('e'); }, onSpan: (_s, ts) => { seen.push(ts); kinds.push('s'); } });
    assert.deepEqual([fast.events, fast.spans, fast.interrupted], [10, 20, false]);
    for (let i = 1; i < seen.length; i++) assert.ok(seen[i - 1]! <= seen[i]!, 'non-decreasing capture time');
    assert.ok(kinds.includes('e') && kinds.includes('s'));
    // The capture spans ~955 ms; at 4x it takes about a quarter of that.
    const t0 = performance.now();
    await playCapture(c, { speed: 4, onEvent: () => undefined, onSpan: () => undefined });
    const took = performance.now() - t0;
    assert.ok(took >= 200 && took < 900, `4x playback of ~955 ms took ${took.toFixed(0)} ms`);
    const stop = new AbortController();
    setTimeout(() => stop.abort(), 50);
    const cut = await playCapture(c, { speed: 1, signal: stop.signal, onEvent: () => undefined, onSpan: () => undefined });
    assert.equal(cut.interrupted, true);
    assert.ok(cut.events + cut.spans < 30);
  });

  test('spans back to OTLP/JSON: grouped by resource and scope, schema URL on its own field', () => {
    const req = spansToOtlpJson([spans[0]!, spans[1]!, spans[4]!]) as { resourceSpans: { resource: Record<string, unknown>; schemaUrl?: string; scopeSpans: { scope: unknown; spans: { spanId: string; parentSpanId?: string }[] }[] }[] };
    assert.equal(req.resourceSpans.length, 2, 'db/web-2 and web/web-1 are different resources; spans 0 and 4 share db/web-2');
    for (const rs of req.resourceSpans) {
      assert.equal(rs.schemaUrl, 'https://opentelemetry.io/schemas/1.24.0');
      assert.equal(rs.resource.schemaUrl, undefined);
      assert.deepEqual(rs.scopeSpans[0]!.scope, { name: 'lib', version: '1' });
    }
    assert.deepEqual(req.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans.map((x) => x.spanId))).sort(), [spans[0]!, spans[1]!, spans[4]!].map((s) => s.spanId).sort());
  });

  // Each scenario: what AFTER changes relative to a steady BEFORE, and what --diff must say.
  const steady = (i: number, atMs: number): StoredSpan[] => [
    span(i * 3, { name: 'GET /', atMs, durMs: 20 + (i % 5) }),
    span(i * 3 + 1, { name: 'SELECT', service: 'db', atMs: atMs + 1, durMs: 5 + (i % 3) * 0.2 }),
    span(i * 3 + 2, { name: 'render', atMs: atMs + 10, durMs: 2, error: i % 50 === 0 }),
  ];
  const diffs: { name: string; after: (i: number, atMs: number) => StoredSpan[]; check: (d: ReturnType<typeof diffCaptures>) => void }[] = [
    { name: 'nothing changed', after: steady, check: (d) => { assert.deepEqual(d.changed, []); assert.equal(d.unchanged, 3); } },
    {
      name: 'a service gone, an operation added', after: (i, at) => [span(i * 3, { name: 'GET /', atMs: at, durMs: 20 + (i % 5) }), span(i * 3 + 2, { name: 'render', atMs: at + 10, durMs: 2, error: i % 50 === 0 }), span(i * 3 + 1, { name: 'GET /health', atMs: at + 20, durMs: 1 })],
      check: (d) => {
        assert.deepEqual(d.services.gone, ['db']);
        assert.deepEqual(d.operations.added.map((o) => o.operation), ['GET /health']);
        assert.deepEqual(d.operations.gone.map((o) => `${o.service}:${o.operation}`), ['db:SELECT']);
      },
    },
    {
      name: 'errors up', after: (i, at) => steady(i, at).map((s) => (s.name === 'render' && i % 4 === 0 ? { ...s, status: { code: 2, message: 'boom' } } : s)),
      check: (d) => { const r = d.changed.find((c) => c.operation === 'render')!; assert.deepEqual(r.changes, ['errors_up']); assert.ok(r.after.errorRatio > 0.2); },
    },
    {
      name: 'latency down', after: (i, at) => steady(i, at).map((s) => (s.name === 'GET /' ? { ...s, durationNs: 4_000_000, endTimeUnixNano: (BigInt(s.startTimeUnixNano) + 4_000_000n).toString() } : s)),
      check: (d) => { const r = d.changed.find((c) => c.operation === 'GET /')!; assert.ok(r.changes.includes('latency_down'), JSON.stringify(r.changes)); },
    },
    {
      name: 'database latency x10', after: (i, at) => steady(i, at).map((s) => (s.name === 'SELECT' ? { ...s, durationNs: s.durationNs * 10, endTimeUnixNano: (BigInt(s.startTimeUnixNano) + BigInt(s.durationNs * 10)).toString() } : s)),
      check: (d) => {
        const r = d.changed.find((c) => c.operation === 'SELECT')!;
        assert.deepEqual(r.changes, ['latency_up', 'anomalous']);
        assert.equal(r.verdicts.before.alerts, 0);
        assert.ok(r.verdicts.afterAgainstBefore.first, 'the alert carries its explanation');
        assert.equal(d.changed.length, 1, 'only the database changed');
      },
    },
  ];
  for (const sc of diffs) {
    test(`diff: ${sc.name}`, (t) => {
      // 100 s of traffic each, one request every 500 ms; AFTER starts an hour later.
      const before = Array.from({ length: 200 }, (_, i) => steady(i, i * 500)).flat();
      const after = Array.from({ length: 200 }, (_, i) => sc.after(i + 1000, 3_600_000 + i * 500)).flat();
      sc.check(diffCaptures(loadCapture(writeCapture(t, 'a', before)), loadCapture(writeCapture(t, 'b', after))));
    });
  }
});
