// SPDX-License-Identifier: Apache-2.0
// The official OpenTelemetry JS gRPC exporters (traces, logs, metrics) against
// the collector's OTLP/gRPC receiver: the same SDK data exported once over
// OTLP/HTTP protobuf and once over gRPC (plain and gzip) must be stored
// identically, as read back through the query API.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Metadata } from '@grpc/grpc-js';
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { CompressionAlgorithm } from '@opentelemetry/otlp-exporter-base';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor, type ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { MeterProvider, MetricReader, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { OTLPTraceExporter as HttpTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { OTLPLogExporter as HttpLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { OTLPMetricExporter as HttpMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { OTLPTraceExporter as GrpcTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPLogExporter as GrpcLogExporter } from '@opentelemetry/exporter-logs-otlp-grpc';
import { OTLPMetricExporter as GrpcMetricExporter } from '@opentelemetry/exporter-metrics-otlp-grpc';
import { apiGet, mustStartCollector, TOKEN } from './collector-fixture.js';
import type { TraceTree } from '../../../src/collector/trace-tree.js';

class ManualReader extends MetricReader {
  protected override onForceFlush(): Promise<void> { return Promise.resolve(); }
  protected override onShutdown(): Promise<void> { return Promise.resolve(); }
}

const resource = resourceFromAttributes({ 'service.name': 'grpc-parity', 'deployment.environment': 'test' });

async function recordSpans(): Promise<ReadableSpan[]> {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ resource, spanProcessors: [new SimpleSpanProcessor(memory)] });
  const tracer = provider.getTracer('parity-scope', '2.0.0');
  const root = tracer.startSpan('GET /orders', { kind: SpanKind.SERVER, attributes: { 'http.method': 'GET', 'http.status_code': 200, ratio: 0.5, ok: true, tags: ['x', 'y'] } });
  const child = tracer.startSpan('SELECT orders', { kind: SpanKind.CLIENT, attributes: { 'db.system': 'postgresql' } }, trace.setSpan(context.active(), root));
  child.addEvent('retry', { attempt: 2 });
  child.setStatus({ code: SpanStatusCode.ERROR, message: 'timeout' });
  child.end();
  root.end();
  await provider.forceFlush();
  const spans = memory.getFinishedSpans();
  await provider.shutdown();
  return spans;
}

async function recordLogs(): Promise<ReadableLogRecord[]> {
  const memory = new InMemoryLogRecordExporter();
  const provider = new LoggerProvider({ resource, processors: [new SimpleLogRecordProcessor({ exporter: memory })] });
  const logger = provider.getLogger('parity-logger', '1.0.0');
  logger.emit({ body: 'order created', severityNumber: 9, severityText: 'INFO', attributes: { 'order.id': 42, vip: true }, timestamp: Date.now() });
  logger.emit({ body: { nested: 'map', n: 1.5 }, severityNumber: 17, severityText: 'ERROR', timestamp: Date.now() + 1 });
  await provider.forceFlush();
  const logs = memory.getFinishedLogRecords();
  await provider.shutdown();
  return logs;
}

async function recordMetrics(): Promise<ResourceMetrics> {
  const reader = new ManualReader();
  const provider = new MeterProvider({ resource, readers: [reader] });
  const meter = provider.getMeter('parity-meter', '1.0.0');
  meter.createCounter('orders_total').add(3, { region: 'eu' });
  meter.createHistogram('order_latency_ms').record(12.5, { region: 'eu' });
  meter.createUpDownCounter('orders_open').add(-2);
  meter.createGauge('queue_depth').record(7, { queue: 'a' });
  const { resourceMetrics, errors } = await reader.collect();
  assert.deepEqual(errors, []);
  await provider.shutdown();
  return resourceMetrics;
}

interface Exporter<T> { export(items: T, cb: (r: ExportResult) => void): void; shutdown(): Promise<void> }
async function exportOnce<T>(exporter: Exporter<T>, items: T): Promise<void> {
  const result = await new Promise<ExportResult>((resolve) => exporter.export(items, resolve));
  await exporter.shutdown();
  assert.equal(result.code, ExportResultCode.SUCCESS, String(result.error));
}

test('OTel gRPC exporters store the same traces, logs and metrics as the HTTP exporters', async (t) => {
  const [spans, logs, metrics] = [await recordSpans(), await recordLogs(), await recordMetrics()];
  const traceId = spans[0]!.spanContext().traceId;
  const headers = { authorization: `Bearer ${TOKEN}` };
  const md = (): Metadata => { const m = new Metadata(); m.set('authorization', `Bearer ${TOKEN}`); return m; };

  const http = await mustStartCollector(t);
  await exportOnce(new HttpTraceExporter({ url: `${http.url}/v1/traces`, headers }), spans);
  await exportOnce(new HttpLogExporter({ url: `${http.url}/v1/logs`, headers }), logs);
  await exportOnce(new HttpMetricExporter({ url: `${http.url}/v1/metrics`, headers }), metrics);

  const read = async (c: { url: string }): Promise<unknown> => ({
    trace: (await apiGet<TraceTree>(c, `/api/traces/${traceId}`)).body,
    logs: (await apiGet(c, '/api/logs?service=grpc-parity')).body,
    metrics: (await apiGet(c, '/api/metrics?service=grpc-parity')).body,
  });
  const expected = await read(http);
  const tree = (expected as { trace: TraceTree }).trace;
  assert.equal(tree.spanCount, 2);
  assert.equal((expected as { logs: { records: unknown[] } }).logs.records.length, 2);
  assert.equal((expected as { metrics: { records: unknown[] } }).metrics.records.length, 4);

  for (const compression of [CompressionAlgorithm.NONE, CompressionAlgorithm.GZIP]) {
    const c = await mustStartCollector(t);
    assert.ok(c.grpcUrl, 'gRPC receiver listens');
    assert.notEqual(new URL(c.grpcUrl).port, new URL(c.url).port);
    await exportOnce(new GrpcTraceExporter({ url: c.grpcUrl, metadata: md(), compression }), spans);
    await exportOnce(new GrpcLogExporter({ url: c.grpcUrl, metadata: md(), compression }), logs);
    await exportOnce(new GrpcMetricExporter({ url: c.grpcUrl, metadata: md(), compression }), metrics);
    assert.deepEqual(c.stats().accepted, { traces: 2, logs: 2, metrics: 4 });
    assert.deepEqual(c.stats().rejected, {});
    assert.deepEqual(await read(c), expected, `gRPC (${compression}) stored what HTTP stored`);
  }
});
