// SPDX-License-Identifier: Apache-2.0
/** The periodic one-line summary of `maxpro up`. */
import type { AgentStats } from '../agent/agent.js';
import type { MetricFamily } from '../lib/metric-family.js';
import { probeModule } from '../probes/registry.js';

/** The sum of a counter or gauge family's samples whose labels include `labels`; 0 when absent. */
export function familySum(fams: readonly MetricFamily[], name: string, labels: Record<string, string> = {}): number {
  const f = fams.find((x) => x.name === name);
  if (!f || f.type === 'histogram') return 0;
  return f.samples.filter((x) => Object.entries(labels).every(([k, v]) => x.labels[k] === v)).reduce((sum, x) => sum + x.value, 0);
}

/**
 * `HH:MM:SS process 3 in/3 kept/0 filtered, lost 0 | tcp 212 connections, 0 records in/… | …`.
 * A probe whose records are filtered in the kernel while its aggregates
 * count everything (TCP) leads with what the aggregates observed (its
 * module's `upSummary`).
 */
export function formatUpSummary(at: Date, stats: AgentStats, fams: readonly MetricFamily[], collector?: { logs: number; metrics: number }): string {
  const loaded = fams.find((f) => f.name === 'maxpro_probe_loaded');
  // A probe that is not loaded and counted nothing (off in the config) has nothing to say.
  const silent = (p: string, received: number): boolean => received === 0 && loaded?.type !== 'histogram'
    && loaded?.samples.some((x) => x.labels.probe === p && x.value === 0) === true;
  const parts = Object.entries(stats.events).filter(([p, e]) => !silent(p, e.received)).map(([p, e]) => {
    const dropped = Object.values(e.dropped).reduce((x, y) => x + y, 0);
    const records = `${e.received} in/${e.kept} kept/${dropped} filtered, lost ${familySum(fams, 'maxpro_probe_lost_events', { probe: p })}`;
    const lead = probeModule(p)?.upSummary;
    return lead ? `${p} ${familySum(fams, lead.family)} ${lead.noun}, records ${records}` : `${p} ${records}`;
  });
  const rss = familySum(fams, 'maxpro_agent_resident_memory_bytes') / 2 ** 20;
  return `${at.toISOString().slice(11, 19)} ${parts.join(' | ')} | export queue ${familySum(fams, 'maxpro_export_queue_depth')}`
    + ` dropped ${familySum(fams, 'maxpro_export_dropped_items')} | rss ${rss.toFixed(0)} MiB`
    + `${collector ? ` | collector logs ${collector.logs} metrics ${collector.metrics}` : ''}`;
}
