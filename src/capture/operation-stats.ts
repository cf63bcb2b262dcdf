// SPDX-License-Identifier: Apache-2.0
/** Per (service, operation) counts, errors and latency percentiles of spans, with bounded samples. */
import type { StoredSpan } from '../collector/span-store.js';

export interface OperationFigures {
  service: string;
  operation: string;
  count: number;
  errors: number;
  p50Ms: number;
  p99Ms: number;
  /** True when latencies come from a sample of the spans (more than `maxSamples`). */
  sampled: boolean;
}

export interface OperationStats {
  add(s: StoredSpan): void;
  /** By count, descending. */
  rows(): OperationFigures[];
}

export const operationKey = (service: string, operation: string): string => `${service}\u0000${operation}`;

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}

/** `maxSamples` latencies are kept per operation (reservoir sampling past it). */
export function createOperationStats(maxSamples = 10_000): OperationStats {
  const ops = new Map<string, { service: string; operation: string; count: number; errors: number; ms: number[] }>();
  let seed = 0x9e3779b9;
  const rand = (): number => {
    seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5;
    return (seed >>> 0) / 2 ** 32;
  };
  return {
    add(s) {
      const key = operationKey(s.service, s.name);
      let o = ops.get(key);
      if (!o) ops.set(key, o = { service: s.service, operation: s.name, count: 0, errors: 0, ms: [] });
      o.count++;
      if (s.status.code === 2) o.errors++;
      const ms = s.durationNs / 1e6;
      if (o.ms.length < maxSamples) o.ms.push(ms);
      else {
        const i = Math.floor(rand() * o.count);
        if (i < maxSamples) o.ms[i] = ms;
      }
    },
    rows() {
      return [...ops.values()].map((o) => {
        const sorted = o.ms.slice().sort((a, b) => a - b);
        return { service: o.service, operation: o.operation, count: o.count, errors: o.errors, p50Ms: percentile(sorted, 0.5), p99Ms: percentile(sorted, 0.99), sampled: o.count > o.ms.length };
      }).sort((a, b) => b.count - a.count || a.service.localeCompare(b.service) || a.operation.localeCompare(b.operation));
    },
  };
}
