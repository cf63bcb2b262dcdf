// SPDX-License-Identifier: Apache-2.0
/**
 * OTLP/HTTP export of agent events (as logs) and aggregates (as metrics),
 * through the OpenTelemetry JS SDK exporters (protobuf, or JSON as an option),
 * which retry 429/502/503/504 with backoff and honour Retry-After. Events
 * wait in a bounded queue; every drop is counted by reason. Each logs batch
 * carries, as scope attributes, the events lost per probe since the previous
 * acknowledged batch, so that a receiver can tell silence from loss.
 */
import diagnosticsChannel from 'node:diagnostics_channel';
import type { ClientRequest, IncomingMessage } from 'node:http';
import { hostname } from 'node:os';
import { OTLPLogExporter as ProtoLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { OTLPLogExporter as JsonLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPMetricExporter as ProtoMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { OTLPMetricExporter as JsonMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { AggregationTemporality, DataPointType } from '@opentelemetry/sdk-metrics';
import type { MetricData, ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { ExportResultCode } from '@opentelemetry/core';
import type { ExportResult } from '@opentelemetry/core';
import type { HrTime } from '@opentelemetry/api';
import { ValueType } from '@opentelemetry/api';
import { createExportQueue } from '../export-queue.js';
import type { BatchResult, ExportQueue, ExportQueueStats } from '../export-queue.js';
import type { MetricFamily } from '../../lib/metric-family.js';

/** An OTLP log attribute value: a scalar, a list of strings, or a list of small maps (as an ancestry chain). */
export type OtlpAttributeValue = string | number | boolean | readonly string[] | readonly Readonly<Record<string, string | number>>[];

/** What the OTLP exporter sends as one log record. */
export interface OtlpEvent {
  name: string;
  timeMs: number;
  attributes: Record<string, OtlpAttributeValue>;
}

export interface OtlpExporterOptions {
  /** Full URLs of the logs and metrics endpoints. */
  logsUrl: string;
  metricsUrl: string;
  protocol?: 'http/protobuf' | 'http/json';
  headers?: Record<string, string>;
  timeoutMs?: number;
  queueSize?: number;
  batchSize?: number;
  flushIntervalMs?: number;
  /** Resource attributes (service.name etc.). */
  resource?: Record<string, string | number | boolean>;
  /** Cumulative events lost per probe (kernel, reader, decode); sampled per batch. */
  lostEvents?(): Record<string, number>;
  onError?(err: unknown): void;
}

export interface OtlpExporterStats {
  logs: ExportQueueStats;
  metrics: ExportQueueStats;
  /** HTTP attempts and retryable answers (429/502/503/504) seen on our endpoints. */
  attempts: number;
  retryableResponses: number;
}

export interface OtlpExporter {
  /** Queues one event; false (and counted) when dropped. */
  addEvent(e: OtlpEvent): boolean;
  /** Queues one metrics snapshot. */
  addMetrics(families: readonly MetricFamily[]): boolean;
  forceFlush(): Promise<void>;
  shutdown(deadlineMs?: number): Promise<void>;
  stats(): OtlpExporterStats;
}

const SCOPE = { name: 'maxpro.agent', version: '0.1.0' };
const RETRYABLE = new Set([429, 502, 503, 504]);

function hr(ms: number): HrTime {
  const s = Math.floor(ms / 1000);
  return [s, Math.round((ms - s * 1000) * 1e6)];
}

function settle(exporter: { export(items: never, cb: (r: ExportResult) => void): void }, items: unknown): Promise<BatchResult> {
  return new Promise((resolve) => {
    exporter.export(items as never, (r) => {
      resolve(r.code === ExportResultCode.SUCCESS ? { status: 'success' } : { status: 'failure', error: r.error ?? new Error('OTLP export failed') });
    });
  });
}

/** OTLP metric data from exposition families (cumulative temporality). */
export function familiesToMetricData(families: readonly MetricFamily[], startMs: number, nowMs: number): MetricData[] {
  const start = hr(startMs);
  const end = hr(nowMs);
  const out: MetricData[] = [];
  for (const f of families) {
    const descriptor = { name: f.name, description: f.help, unit: f.unit ?? '', valueType: ValueType.DOUBLE };
    if (f.type === 'histogram') {
      out.push({
        descriptor, aggregationTemporality: AggregationTemporality.CUMULATIVE, dataPointType: DataPointType.HISTOGRAM,
        dataPoints: f.samples.map((s) => {
          const finite = s.buckets.filter((b) => Number.isFinite(b.le));
          const counts: number[] = [];
          let prev = 0;
          for (const b of finite) { counts.push(b.count - prev); prev = b.count; }
          counts.push(s.count - prev);
          return { startTime: start, endTime: end, attributes: { ...s.labels }, value: { buckets: { boundaries: finite.map((b) => b.le), counts }, sum: s.sum, count: s.count } };
        }),
      });
    } else {
      out.push({
        descriptor,
        aggregationTemporality: AggregationTemporality.CUMULATIVE,
        ...(f.type === 'counter'
          ? { dataPointType: DataPointType.SUM as const, isMonotonic: true }
          : { dataPointType: DataPointType.GAUGE as const }),
        dataPoints: f.samples.map((s) => ({ startTime: start, endTime: end, attributes: { ...s.labels }, value: s.value })),
      } as MetricData);
    }
  }
  return out;
}

export function createOtlpExporter(options: OtlpExporterOptions): OtlpExporter {
  const json = options.protocol === 'http/json';
  const common = { headers: { ...(options.headers ?? {}) }, timeoutMillis: options.timeoutMs ?? 10_000, concurrencyLimit: 2 };
  const logExporter = json ? new JsonLogExporter({ ...common, url: options.logsUrl }) : new ProtoLogExporter({ ...common, url: options.logsUrl });
  const metricExporter = json ? new JsonMetricExporter({ ...common, url: options.metricsUrl }) : new ProtoMetricExporter({ ...common, url: options.metricsUrl });
  const resource = resourceFromAttributes({ 'service.name': 'maxpro-agent', 'host.name': hostname(), ...(options.resource ?? {}) });
  const startMs = Date.now();

  // Count attempts and retryable answers on our endpoints (the SDK retries internally).
  const targets = new Set([new URL(options.logsUrl), new URL(options.metricsUrl)].map((u) => `${u.host}${u.pathname}`));
  let attempts = 0;
  let retryableResponses = 0;
  const ours = (req: ClientRequest): boolean => targets.has(`${String(req.getHeader('host') ?? req.host)}${req.path}`);
  const onStart = (msg: unknown): void => {
    if (ours((msg as { request: ClientRequest }).request)) attempts++;
  };
  const onFinish = (msg: unknown): void => {
    const { request, response } = msg as { request: ClientRequest; response: IncomingMessage };
    if (ours(request) && RETRYABLE.has(response.statusCode ?? 0)) retryableResponses++;
  };
  diagnosticsChannel.subscribe('http.client.request.start', onStart);
  diagnosticsChannel.subscribe('http.client.response.finish', onFinish);

  // Loss accounting: what the receiver has been told so far, per probe.
  let reported: Record<string, number> = {};
  let queueDropsReported = 0;
  // Assigned below; exportLogs only runs once the queue exists.
  const ref: { logs?: ExportQueue<OtlpEvent> } = {};

  // Metrics batches carry the probes' loss too, with their own "previous batch".
  let reportedByMetrics: Record<string, number> = {};
  const lossAttributes = (lostNow: Record<string, number>, since: Record<string, number>): Record<string, number> => {
    const attrs: Record<string, number> = {};
    for (const [probe, n] of Object.entries(lostNow)) attrs[`maxpro.probe.${probe}.lost_events`] = n - (since[probe] ?? 0);
    return attrs;
  };

  const exportLogs = async (items: OtlpEvent[]): Promise<BatchResult> => {
    const lostNow = options.lostEvents?.() ?? {};
    const queueDropsNow = ref.logs!.stats().dropped.queue_full;
    const scopeAttributes = lossAttributes(lostNow, reported);
    scopeAttributes['maxpro.exporter.dropped_events'] = queueDropsNow - queueDropsReported;
    const scope = { ...SCOPE, attributes: scopeAttributes };
    const records: ReadableLogRecord[] = items.map((e) => ({
      hrTime: hr(e.timeMs), hrTimeObserved: hr(e.timeMs), body: e.name, eventName: e.name, resource,
      instrumentationScope: scope, attributes: e.attributes as ReadableLogRecord['attributes'], droppedAttributesCount: 0,
    }));
    const res = await settle(logExporter, records);
    if (res.status === 'success') {
      reported = lostNow;
      queueDropsReported = queueDropsNow;
    }
    return res;
  };

  const logs = createExportQueue<OtlpEvent>({
    exportBatch: exportLogs,
    maxQueueSize: options.queueSize ?? 8192,
    maxBatchSize: options.batchSize ?? 512,
    flushIntervalMs: options.flushIntervalMs ?? 1000,
    ...(options.onError ? { onError: options.onError } : {}),
  });
  ref.logs = logs;
  const metrics = createExportQueue<{ families: readonly MetricFamily[]; at: number }>({
    exportBatch: async (snaps) => {
      // Cumulative data: only the newest snapshot matters, but each counts as exported.
      const last = snaps[snaps.length - 1]!;
      const lostNow = options.lostEvents?.() ?? {};
      const scope = { ...SCOPE, attributes: lossAttributes(lostNow, reportedByMetrics) };
      const rm: ResourceMetrics = { resource, scopeMetrics: [{ scope, metrics: familiesToMetricData(last.families, startMs, last.at) }] };
      const res = await settle(metricExporter, rm);
      if (res.status === 'success') reportedByMetrics = lostNow;
      return res;
    },
    maxQueueSize: 4,
    maxBatchSize: 4,
    flushIntervalMs: options.flushIntervalMs ?? 1000,
    ...(options.onError ? { onError: options.onError } : {}),
  });

  let shut: Promise<void> | undefined;
  return {
    addEvent: (e) => logs.add(e),
    addMetrics: (families) => metrics.add({ families, at: Date.now() }),
    async forceFlush() {
      await Promise.all([logs.forceFlush(), metrics.forceFlush()]);
    },
    shutdown(deadlineMs = 5000) {
      shut ??= (async () => {
        await Promise.all([logs.shutdown(deadlineMs), metrics.shutdown(deadlineMs)]);
        await Promise.allSettled([logExporter.shutdown(), metricExporter.shutdown()]);
        diagnosticsChannel.unsubscribe('http.client.request.start', onStart);
        diagnosticsChannel.unsubscribe('http.client.response.finish', onFinish);
      })();
      return shut;
    },
    stats: () => ({ logs: logs.stats(), metrics: metrics.stats(), attempts, retryableResponses }),
  };
}
