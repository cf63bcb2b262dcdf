// SPDX-License-Identifier: Apache-2.0
// Values come back as they were sent: NaN and infinities in both encodings
// (and from the official SDK's protobuf exporter), invalid 64-bit integers
// refused with their path, lengths in characters, attributes over a limit
// dropped and counted as the SDKs do, and logs paged newest first.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { trace } from '@opentelemetry/api';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { apiGet, mustStartCollector, TOKEN } from './collector-fixture.js';
import { encodeExportRequest } from '../../../src/lib/otlp/otlp-codec.js';
import type { TraceTree } from '../../../src/collector/trace-tree.js';
import type { KeyValue } from '../../../src/collector/span-model.js';

const AUTH = { authorization: `Bearer ${TOKEN}` };
const TRACE = '5b8efff798038103d269b633813fc60c';

async function send(url: string, signal: 'traces' | 'logs', body: unknown, format: 'json' | 'protobuf'): Promise<Response> {
  const bytes = format === 'json' ? Buffer.from(JSON.stringify(body)) : encodeExportRequest(signal, body as Record<string, unknown>, 'protobuf');
  return fetch(`${url}/v1/${signal}`, {
    method: 'POST',
    headers: { ...AUTH, 'content-type': format === 'json' ? 'application/json' : 'application/x-protobuf' },
    body: bytes,
  });
}

const spans = (service: string, list: Record<string, unknown>[]): Record<string, unknown> => ({
  resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] }, scopeSpans: [{ spans: list }] }],
});
const span = (spanId: string, attributes: KeyValue[], over: Record<string, unknown> = {}): Record<string, unknown> => ({
  traceId: TRACE, spanId, name: `s-${spanId}`, startTimeUnixNano: '1700000000000000000', endTimeUnixNano: '1700000000000000100', attributes, ...over,
});
const attrOf = (tree: TraceTree, spanId: string, key: string): unknown => {
  const walk = (ns: TraceTree['roots']): unknown => {
    for (const n of ns) {
      if (n.spanId === spanId) return (n.attributes as KeyValue[] | undefined)?.find((a) => a.key === key)?.value;
      const x = walk(n.children);
      if (x !== undefined) return x;
    }
    return undefined;
  };
  return walk(tree.roots);
};

test('NaN and infinities round-trip in OTLP/JSON and protobuf', async (t) => {
  const c = await mustStartCollector(t);
  const special = [{ key: 'nan', value: { doubleValue: 'NaN' } }, { key: 'inf', value: { doubleValue: 'Infinity' } }, { key: 'ninf', value: { doubleValue: '-Infinity' } }, { key: 'one', value: { doubleValue: 1.5 } }];
  for (const [i, format] of (['json', 'protobuf'] as const).entries()) {
    const r = await send(c.url, 'traces', spans('fidelity', [span(`00000000000000a${i}`, special)]), format);
    assert.equal(r.status, 200, await r.clone().text());
    const logs = { resourceLogs: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: `fidelity-${format}` } }] }, scopeLogs: [{ logRecords: [{ timeUnixNano: '5', body: { doubleValue: 'NaN' }, attributes: special }] }] }] };
    assert.equal((await send(c.url, 'logs', logs, format)).status, 200);
    const stored = (await apiGet<{ records: { record: { body: unknown; attributes: KeyValue[] } }[] }>(c, `/api/logs?service=fidelity-${format}`)).body.records[0]!.record;
    assert.deepEqual(stored.body, { doubleValue: 'NaN' }, format);
    assert.deepEqual(stored.attributes.map((a) => a.value?.doubleValue), ['NaN', 'Infinity', '-Infinity', 1.5], format);
  }
  const tree = (await apiGet<TraceTree>(c, `/api/traces/${TRACE}`)).body;
  for (const id of ['00000000000000a0', '00000000000000a1']) {
    assert.deepEqual(attrOf(tree, id, 'nan'), { doubleValue: 'NaN' }, id);
    assert.deepEqual(attrOf(tree, id, 'inf'), { doubleValue: 'Infinity' }, id);
    assert.deepEqual(attrOf(tree, id, 'ninf'), { doubleValue: '-Infinity' }, id);
  }

  // The official SDK's protobuf exporter sends a NaN attribute.
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'fidelity-sdk' }),
    spanProcessors: [new SimpleSpanProcessor(new ProtoExporter({ url: `${c.url}/v1/traces`, headers: AUTH }))],
  });
  const s = provider.getTracer('t').startSpan('nan-span', { attributes: { ratio: Number.NaN, up: Number.POSITIVE_INFINITY } });
  const { traceId, spanId } = s.spanContext();
  s.end();
  await provider.forceFlush();
  await provider.shutdown();
  trace.disable();
  const sdkTree = (await apiGet<TraceTree>(c, `/api/traces/${traceId}`)).body;
  assert.deepEqual(attrOf(sdkTree, spanId, 'ratio'), { doubleValue: 'NaN' });
  assert.deepEqual(attrOf(sdkTree, spanId, 'up'), { doubleValue: 'Infinity' });
});

