// SPDX-License-Identifier: Apache-2.0
// The exposition against real Prometheus tools: promtool, a scrape (OpenMetrics negotiated), remote_write.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createAgentHttpServer } from '../../../src/agent/http/agent-http-server.js';
import type { AgentHttpServer } from '../../../src/agent/http/agent-http-server.js';
import { negotiateFormat, renderExposition } from '../../../src/exporters/openmetrics/exposition.js';
import type { MetricFamily } from '../../../src/lib/metric-family.js';
import { createRemoteWriteExporter } from '../../../src/exporters/remote-write/remote-write-exporter.js';
import { prometheusSkip, promtoolCheckMetrics, startPrometheus } from '../../helpers/prometheus.js';
import type { PrometheusInstance } from '../../helpers/prometheus.js';

const NASTY = ['quote " inside', 'back\\slash', 'new\nline', 'utf-8: grüße ✓ 😀', 'all "\\\n" together'];

function families(): MetricFamily[] {
  return [
    {
      name: 'maxpro_test_requests', type: 'counter', help: 'Requests with a "quoted" word, a back\\slash\nand a second line.',
      samples: NASTY.map((v, i) => ({ labels: { value: v, idx: String(i) }, value: i + 1 })),
    },
    {
      name: 'maxpro_test_latency_seconds', type: 'histogram', help: 'A histogram.',
      samples: [{ labels: { path: '/a"b' }, buckets: [{ le: 0.1, count: 3 }, { le: 0.5, count: 7 }, { le: 1, count: 9 }, { le: Infinity, count: 10 }], sum: 4.25, count: 10 }],
    },
    { name: 'maxpro_test_temperature', type: 'gauge', help: 'A gauge.', samples: [{ labels: {}, value: 21.5 }, { labels: { room: 'ü' }, value: -3 }] },
  ];
}

describe('Prometheus exposition', { skip: prometheusSkip() }, () => {
  test('promtool check metrics passes on label values with ", \\, newlines and UTF-8', () => {
    const text = renderExposition(families(), 'prometheus');
    const r = promtoolCheckMetrics(text);
    assert.equal(r.status, 0, `${r.output}\n${text}`);
    assert.match(text, /^# HELP maxpro_test_requests_total Requests with a "quoted" word, a back\\\\slash\\nand a second line\.$/m);
    assert.match(text, /^# TYPE maxpro_test_requests_total counter$/m);
    assert.ok(text.includes('maxpro_test_requests_total{value="all \\"\\\\\\n\\" together",idx="4"} 5'), text);
    assert.ok(text.includes('maxpro_test_latency_seconds_bucket{path="/a\\"b",le="+Inf"} 10'));
    assert.ok(text.includes('maxpro_test_latency_seconds_sum{path="/a\\"b"} 4.25'));
    assert.ok(text.includes('maxpro_test_latency_seconds_count{path="/a\\"b"} 10'));
  });

  test('OpenMetrics is chosen from the Accept header Prometheus sends', () => {
    const prom242 = 'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';
    assert.equal(negotiateFormat(prom242), 'openmetrics');
    assert.equal(negotiateFormat('text/plain;version=0.0.4;q=1,application/openmetrics-text;q=0.5'), 'prometheus');
    assert.equal(negotiateFormat(undefined), 'prometheus');
    const om = renderExposition(families(), 'openmetrics');
    assert.match(om, /^# TYPE maxpro_test_requests counter$/m);
    assert.match(om, /^# HELP maxpro_test_requests Requests with a \\"quoted\\" word/m);
    assert.ok(om.endsWith('# EOF\n'));
  });

  describe('with a real Prometheus', () => {
    let prom: PrometheusInstance;
    let server: AgentHttpServer;
    before(async () => {
      server = await createAgentHttpServer({
        listen: '127.0.0.1:0', pprof: false, notReady: () => undefined, auth: { tokens: ['scrape-test-token'] },
        collect: () => families(),
      });
      prom = await startPrometheus([server.url.replace('http://', '')]);
    });
    after(async () => {
      await prom?.close();
      await server?.close();
    });

    test('a scrape stores every nasty label value exactly and the histogram counts', async () => {
      const r = await prom.waitFor('maxpro_test_requests_total', (x) => x.length === NASTY.length);
      assert.equal(r.length, NASTY.length, JSON.stringify(r));
      for (const s of r) {
        const i = Number(s.metric.idx);
        assert.equal(s.metric.value, NASTY[i]);
        assert.equal(Number(s.value[1]), i + 1);
      }
      const b = await prom.query('maxpro_test_latency_seconds_bucket');
      const byLe = Object.fromEntries(b.map((s) => [s.metric.le, Number(s.value[1])]));
      assert.deepEqual(byLe, { '0.1': 3, '0.5': 7, '1.0': 9, '+Inf': 10 });
      const [count] = await prom.query('maxpro_test_latency_seconds_count');
      assert.equal(Number(count!.value[1]), 10);
      const [q] = await prom.query('histogram_quantile(0.5, maxpro_test_latency_seconds_bucket)');
      assert.ok(Number(q!.value[1]) > 0.1 && Number(q!.value[1]) <= 0.5, JSON.stringify(q));
      const up = await prom.query('up{job="maxpro"}');
      assert.equal(up[0]?.value[1], '1');
    });

    test('remote_write lands in Prometheus and is queryable', async () => {
      const rw = createRemoteWriteExporter({ url: `${prom.url}/api/v1/write`, flushIntervalMs: 50, externalLabels: { job: 'maxpro-rw', instance: 'test' } });
      const now = Date.now();
      const fams: MetricFamily[] = [
        { name: 'maxpro_rw_events', type: 'counter', help: 'x', samples: [{ labels: { probe: 'tcp', odd: 'a"b\\c\nd ✓' }, value: 42 }] },
        { name: 'maxpro_rw_connect_seconds', type: 'histogram', help: 'y', samples: [{ labels: { probe: 'tcp' }, buckets: [{ le: 0.01, count: 2 }, { le: Infinity, count: 5 }], sum: 1.5, count: 5 }] },
      ];
      assert.equal(rw.addSnapshot(fams, now), 0);
      await rw.forceFlush();
      const s = rw.stats();
      assert.equal(s.series.exported, 5, JSON.stringify(s));
      assert.deepEqual(s.statuses, { 204: 1 });
      const r = await prom.waitFor('maxpro_rw_events_total{job="maxpro-rw"}', (x) => x.length === 1);
      assert.equal(Number(r[0]!.value[1]), 42);
      assert.equal(r[0]!.metric.odd, 'a"b\\c\nd ✓');
      const b = await prom.waitFor('maxpro_rw_connect_seconds_bucket{job="maxpro-rw"}', (x) => x.length === 2);
      assert.deepEqual(Object.fromEntries(b.map((x) => [x.metric.le, Number(x.value[1])])), { '0.01': 2, '+Inf': 5 });
      await rw.shutdown(1000);
    });

    test('remote_write to a path that refuses: no retry on 4xx, the series are counted as export_failed', async () => {
      const rw = createRemoteWriteExporter({ url: `${prom.url}/api/v1/nope`, flushIntervalMs: 50 });
      rw.addSnapshot([{ name: 'maxpro_rw_x', type: 'gauge', help: 'x', samples: [{ labels: {}, value: 1 }, { labels: { a: 'b' }, value: 2 }] }]);
      await rw.forceFlush();
      const s = rw.stats();
      assert.equal(s.retries, 0);
      assert.equal(s.series.dropped.export_failed, 2);
      assert.equal(s.series.exported, 0);
      await rw.shutdown(100);
    });
  });
});
