// SPDX-License-Identifier: Apache-2.0
/**
 * Prometheus remote-write 1.0: snapshots of metric families become time
 * series (labels sorted by name, `__name__` included), queued in a bounded queue and
 * sent as snappy-compressed protobuf WriteRequests. 429 and 5xx answers are
 * retried with exponential backoff and jitter, honouring Retry-After, within
 * the request deadline; other 4xx answers are final. Every series dropped is
 * counted by reason.
 */
import snappy from 'snappyjs';
import { createExportQueue } from '../export-queue.js';
import type { BatchResult, ExportQueueStats } from '../export-queue.js';
import { formatValue, sanitizeLabelName, sanitizeMetricName } from '../openmetrics/exposition.js';
import type { Labels, MetricFamily } from '../../lib/metric-family.js';
import { encodeWriteRequest } from './remote-write-proto.js';
import type { RemoteWriteSeries } from './remote-write-proto.js';

export interface RemoteWriteExporterOptions {
  url: string;
  headers?: Record<string, string>;
  timeoutMs?: number;
  queueSize?: number;
  batchSize?: number;
  flushIntervalMs?: number;
  /** Labels added to every series (e.g. instance, job). */
  externalLabels?: Record<string, string>;
  onError?(err: unknown): void;
}

export interface RemoteWriteExporterStats {
  series: ExportQueueStats;
  requests: number;
  retries: number;
  /** Answers by HTTP status (0: no answer). */
  statuses: Record<string, number>;
}

export interface RemoteWriteExporter {
  /** Queues every sample of a snapshot taken at `timeMs`. Returns the series dropped. */
  addSnapshot(families: readonly MetricFamily[], timeMs?: number): number;
  forceFlush(): Promise<void>;
  shutdown(deadlineMs?: number): Promise<void>;
  stats(): RemoteWriteExporterStats;
}

const MAX_ATTEMPTS = 5;
const INITIAL_BACKOFF_MS = 500;
const MAX_BACKOFF_MS = 5000;
const JITTER = 0.2;

/** Retry-After as ms: delta-seconds or an HTTP date. */
export function parseRetryAfterMs(v: string | null): number | undefined {
  if (!v) return undefined;
  if (/^\d+$/.test(v.trim())) return Number(v) * 1000;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : Math.max(0, t - Date.now());
}

function series(name: string, labels: Labels, extra: Record<string, string>, value: number, timeMs: number, le?: number): RemoteWriteSeries {
  const l: Record<string, string> = { ...extra };
  for (const [k, v] of Object.entries(labels)) l[sanitizeLabelName(k)] = v;
  if (le !== undefined) l.le = formatValue(le);
  l.__name__ = sanitizeMetricName(name);
  // The specification wants labels sorted by name (byte order), __name__ included.
  const sorted = Object.keys(l).sort().map((k) => ({ name: k, value: l[k]! }));
  return { labels: sorted, samples: [{ value, timestamp: timeMs }] };
}

/** Flattens families into one-sample series. */
export function familiesToSeries(families: readonly MetricFamily[], timeMs: number, extra: Record<string, string> = {}): RemoteWriteSeries[] {
  const out: RemoteWriteSeries[] = [];
  for (const f of families) {
    if (f.type === 'histogram') {
      for (const s of f.samples) {
        for (const b of s.buckets) out.push(series(`${f.name}_bucket`, s.labels, extra, b.count, timeMs, b.le));
        out.push(series(`${f.name}_sum`, s.labels, extra, s.sum, timeMs));
        out.push(series(`${f.name}_count`, s.labels, extra, s.count, timeMs));
      }
    } else {
      const name = f.type === 'counter' && !f.name.endsWith('_total') ? `${f.name}_total` : f.name;
      for (const s of f.samples) out.push(series(name, s.labels, extra, s.value, timeMs));
    }
  }
  return out;
}

export function createRemoteWriteExporter(options: RemoteWriteExporterOptions): RemoteWriteExporter {
  const timeoutMs = options.timeoutMs ?? 10_000;
  let requests = 0;
  let retries = 0;
  const statuses: Record<string, number> = {};
  let closing = false;

  const send = async (batch: RemoteWriteSeries[]): Promise<BatchResult> => {
    const body = snappy.compress(encodeWriteRequest(batch));
    const deadline = Date.now() + timeoutMs;
    let backoff = INITIAL_BACKOFF_MS;
    for (let attempt = 1; ; attempt++) {
      requests++;
      let status = 0;
      let retryAfter: number | undefined;
      let error: unknown;
      try {
        const res = await fetch(options.url, {
          method: 'POST',
          body,
          headers: {
            ...(options.headers ?? {}),
            'Content-Encoding': 'snappy',
            'Content-Type': 'application/x-protobuf',
            'User-Agent': 'maxpro-agent/0.1.0',
            'X-Prometheus-Remote-Write-Version': '0.1.0',
          },
          signal: AbortSignal.timeout(Math.max(1, deadline - Date.now())),
        });
        status = res.status;
        retryAfter = parseRetryAfterMs(res.headers.get('retry-after'));
        const text = await res.text();
        if (res.ok) {
          statuses[status] = (statuses[status] ?? 0) + 1;
          return { status: 'success' };
        }
        error = new Error(`remote write ${options.url}: HTTP ${status}: ${text.slice(0, 200)}`);
      } catch (err) {
        error = err;
      }
      statuses[status] = (statuses[status] ?? 0) + 1;
      const retryable = status === 0 || status === 429 || status >= 500;
      if (!retryable || attempt >= MAX_ATTEMPTS || closing) return { status: 'failure', error };
      const jittered = Math.min(backoff * (1 + (Math.random() * 2 - 1) * JITTER), MAX_BACKOFF_MS);
      const wait = retryAfter ?? jittered;
      if (Date.now() + wait >= deadline) return { status: 'failure', error };
      retries++;
      await new Promise((r) => setTimeout(r, wait).unref());
      backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
    }
  };

  const queue = createExportQueue<RemoteWriteSeries>({
    exportBatch: send,
    maxQueueSize: options.queueSize ?? 8192,
    maxBatchSize: options.batchSize ?? 512,
    flushIntervalMs: options.flushIntervalMs ?? 1000,
    ...(options.onError ? { onError: options.onError } : {}),
  });

  return {
    addSnapshot(families, timeMs = Date.now()) {
      let dropped = 0;
      for (const s of familiesToSeries(families, timeMs, options.externalLabels)) if (!queue.add(s)) dropped++;
      return dropped;
    },
    forceFlush: () => queue.forceFlush(),
    async shutdown(deadlineMs = 5000) {
      closing = true;
      await queue.shutdown(deadlineMs);
    },
    stats: () => ({ series: queue.stats(), requests, retries, statuses: { ...statuses } }),
  };
}