test('invalid 64-bit integers in JSON are refused with their path and counted', async (t) => {
  const c = await mustStartCollector(t);
  const cases: { name: string; value: unknown }[] = [
    { name: 'above int64', value: '9223372036854775808' },
    { name: 'below int64', value: '-9223372036854775809' },
    { name: 'not an integer', value: '1.5' },
    { name: 'a JSON number past int64', value: 1e20 },
    { name: 'a fraction as a number', value: 2.5 },
    { name: 'hex text', value: '0x10' },
  ];
  for (const k of cases) {
    const r = await send(c.url, 'traces', spans('ints', [span('00000000000000b1', [{ key: 'n', value: { intValue: k.value } as never }])]), 'json');
    assert.equal(r.status, 400, k.name);
    assert.match(await r.text(), /spans\[0\]\.attributes\[0\]\.value\.intValue .* (range|integer)/, k.name);
  }
  const bad = await send(c.url, 'traces', spans('ints', [span('00000000000000b2', [], { startTimeUnixNano: '-1' })]), 'json');
  assert.equal(bad.status, 400, 'a negative time');
  assert.equal(c.stats().rejected.invalid_integer, cases.length + 1);
  // The limits themselves are accepted.
  const ok = await send(c.url, 'traces', spans('ints', [span('00000000000000b3', [{ key: 'max', value: { intValue: '9223372036854775807' } }, { key: 'min', value: { intValue: '-9223372036854775808' } }, { key: 'num', value: { intValue: 9007199254740991 as never } }])]), 'json');
  assert.equal(ok.status, 200);
  const tree = (await apiGet<TraceTree>(c, `/api/traces/${TRACE}`)).body;
  assert.deepEqual(attrOf(tree, '00000000000000b3', 'max'), { intValue: '9223372036854775807' });
  assert.deepEqual(attrOf(tree, '00000000000000b3', 'num'), { intValue: '9007199254740991' });
  assert.equal(tree.spanCount, 1, 'nothing of the refused requests was stored');
});

