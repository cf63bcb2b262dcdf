// SPDX-License-Identifier: Apache-2.0
/**
 * The collector's RED series as detector inputs: for each service and
 * operation, five series per step — request rate, error ratio, and p50, p90,
 * p99 latency — read from the query API's `/api/red`. A step with no spans
 * is a gap for the error ratio and the latencies (there is nothing to
 * measure), and a rate of 0.
 */
import { InvalidArgumentError } from '../lib/errors.js';
import type { Series } from './series-reader.js';

export const RED_SIGNALS = ['rate', 'error_ratio', 'p50', 'p90', 'p99'] as const;
export type RedSignal = (typeof RED_SIGNALS)[number];

/** One bucket of `/api/red` (the fields this source reads). */
export interface RedBucket {
  startNs: string;
  count: number;
  rate: number;
  errorRatio: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
}

/** The part of the collector's query client this source needs. */
export interface RedClient {
  listServices(): Promise<string[]>;
  red(params: { service: string; operation?: string; start?: string; end?: string; step?: string }): Promise<{ series: { operation: string; buckets: RedBucket[] }[]; truncated: boolean }>;
}

export interface RedSeriesQuery {
  /** Services to read; default every service the collector knows. */
  services?: readonly string[];
  /** One operation; default each operation. The collector's all-operations series `*` is read only when asked for by name. */
  operation?: string;
  signals?: readonly RedSignal[];
  startMs: number;
  endMs: number;
  stepMs: number;
  /** Called for a service whose figures cover only part of the window (the collector's scan cap was hit). */
  onTruncated?(service: string): void;
}

/** A RED series: the labels name what an alert on it is about. */
export interface RedSeries extends Series {
  readonly labels: { service: string; operation: string; signal: RedSignal };
}

/** The value of one signal in a bucket; NaN when the bucket had no spans and the signal needs some. */
export function redValue(b: RedBucket, signal: RedSignal): number {
  if (signal === 'rate') return b.rate;
  if (b.count === 0) return NaN;
  switch (signal) {
    case 'error_ratio': return b.errorRatio;
    case 'p50': return b.p50Ms;
    case 'p90': return b.p90Ms;
    default: return b.p99Ms;
  }
}

export function parseRedSignals(raw: string): RedSignal[] {
  const out = raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
  for (const s of out) if (!(RED_SIGNALS as readonly string[]).includes(s)) throw new InvalidArgumentError(`signal "${s}" is not one of ${RED_SIGNALS.join(', ')}`);
  if (out.length === 0) throw new InvalidArgumentError(`give at least one signal of ${RED_SIGNALS.join(', ')}`);
  return out as RedSignal[];
}

export const redSeriesName = (l: RedSeries['labels']): string => `{service="${l.service}",operation="${l.operation}",signal="${l.signal}"}`;

/** Reads the RED series of the window; times are bucket starts, aligned on the step. */
export async function readRedSeries(client: RedClient, q: RedSeriesQuery): Promise<RedSeries[]> {
  if (!(q.stepMs >= 1) || !(q.endMs > q.startMs)) throw new InvalidArgumentError('RED window: a positive step and end after start are required');
  const signals = q.signals ?? RED_SIGNALS;
  const services = q.services ?? (await client.listServices());
  const out: RedSeries[] = [];
  for (const service of services) {
    const res = await client.red({
      service,
      ...(q.operation !== undefined ? { operation: q.operation } : {}),
      start: String(BigInt(Math.round(q.startMs)) * 1_000_000n),
      end: String(BigInt(Math.round(q.endMs)) * 1_000_000n),
      step: `${Math.round(q.stepMs)}ms`,
    });
    if (res.truncated) q.onTruncated?.(service);
    for (const s of res.series) {
      if (s.operation === '*' && q.operation !== '*') continue;
      const t = s.buckets.map((b) => Number(BigInt(b.startNs) / 1_000_000n));
      for (const signal of signals) {
        const labels = { service, operation: s.operation, signal };
        out.push({ name: redSeriesName(labels), labels, t, v: s.buckets.map((b) => redValue(b, signal)) });
      }
    }
  }
  return out;
}
