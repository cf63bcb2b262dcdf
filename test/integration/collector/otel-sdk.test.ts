// SPDX-License-Identifier: Apache-2.0
// The official OpenTelemetry JS SDK, with its OTLP/HTTP proto and JSON
// exporters, sends nested spans (with baggage on the export request) to a
// real collector; the trace read back must match what the SDK recorded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { context, propagation, SpanKind, SpanStatusCode, trace, type Attributes, type AttributeValue } from '@opentelemetry/api';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { BatchSpanProcessor, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { apiGet, mustStartCollector, TOKEN } from './collector-fixture.js';
import type { TraceTree, SpanNode } from '../../../src/collector/trace-tree.js';
import type { AnyValue, KeyValue } from '../../../src/collector/span-model.js';

function toAnyValue(v: AttributeValue): AnyValue {
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (typeof v === 'number') return Number.isInteger(v) ? { intValue: String(v) } : { doubleValue: v };
  return { arrayValue: { values: (v as (string | number | boolean | null | undefined)[]).map((x) => (x === null || x === undefined ? {} : toAnyValue(x))) } };
}
function toKeyValues(a: Attributes): KeyValue[] {
  return Object.entries(a).filter(([, v]) => v !== undefined).map(([key, v]) => ({ key, value: toAnyValue(v!) }));
}
const ns = (t: [number, number]): string => (BigInt(t[0]) * 1_000_000_000n + BigInt(t[1])).toString();
const sortKv = (a: KeyValue[]): KeyValue[] => [...a].sort((x, y) => x.key.localeCompare(y.key));

function flatten(nodes: SpanNode[], out: SpanNode[] = []): SpanNode[] {
  for (const n of nodes) { out.push(n); flatten(n.children, out); }
  return out;
}

async function emit(variant: 'proto' | 'json', url: string): Promise<ReadableSpan[]> {
  const headers = { authorization: `Bearer ${TOKEN}`, baggage: 'tenant=acme,session.id=s%201,secret=not-allowed' };
  const exporter = variant === 'proto'
    ? new ProtoExporter({ url: `${url}/v1/traces`, headers })
    : new JsonExporter({ url: `${url}/v1/traces`, headers });
  const memory = new InMemorySpanExporter();
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': `shop-${variant}`, 'deployment.environment': 'test' }),
    spanProcessors: [new SimpleSpanProcessor(memory), new BatchSpanProcessor(exporter)],
  });
  provider.register();
  const tracer = provider.getTracer('shop-instrumentation', '1.2.3');
  const bag = propagation.createBaggage({ tenant: { value: 'acme' } });
  await context.with(propagation.setBaggage(context.active(), bag), async () => {
    await tracer.startActiveSpan('GET /checkout', { kind: SpanKind.SERVER, attributes: { 'http.method': 'GET', 'http.status_code': 200, ratio: 0.25, cached: false, tags: ['a', 'b'] } }, async (root) => {
      await tracer.startActiveSpan('load cart', { kind: SpanKind.INTERNAL }, async (cart) => {
        cart.addEvent('cache miss', { key: 'cart:42', attempt: 2 });
        await tracer.startActiveSpan('SELECT carts', { kind: SpanKind.CLIENT, attributes: { 'db.system': 'postgresql' } }, async (db) => {
          db.setStatus({ code: SpanStatusCode.ERROR, message: 'deadlock detected' });
          db.recordException(new Error('deadlock detected'));
          db.end();
        });
        cart.end();
      });
      const pay = tracer.startSpan('charge card', { kind: SpanKind.PRODUCER, links: [{ context: root.spanContext(), attributes: { reason: 'follows' } }] });
      pay.setStatus({ code: SpanStatusCode.OK });
      pay.end();
      root.end();
    });
  });
  await provider.forceFlush();
  const spans = memory.getFinishedSpans();
  await provider.shutdown();
  trace.disable();
  context.disable();
  propagation.disable();
  return spans;
}