test('limits in characters; over a limit, attributes are cut or dropped and counted, not the span', async (t) => {
  const c = await mustStartCollector(t, { limits: { maxAttributes: 4, maxAttributeValueLength: 8, maxAttributeKeyLength: 6, maxAttributeDepth: 2, maxEvents: 2 } });
  const emoji = '😀'.repeat(8); // 8 characters, 16 UTF-16 units
  const attrs: KeyValue[] = [
    { key: 'emoji', value: { stringValue: emoji } },
    { key: 'long', value: { stringValue: 'abcdefghijkl' } },
    { key: 'toolongkey', value: { stringValue: 'x' } },
    { key: 'deep', value: { kvlistValue: { values: [{ key: 'a', value: { kvlistValue: { values: [{ key: 'b', value: { arrayValue: { values: [{ stringValue: 'leaf' }] } } }] } } }] } } },
    { key: 'e5', value: { stringValue: 'dropped by count' } },
    { key: 'e6', value: { stringValue: 'dropped by count' } },
  ];
  const events = [0, 1, 2, 3].map((i) => ({ timeUnixNano: String(1700000000000000000 + i), name: `ev${i}` }));
  const r = await send(c.url, 'traces', spans('limits', [span('00000000000000c1', attrs, { droppedAttributesCount: 1, events })]), 'json');
  assert.equal(r.status, 200);
  assert.deepEqual(await r.json(), {}, 'nothing rejected');
  const tree = (await apiGet<TraceTree>(c, `/api/traces/${TRACE}`)).body;
  const node = tree.roots[0]! as unknown as { attributes: KeyValue[]; events: unknown[]; droppedAttributesCount?: number; droppedEventsCount?: number };
  assert.deepEqual(attrOf(tree, '00000000000000c1', 'emoji'), { stringValue: emoji }, '8 characters fit a limit of 8');
  assert.deepEqual(attrOf(tree, '00000000000000c1', 'long'), { stringValue: 'abcdefgh' }, 'cut to 8 characters');
  assert.deepEqual(node.attributes.map((a) => a.key), ['emoji', 'long']);
  // 1 sent as dropped + key too long + nested too deep + 2 over the count of 4.
  assert.equal(node.droppedAttributesCount, 1 + 1 + 1 + 2);
  assert.equal(node.events.length, 2);
  assert.equal(node.droppedEventsCount, 2);
  assert.equal(Object.keys(c.stats().rejected).length, 0, JSON.stringify(c.stats().rejected));

  const refuse = await mustStartCollector(t, { limits: { maxAttributeValueLength: 8, overLimit: 'refuse' } });
  const r2 = await send(refuse.url, 'traces', spans('limits', [span('00000000000000c2', [{ key: 'emoji', value: { stringValue: emoji } }]), span('00000000000000c3', [{ key: 'emoji', value: { stringValue: `${emoji}!` } }])]), 'json');
  assert.equal(r2.status, 200);
  const partial = await r2.json() as { partialSuccess?: { rejectedSpans?: string; errorMessage?: string } };
  assert.equal(partial.partialSuccess?.rejectedSpans, '1', 'the 9-character value only');
  assert.match(partial.partialSuccess?.errorMessage ?? '', /9 characters exceeds 8/);
});

test('/api/logs: newest first, paged, by time range', async (t) => {
  const c = await mustStartCollector(t);
  const records = Array.from({ length: 25 }, (_, i) => ({ timeUnixNano: String(1700000000000000000n + BigInt(i) * 1000n), body: { stringValue: `line ${i}` } }));
  // Sent out of order, in two requests.
  for (const part of [records.filter((_, i) => i % 2 === 1), records.filter((_, i) => i % 2 === 0)]) {
    const r = await send(c.url, 'logs', { resourceLogs: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'pager' } }] }, scopeLogs: [{ logRecords: part }] }] }, 'json');
    assert.equal(r.status, 200);
  }
  const seen: string[] = [];
  let token: string | undefined;
  let pages = 0;
  do {
    const page = (await apiGet<{ records: { record: { body: { stringValue: string } } }[]; nextPageToken?: string }>(c, `/api/logs?service=pager&limit=10${token ? `&pageToken=${token}` : ''}`)).body;
    seen.push(...page.records.map((r) => r.record.body.stringValue));
    token = page.nextPageToken;
    pages++;
  } while (token && pages < 10);
  assert.equal(pages, 3);
  assert.deepEqual(seen, records.map((_, i) => `line ${24 - i}`), 'every record once, newest first');
  const range = (await apiGet<{ records: { record: { body: { stringValue: string } } }[] }>(c, `/api/logs?service=pager&start=${1700000000000000000n + 5000n}&end=${1700000000000000000n + 8000n}`)).body;
  assert.deepEqual(range.records.map((r) => r.record.body.stringValue), ['line 7', 'line 6', 'line 5']);
  const bad = await apiGet(c, '/api/logs?pageToken=nonsense');
  assert.equal(bad.status, 400);
});
