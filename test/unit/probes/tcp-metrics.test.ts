// SPDX-License-Identifier: Apache-2.0
// TCP aggregates as Prometheus families: labels, the series cap with its overflow series, and valid exposition.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createTcpMetrics } from '../../../src/probes/tcp/tcp-metrics.js';
import type { TcpMetricsOptions } from '../../../src/probes/tcp/tcp-metrics.js';
import { TCP_AGG_COUNTERS, TCP_GLOBAL_COUNTERS } from '../../../src/probes/tcp/tcp-aggregates.js';
import type { TcpAggregate } from '../../../src/probes/tcp/tcp-aggregates.js';
import { createMetricRegistry } from '../../../src/exporters/prometheus/index.js';
import { createLogLinearHistogram, recordValue } from '../../../src/lib/histogram/index.js';

function agg(cgroupId: bigint, dir: 'client' | 'server', opens: number, latencyNs: number): TcpAggregate {
  const counters = Object.fromEntries(TCP_AGG_COUNTERS.map((c) => [c, 0])) as TcpAggregate['counters'];
  counters.opens = opens;
  const handshake = createLogLinearHistogram();
  for (let i = 0; i < opens; i++) recordValue(handshake, latencyNs);
  return { cgroupId, dir, portClass: 1, counters, handshake, rtt: createLogLinearHistogram(), lifetime: createLogLinearHistogram() };
}

function fakeProbe(aggs: TcpAggregate[]): TcpMetricsOptions['probe'] {
  return {
    portClassNames: ['other', 'https'],
    aggregates: () => aggs,
    globals: () => Object.fromEntries(TCP_GLOBAL_COUNTERS.map((c) => [c, 0])) as ReturnType<TcpMetricsOptions['probe']['globals']>,
    dropReasons: () => [{ reason: 40, name: 'tcp_listen_overflow', count: 3, syns: 0 }],
    resetReasons: () => [{ reason: 1, name: 'no_socket', count: 2 }],
    stats: () => ({
      records: 0, undecodable: 0, handlerErrors: 0, readerDrops: 0,
      kernelDrops: { ringbuf_full: 1n, output_failed: 0n, helper_failed: 0n, map_full: 0n },
      reader: { records: 0, batches: 0, bytes: 0, queueDrops: 0, oversizeDrops: 0, callbackErrors: 0 },
    }),
  };
}

const identify = (id: bigint): { container: string; pod: string; namespace: string } => ({ container: `c${id}`, pod: `p${id}`, namespace: 'ns"1' });

describe('tcp metrics', () => {
  test('series past the cap fold into one overflow series per direction, and are counted', () => {
    const registry = createMetricRegistry();
    const aggs = [agg(1n, 'client', 5, 20_000), agg(2n, 'client', 7, 40_000), agg(3n, 'client', 11, 80_000), agg(4n, 'server', 2, 5_000)];
    const m = createTcpMetrics({ probe: fakeProbe(aggs), registry, maxSeries: 2, identify });
    m.collect();
    const text = registry.render();
    assert.match(text, /maxpro_tcp_connections_opened_total\{direction="client",container="c1",pod="p1",namespace="ns\\"1",port_class="https",maxpro_overflow=""\} 5/);
    assert.match(text, /maxpro_tcp_connections_opened_total\{direction="client",container="",pod="",namespace="",port_class="",maxpro_overflow="true"\} 11/);
    assert.match(text, /maxpro_tcp_connections_opened_total\{direction="server",container="",pod="",namespace="",port_class="",maxpro_overflow="true"\} 2/);
    assert.match(text, /^maxpro_tcp_overflow_aggregates 2$/m);
    assert.match(text, /maxpro_tcp_handshake_duration_seconds_count\{direction="client",container="c2",pod="p2",namespace="ns\\"1",port_class="https",maxpro_overflow=""\} 7/);
    assert.match(text, /maxpro_tcp_segment_drops_total\{reason="tcp_listen_overflow"\} 3/);
    assert.match(text, /maxpro_tcp_probe_lost_records_total 1/);
    assert.equal(m.limiter.stats().series, 2);
    if (existsSync('/usr/bin/promtool')) {
      const res = spawnSync('/usr/bin/promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
      assert.equal(res.status, 0, res.stdout + res.stderr);
    }
  });

  test('turned-off labels merge aggregates', () => {
    const registry = createMetricRegistry();
    const aggs = [agg(1n, 'client', 5, 20_000), agg(2n, 'client', 7, 40_000)];
    createTcpMetrics({ probe: fakeProbe(aggs), registry, labels: ['namespace'], identify }).collect();
    const text = registry.render();
    assert.match(text, /maxpro_tcp_connections_opened_total\{direction="client",namespace="ns\\"1",maxpro_overflow=""\} 12/);
    assert.match(text, /maxpro_tcp_handshake_duration_seconds_count\{direction="client",namespace="ns\\"1",maxpro_overflow=""\} 12/);
    assert.throws(() => createTcpMetrics({ probe: fakeProbe([]), registry: createMetricRegistry(), labels: ['node' as 'pod'] }), { code: 'MAXPRO_ERR_INVALID_ARGUMENT' });
  });
});
