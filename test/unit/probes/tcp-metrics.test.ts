// SPDX-License-Identifier: Apache-2.0
// TCP aggregates as metric families: names, labels, the series cap with its overflow series and idle expiry, and valid exposition.
// The agent exports through the same mapping (probes/tcp/tcp-source.ts).
import { describe, mock, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createTcpMetrics } from '../../../src/probes/tcp/tcp-metrics.js';
import type { TcpMetricsOptions } from '../../../src/probes/tcp/tcp-metrics.js';
import { TCP_AGG_COUNTERS, TCP_GLOBAL_COUNTERS } from '../../../src/probes/tcp/tcp-aggregates.js';
import type { TcpAggregate } from '../../../src/probes/tcp/tcp-aggregates.js';
import { renderExposition } from '../../../src/exporters/openmetrics/exposition.js';
import { createLogLinearHistogram, recordValue } from '../../../src/lib/histogram/index.js';
import { PROMTOOL_BIN, promtoolCheckMetrics } from '../../helpers/prometheus.js';

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
      kernelDrops: { ringbuf_full: 1n, output_failed: 0n, helper_failed: 0n, map_full: 0n, bpf_recursion: 0n },
      reader: { records: 0, batches: 0, bytes: 0, queueDrops: 0, oversizeDrops: 0, callbackErrors: 0 },
    }),
  };
}

const identify = (id: bigint): { container: string; pod: string; namespace: string } => ({ container: `c${id}`, pod: `p${id}`, namespace: 'ns"1' });

/** `# TYPE` lines of an exposition: every family's name and type, in order. */
const typeLines = (text: string): string[] => text.split('\n').filter((l) => l.startsWith('# TYPE '));

