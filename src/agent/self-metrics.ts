// SPDX-License-Identifier: Apache-2.0
/**
 * The agent's own runtime metrics, the Node counterpart of Go's
 * runtime-metrics bridge: CPU and RSS, event-loop delay
 * (perf_hooks.monitorEventLoopDelay), GC pauses by kind, and the V8 heap.
 */
import { PerformanceObserver, constants as perfConstants, monitorEventLoopDelay } from 'node:perf_hooks';
import type { IntervalHistogram } from 'node:perf_hooks';
import v8 from 'node:v8';
import { availableParallelism } from 'node:os';
import type { MetricFamily, MetricsSource } from '../lib/metric-family.js';

const GC_KINDS: Record<number, string> = {
  [perfConstants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
  [perfConstants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
  [perfConstants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [perfConstants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
};

/** GC pause bounds, seconds. */
const GC_BOUNDS = [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];

interface GcHist { counts: number[]; sum: number; count: number }

export interface SelfMetrics extends MetricsSource {
  /** CPU use of this process over the last `collect()` interval, percent of the machine. */
  cpuPercentOfMachine(): number;
  close(): void;
}

export function createSelfMetrics(): SelfMetrics {
  const loop: IntervalHistogram = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const gc = new Map<string, GcHist>();
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = GC_KINDS[(e as unknown as { detail?: { kind?: number } }).detail?.kind ?? -1] ?? 'other';
      let h = gc.get(kind);
      if (!h) gc.set(kind, h = { counts: new Array(GC_BOUNDS.length).fill(0), sum: 0, count: 0 });
      const s = e.duration / 1000;
      h.sum += s;
      h.count++;
      for (let i = 0; i < GC_BOUNDS.length; i++) if (s <= GC_BOUNDS[i]!) h.counts[i]!++;
    }
  });
  obs.observe({ entryTypes: ['gc'] });
  const ncpu = Math.max(1, availableParallelism());
  const startTimeS = (Date.now() - process.uptime() * 1000) / 1000;
  let lastCpu = process.cpuUsage();
  let lastAt = performance.now();
  let lastPct = 0;

  const cpuPct = (): number => {
    const now = performance.now();
    const cpu = process.cpuUsage();
    const dt = now - lastAt;
    if (dt >= 200) {
      lastPct = (((cpu.user - lastCpu.user) + (cpu.system - lastCpu.system)) / 1000 / dt / ncpu) * 100;
      lastCpu = cpu;
      lastAt = now;
    }
    return lastPct;
  };

  return {
    cpuPercentOfMachine: cpuPct,
    collect(): MetricFamily[] {
      const cpu = process.cpuUsage();
      const mem = process.memoryUsage();
      const heap = v8.getHeapStatistics();
      const spaces = v8.getHeapSpaceStatistics();
      const q = (p: number): number => (loop.count ? loop.percentile(p) / 1e9 : 0);
      return [
        { name: 'maxpro_agent_start_time_seconds', type: 'gauge', help: 'Unix time the agent process started: counters without a start time of their own count from it.', unit: 'seconds', samples: [{ labels: {}, value: startTimeS }] },
        { name: 'maxpro_agent_cpu_seconds', type: 'counter', help: 'CPU time used by the agent, by mode.', unit: 'seconds', samples: [
          { labels: { mode: 'user' }, value: cpu.user / 1e6 }, { labels: { mode: 'system' }, value: cpu.system / 1e6 },
        ] },
        { name: 'maxpro_agent_cpu_machine_ratio', type: 'gauge', help: 'Agent CPU use over the last interval as a fraction of all CPUs.', samples: [{ labels: {}, value: cpuPct() / 100 }] },
        { name: 'maxpro_agent_resident_memory_bytes', type: 'gauge', help: 'Resident set size of the agent.', unit: 'bytes', samples: [{ labels: {}, value: mem.rss }] },
        { name: 'maxpro_nodejs_eventloop_delay_seconds', type: 'gauge', help: 'Event-loop delay since start (perf_hooks.monitorEventLoopDelay), by statistic.', unit: 'seconds', samples: [
          { labels: { stat: 'p50' }, value: q(50) }, { labels: { stat: 'p90' }, value: q(90) }, { labels: { stat: 'p99' }, value: q(99) },
          { labels: { stat: 'max' }, value: loop.count ? loop.max / 1e9 : 0 }, { labels: { stat: 'mean' }, value: loop.count ? loop.mean / 1e9 : 0 },
        ] },
        { name: 'maxpro_nodejs_gc_pause_seconds', type: 'histogram', help: 'Garbage-collection pauses by kind.', unit: 'seconds', samples: [...gc].map(([kind, h]) => ({
          labels: { kind },
          buckets: [...GC_BOUNDS.map((le, i) => ({ le, count: h.counts[i]! })), { le: Infinity, count: h.count }],
          sum: h.sum, count: h.count,
        })) },
        { name: 'maxpro_nodejs_heap_bytes', type: 'gauge', help: 'V8 heap, by measure.', unit: 'bytes', samples: [
          { labels: { measure: 'used' }, value: heap.used_heap_size }, { labels: { measure: 'total' }, value: heap.total_heap_size },
          { labels: { measure: 'limit' }, value: heap.heap_size_limit }, { labels: { measure: 'external' }, value: mem.external },
          { labels: { measure: 'array_buffers' }, value: mem.arrayBuffers },
        ] },
        { name: 'maxpro_nodejs_heap_space_used_bytes', type: 'gauge', help: 'V8 heap space in use, by space.', unit: 'bytes',
          samples: spaces.map((s) => ({ labels: { space: s.space_name }, value: s.space_used_size })) },
      ];
    },
    close() {
      loop.disable();
      obs.disconnect();
    },
  };
}
