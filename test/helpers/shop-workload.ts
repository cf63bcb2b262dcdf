// SPDX-License-Identifier: Apache-2.0
/**
 * A test workload through the official OpenTelemetry SDK: `traces` checkout
 * traces (server → internal → client spans, an event, a link, every tenth
 * one failing with a multi-line status message), with explicit timestamps
 * one `stepMs` apart so latencies are exact. `dbMs` is the database span's
 * latency (plus a little deterministic jitter); `cache` adds an operation.
 * With no `url` the exporter reads the standard OTEL_* variables. Run as a
 * script (`node shop-workload.js '{"traces":…}'`), it emits and exits.
 */
import { SpanKind, SpanStatusCode, trace, context } from '@opentelemetry/api';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { fileURLToPath } from 'node:url';

export interface ShopWorkload {
  traces: number;
  /** Start of the first trace, Unix ms; default now minus traces × stepMs. */
  startMs?: number;
  stepMs?: number;
  dbMs?: number;
  cache?: boolean;
  service?: string;
  url?: string;
  token?: string;
}

/** Spans per trace. */
export const spansPerTrace = (w: ShopWorkload): number => (w.cache ? 5 : 4);

/** Emits the traces and resolves once the exporter flushed them; returns their ids. */
export async function emitShopTraffic(w: ShopWorkload): Promise<string[]> {
  const stepMs = w.stepMs ?? 250;
  const start = w.startMs ?? Date.now() - w.traces * stepMs;
  const exporter = new OTLPTraceExporter(w.url ? { url: `${w.url}/v1/traces`, headers: w.token ? { authorization: `Bearer ${w.token}` } : {} } : {});
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': w.service ?? 'shop', 'k8s.pod.name': 'shop-7d9f', 'service.version': '1.4.2' }),
    spanProcessors: [new BatchSpanProcessor(exporter, { maxExportBatchSize: 256, scheduledDelayMillis: 200, maxQueueSize: 100_000 })],
  });
  const tracer = provider.getTracer('shop-instrumentation', '0.9.0');
  const ids: string[] = [];
  for (let i = 0; i < w.traces; i++) {
    const t = start + i * stepMs;
    const db = (w.dbMs ?? 5) + (i % 7) * 0.25;
    const root = tracer.startSpan('GET /checkout', { kind: SpanKind.SERVER, startTime: t, attributes: { 'http.method': 'GET', 'http.route': '/checkout', 'http.status_code': i % 10 === 9 ? 502 : 200, attempt: i } });
    ids.push(root.spanContext().traceId);
    const ctx = trace.setSpan(context.active(), root);
    const cart = tracer.startSpan('load cart', { kind: SpanKind.INTERNAL, startTime: t + 1 }, ctx);
    cart.addEvent('cache miss', { key: `cart:${i}`, ratio: 0.5 }, t + 1.5);
    const sql = tracer.startSpan('SELECT carts', { kind: SpanKind.CLIENT, startTime: t + 2, attributes: { 'db.system': 'postgresql', 'db.statement': 'SELECT * FROM carts WHERE id = $1' } }, trace.setSpan(ctx, cart));
    sql.end(t + 2 + db);
    cart.end(t + 3 + db);
    let end = t + 4 + db;
    if (w.cache) {
      const c = tracer.startSpan('cache lookup', { kind: SpanKind.CLIENT, startTime: end, attributes: { 'cache.hit': i % 2 === 0 } }, ctx);
      c.end(end + 0.5);
      end += 1;
    }
    const charge = tracer.startSpan('charge card', { kind: SpanKind.PRODUCER, startTime: end, links: [{ context: cart.spanContext(), attributes: { reason: 'follows' } }] }, ctx);
    if (i % 10 === 9) charge.setStatus({ code: SpanStatusCode.ERROR, message: 'card declined\nretry with another card' });
    charge.end(end + 2);
    root.end(end + 3);
  }
  await provider.forceFlush();
  await provider.shutdown();
  return ids;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const ids = await emitShopTraffic(JSON.parse(process.argv[2] ?? '{"traces":10}') as ShopWorkload);
  process.stdout.write(`${JSON.stringify(ids)}\n`);
}