describe('tcp metrics', () => {
  test('family names and types are the ones docs/tcp.md lists', () => {
    const text = renderExposition(createTcpMetrics({ probe: fakeProbe([agg(1n, 'client', 1, 20_000)]) }).collect(), 'prometheus');
    assert.deepEqual(typeLines(text), [
      '# TYPE maxpro_tcp_handshake_duration_seconds histogram',
      '# TYPE maxpro_tcp_rtt_seconds histogram',
      '# TYPE maxpro_tcp_connection_duration_seconds histogram',
      ...['connections_opened', 'connect_failures', 'connections_closed', 'close_errors', 'resets_received', 'retransmits', 'syn_retransmits',
        'synack_retransmits', 'drops', 'listen_overflows', 'sent_bytes', 'received_bytes', 'segment_drops', 'syn_drops', 'resets_sent',
        'node_events', 'probe_lost_records'].map((n) => `# TYPE maxpro_tcp_${n}_total counter`),
      '# TYPE maxpro_tcp_overflow_aggregates gauge',
    ]);
    assert.match(text, /^# HELP maxpro_tcp_handshake_duration_seconds TCP handshake time: on clients connect\(\) \(or the SYN\) to ESTABLISHED, on servers SYN-ACK to ACK\.$/m);
    assert.match(text, /^# HELP maxpro_tcp_connections_opened_total TCP handshakes completed \(connects on clients, accepts on servers\)\.$/m);
  });

  test('series past the cap fold into one overflow series per direction, and are counted', () => {
    const aggs = [agg(1n, 'client', 5, 20_000), agg(2n, 'client', 7, 40_000), agg(3n, 'client', 11, 80_000), agg(4n, 'server', 2, 5_000)];
    const m = createTcpMetrics({ probe: fakeProbe(aggs), maxSeries: 2, identify });
    const families = m.collect();
    const text = renderExposition(families, 'prometheus');
    assert.match(text, /maxpro_tcp_connections_opened_total\{direction="client",container="c1",pod="p1",namespace="ns\\"1",port_class="https",maxpro_overflow=""\} 5/);
    assert.match(text, /maxpro_tcp_connections_opened_total\{direction="client",container="",pod="",namespace="",port_class="",maxpro_overflow="true"\} 11/);
    assert.match(text, /maxpro_tcp_connections_opened_total\{direction="server",container="",pod="",namespace="",port_class="",maxpro_overflow="true"\} 2/);
    assert.match(text, /^maxpro_tcp_overflow_aggregates 2$/m);
    assert.match(text, /maxpro_tcp_handshake_duration_seconds_count\{direction="client",container="c2",pod="p2",namespace="ns\\"1",port_class="https",maxpro_overflow=""\} 7/);
    assert.match(text, /maxpro_tcp_segment_drops_total\{reason="tcp_listen_overflow"\} 3/);
    assert.match(text, /maxpro_tcp_resets_sent_total\{reason="no_socket"\} 2/);
    assert.match(text, /maxpro_tcp_probe_lost_records_total 1/);
    assert.equal(m.limiter.stats().series, 2);
    // Histograms are well formed: cumulative, ending at +Inf with the count.
    for (const f of families) {
      if (f.type !== 'histogram') continue;
      for (const s of f.samples) {
        assert.equal(s.buckets.at(-1)?.le, Infinity);
        assert.equal(s.buckets.at(-1)?.count, s.count);
        for (let i = 1; i < s.buckets.length; i++) assert.ok(s.buckets[i]!.count >= s.buckets[i - 1]!.count && s.buckets[i]!.le > s.buckets[i - 1]!.le);
      }
    }
    if (existsSync(PROMTOOL_BIN)) {
      const r = promtoolCheckMetrics(text);
      assert.equal(r.status, 0, `${r.output}\n${text}`);
    }
  });

  test('each collection replaces every series: nothing from the previous one is left', () => {
    const aggs = [agg(1n, 'client', 5, 20_000)];
    const m = createTcpMetrics({ probe: fakeProbe(aggs), identify });
    assert.equal(m.collect().find((f) => f.name === 'maxpro_tcp_connections_opened')?.samples.length, 1);
    aggs.length = 0;
    assert.equal(m.collect().find((f) => f.name === 'maxpro_tcp_connections_opened')?.samples.length, 0);
  });

  test('label sets idle for 10 minutes are forgotten, making room under the cap', () => {
    mock.timers.enable({ apis: ['Date'], now: 0 });
    try {
      const aggs = [agg(1n, 'client', 5, 20_000)];
      const m = createTcpMetrics({ probe: fakeProbe(aggs), maxSeries: 1, identify });
      const opened = (): string[] => renderExposition(m.collect(), 'prometheus').split('\n').filter((l) => l.startsWith('maxpro_tcp_connections_opened_total'));
      assert.deepEqual(opened(), ['maxpro_tcp_connections_opened_total{direction="client",container="c1",pod="p1",namespace="ns\\"1",port_class="https",maxpro_overflow=""} 5']);
      aggs[0] = agg(2n, 'client', 3, 20_000);
      mock.timers.tick(5 * 60_000);
      assert.deepEqual(opened(), ['maxpro_tcp_connections_opened_total{direction="client",container="",pod="",namespace="",port_class="",maxpro_overflow="true"} 3']);
      // The sweep runs after a collection's admissions, so c1's slot frees for the collection after.
      mock.timers.tick(10 * 60_000);
      opened();
      assert.equal(m.limiter.stats().expired, 1);
      assert.deepEqual(opened(), ['maxpro_tcp_connections_opened_total{direction="client",container="c2",pod="p2",namespace="ns\\"1",port_class="https",maxpro_overflow=""} 3']);
    } finally {
      mock.timers.reset();
    }
  });

  test('turned-off labels merge aggregates', () => {
    const aggs = [agg(1n, 'client', 5, 20_000), agg(2n, 'client', 7, 40_000)];
    const text = renderExposition(createTcpMetrics({ probe: fakeProbe(aggs), labels: ['namespace'], identify }).collect(), 'prometheus');
    assert.match(text, /maxpro_tcp_connections_opened_total\{direction="client",namespace="ns\\"1",maxpro_overflow=""\} 12/);
    assert.match(text, /maxpro_tcp_handshake_duration_seconds_count\{direction="client",namespace="ns\\"1",maxpro_overflow=""\} 12/);
    assert.throws(() => createTcpMetrics({ probe: fakeProbe([]), labels: ['node' as 'pod'] }), { code: 'MAXPRO_ERR_INVALID_ARGUMENT' });
  });

  test('OpenMetrics: the same families, counters typed without _total', () => {
    const om = renderExposition(createTcpMetrics({ probe: fakeProbe([agg(1n, 'server', 2, 5_000)]), identify }).collect(), 'openmetrics');
    assert.match(om, /^# TYPE maxpro_tcp_connections_opened counter$/m);
    assert.match(om, /^maxpro_tcp_connections_opened_total\{direction="server",container="c1",pod="p1",namespace="ns\\"1",port_class="https",maxpro_overflow=""\} 2$/m);
    assert.ok(om.endsWith('# EOF\n'));
  });
});

describe('tcp metrics: the agent\'s options', () => {
  test('pod labels as label_<key>: empty where the pod lacks one; folded into the overflow series; clashing names refused', () => {
    const aggs = [agg(1n, 'client', 3, 20_000), agg(2n, 'client', 2, 20_000), agg(3n, 'client', 1, 20_000)];
    const who = (id: bigint): { container: string; pod: string; namespace: string; labels?: Record<string, string> } => ({
      container: '', pod: `p${id}`, namespace: 'shop',
      ...(id === 1n ? { labels: { 'app': 'payment', 'app.kubernetes.io/name': 'checkout', 'unlisted': 'x' } } : id === 2n ? { labels: { app: 'batch' } } : {}),
    });
    const m = createTcpMetrics({ probe: fakeProbe(aggs), labels: ['pod'], podLabels: ['app', 'app.kubernetes.io/name'], maxSeries: 2, identify: who });
    const text = renderExposition(m.collect(), 'prometheus');
    assert.match(text, /^maxpro_tcp_connections_opened_total\{direction="client",pod="p1",label_app="payment",label_app_kubernetes_io_name="checkout",maxpro_overflow=""\} 3$/m);
    assert.match(text, /^maxpro_tcp_connections_opened_total\{direction="client",pod="p2",label_app="batch",label_app_kubernetes_io_name="",maxpro_overflow=""\} 2$/m);
    assert.match(text, /^maxpro_tcp_connections_opened_total\{direction="client",pod="",label_app="",label_app_kubernetes_io_name="",maxpro_overflow="true"\} 1$/m);
    assert.doesNotMatch(text, /unlisted/);
    if (existsSync(PROMTOOL_BIN)) assert.equal(promtoolCheckMetrics(text).status, 0);
    assert.throws(() => createTcpMetrics({ probe: fakeProbe([]), podLabels: ['a.b', 'a-b'] }),
      { code: 'MAXPRO_ERR_INVALID_ARGUMENT', message: /pod labels a\.b and a-b both become the metric label label_a_b/ });
  });

  test('cgroup label: the path, else the id; folded into the overflow series like the others', () => {
    const aggs = [agg(7n, 'client', 3, 20_000), agg(8n, 'client', 2, 20_000), agg(9n, 'client', 1, 20_000)];
    const who = (id: bigint): { container: string; pod: string; namespace: string; cgroupPath?: string } =>
      (id === 7n ? { container: 'c7', pod: '', namespace: '', cgroupPath: '/system.slice/db.service' } : { container: '', pod: '', namespace: '' });
    const m = createTcpMetrics({ probe: fakeProbe(aggs), labels: ['cgroup', 'port_class'], maxSeries: 2, identify: who });
    const opened = m.collect().find((f) => f.name === 'maxpro_tcp_connections_opened')?.samples.map((x) => x.labels);
    assert.deepEqual(opened, [
      { direction: 'client', cgroup: '/system.slice/db.service', port_class: 'https', maxpro_overflow: '' },
      { direction: 'client', cgroup: '8', port_class: 'https', maxpro_overflow: '' },
      { direction: 'client', cgroup: '', port_class: '', maxpro_overflow: 'true' },
    ]);
  });

  test('aggregates come from the override when given; machine-wide counters by kind', () => {
    const probe = { ...fakeProbe([agg(1n, 'client', 1, 20_000)]), globals: () => ({ ...fakeProbe([]).globals(), resetsSentNoSocket: 4 }) };
    const m = createTcpMetrics({ probe, identify, aggregates: () => [agg(2n, 'server', 6, 20_000)] });
    const text = renderExposition(m.collect(), 'prometheus');
    assert.match(text, /^maxpro_tcp_connections_opened_total\{direction="server",container="c2",pod="p2",namespace="ns\\"1",port_class="https",maxpro_overflow=""\} 6$/m);
    assert.doesNotMatch(text, /direction="client"/);
    assert.match(text, /^maxpro_tcp_node_events_total\{kind="resets_sent_no_socket"\} 4$/m);
    assert.equal(text.match(/^maxpro_tcp_node_events_total/gm)?.length, TCP_GLOBAL_COUNTERS.length);
  });
});