for (const variant of ['proto', 'json'] as const) {
  test(`OTel SDK ${variant} exporter: the stored trace equals what the SDK recorded`, async (t) => {
    const c = await mustStartCollector(t, { baggage: { allowKeys: ['tenant', 'session.id'] } });
    const sdkSpans = await emit(variant, c.url);
    assert.equal(sdkSpans.length, 4);
    assert.equal(c.stats().accepted.traces, 4, JSON.stringify(c.stats()));
    const traceId = sdkSpans[0]!.spanContext().traceId;
    const { status, body } = await apiGet<TraceTree>(c, `/api/traces/${traceId}`);
    assert.equal(status, 200);
    assert.equal(body.spanCount, 4);
    assert.equal(body.roots.length, 1);
    assert.equal(body.roots[0]!.name, 'GET /checkout');
    assert.deepEqual(body.roots[0]!.children.map((ch) => ch.name), ['load cart', 'charge card']);
    assert.deepEqual(body.roots[0]!.children[0]!.children.map((ch) => ch.name), ['SELECT carts']);
    assert.equal(body.errorCount, 1);
    const stored = new Map(flatten(body.roots).map((s) => [s.spanId, s]));
    for (const s of sdkSpans) {
      const got = stored.get(s.spanContext().spanId);
      assert.ok(got, `span ${s.name} stored`);
      assert.equal(got.name, s.name);
      assert.equal(got.traceId, traceId);
      assert.equal(got.parentSpanId, s.parentSpanContext?.spanId);
      assert.equal(got.kind, s.kind + 1, `${s.name} kind`);
      assert.equal(got.startTimeUnixNano, ns(s.startTime));
      assert.equal(got.endTimeUnixNano, ns(s.endTime));
      assert.equal(got.service, `shop-${variant}`);
      // Every SDK attribute, plus the allowed baggage (and not the other key).
      const expected = sortKv([...toKeyValues(s.attributes), { key: 'tenant', value: { stringValue: 'acme' } }, { key: 'session.id', value: { stringValue: 's 1' } }]);
      assert.deepEqual(sortKv(got.attributes), expected, `${s.name} attributes`);
      assert.deepEqual(got.events.map((e) => ({ name: e.name, timeUnixNano: e.timeUnixNano, attributes: sortKv((e.attributes as KeyValue[] | undefined) ?? []) })),
        s.events.map((e) => ({ name: e.name, timeUnixNano: ns(e.time), attributes: sortKv(toKeyValues(e.attributes ?? {})) })), `${s.name} events`);
      assert.deepEqual(got.status, s.status.message ? { code: s.status.code, message: s.status.message } : { code: s.status.code }, `${s.name} status`);
      assert.deepEqual(got.links.map((l) => ({ traceId: l.traceId, spanId: l.spanId, attributes: l.attributes })),
        s.links.map((l) => ({ traceId: l.context.traceId, spanId: l.context.spanId, attributes: toKeyValues(l.attributes ?? {}) })));
      assert.deepEqual(got.scope.name, 'shop-instrumentation');
      assert.deepEqual(got.scope.version, '1.2.3');
      const resAttrs = new Map((got.resource.attributes as KeyValue[]).map((a) => [a.key, a.value]));
      assert.deepEqual(resAttrs.get('deployment.environment'), { stringValue: 'test' });
    }
    // The same data through search: by service, by attribute, by status.
    const errors = await apiGet<{ spans: { name: string }[] }>(c, `/api/spans?service=shop-${variant}&status=error&start=0`);
    assert.deepEqual(errors.body.spans.map((s) => s.name), ['SELECT carts']);
    const byAttr = await apiGet<{ spans: { name: string }[] }>(c, `/api/spans?attr=http.status_code=200&attr=cached=false&start=0`);
    assert.deepEqual(byAttr.body.spans.map((s) => s.name), ['GET /checkout']);
    assert.equal(c.stats().rejected.baggage_not_allowed, 1);
  });
}
