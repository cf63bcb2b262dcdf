// SPDX-License-Identifier: Apache-2.0
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatUpSummary } from '../../../src/cli/up-summary.js';
import type { MetricFamily } from '../../../src/lib/metric-family.js';

test('up summary: TCP leads with the connections its aggregates observed, not the filtered records', () => {
  const fams: MetricFamily[] = [
    { name: 'maxpro_tcp_connections_opened', type: 'counter', help: '', samples: [
      { labels: { direction: 'client', port_class: 'http' }, value: 200 },
      { labels: { direction: 'server', port_class: 'http-otlp' }, value: 12 },
    ] },
    { name: 'maxpro_probe_lost_events', type: 'counter', help: '', samples: [{ labels: { probe: 'process', where: 'kernel' }, value: 2 }] },
    { name: 'maxpro_probe_loaded', type: 'gauge', help: '', samples: [
      { labels: { probe: 'process' }, value: 1 }, { labels: { probe: 'tcp' }, value: 1 }, { labels: { probe: 'sysenter' }, value: 0 },
    ] },
    { name: 'maxpro_agent_resident_memory_bytes', type: 'gauge', help: '', samples: [{ labels: {}, value: 64 * 2 ** 20 }] },
  ];
  const line = formatUpSummary(new Date('2026-01-01T10:11:12Z'), {
    events: { process: { received: 5, kept: 4, dropped: { sampled: 1 } }, tcp: { received: 0, kept: 0, dropped: {} },
      // Off in the config: not in the line.
      sysenter: { received: 0, kept: 0, dropped: {} } },
    reloads: { ok: 0, failed: 0 },
  }, fams, { logs: 4, metrics: 9 });
  assert.equal(line, '10:11:12 process 5 in/4 kept/1 filtered, lost 2 | tcp 212 connections, records 0 in/0 kept/0 filtered, lost 0'
    + ' | export queue 0 dropped 0 | rss 64 MiB | collector logs 4 metrics 9');
});
