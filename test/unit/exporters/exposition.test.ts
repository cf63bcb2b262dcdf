// SPDX-License-Identifier: Apache-2.0
// The exposition writer: escaping, names, histogram and counter shape in both formats, and promtool's verdict.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import {
  escapeHelp, escapeLabelValue, formatValue, renderExposition, sanitizeLabelName, sanitizeMetricName,
} from '../../../src/exporters/openmetrics/exposition.js';
import type { MetricFamily } from '../../../src/lib/metric-family.js';
import { createLogLinearHistogram, recordValue, toPrometheusBuckets } from '../../../src/lib/histogram/index.js';
import { PROMTOOL_BIN, promtoolCheckMetrics } from '../../helpers/prometheus.js';

const PROMTOOL_SKIP = existsSync(PROMTOOL_BIN) ? false : `${PROMTOOL_BIN} is not installed`;

/** Label values a workload can put in a pod or path name: quote, backslash, newline, UTF-8. */
const HOSTILE = ['a"quoted"', 'C:\\dir\nline2', 'grüße ✓ 😀', 'all "\\\n" together', ''];

function sample(): MetricFamily[] {
  const lh = createLogLinearHistogram();
  for (const v of [2_000, 30_000, 30_500, 4e6]) recordValue(lh, v);
  return [
    {
      name: 'maxpro_test_events', type: 'counter', help: 'Events with a \\ backslash, a "quote"\nand a newline.',
      samples: HOSTILE.map((v, i) => ({ labels: { kind: v, idx: String(i) }, value: i })),
    },
    { name: 'maxpro_test_level', type: 'gauge', help: 'A gauge without labels.', samples: [{ labels: {}, value: -1.5 }] },
    {
      name: 'maxpro_test_latency_seconds', type: 'histogram', unit: 'seconds', help: 'Latency.',
      samples: [{
        labels: { direction: 'client', pod: HOSTILE[3]! },
        buckets: toPrometheusBuckets(lh).map((b) => ({ le: b.le / 1e9, count: b.count })), sum: lh.sum / 1e9, count: lh.count,
      }],
    },
  ];
}

describe('exposition', () => {
  test('escaping, values and names', () => {
    assert.equal(escapeLabelValue('a"b\\c\nd'), 'a\\"b\\\\c\\nd');
    assert.equal(escapeLabelValue('grüße ✓'), 'grüße ✓', 'UTF-8 passes through unescaped');
    // The text format escapes only backslash and newline in HELP; OpenMetrics also the quote.
    assert.equal(escapeHelp('a\\b\nc"d', 'prometheus'), 'a\\\\b\\nc"d');
    assert.equal(escapeHelp('a\\b\nc"d', 'openmetrics'), 'a\\\\b\\nc\\"d');
    assert.equal(sanitizeMetricName('1bad-name.x'), '_1bad_name_x');
    assert.equal(sanitizeLabelName('__reserved'), '_reserved');
    assert.equal(sanitizeLabelName('k8s.pod'), 'k8s_pod');
    assert.deepEqual([NaN, Infinity, -Infinity, 3, 42, 0.25, -1.5, 1e21].map(formatValue), ['NaN', '+Inf', '-Inf', '3', '42', '0.25', '-1.5', '1e+21']);
  });

  test('text format: HELP and TYPE, escaped label values, counters with _total, histograms with _bucket{le}, _sum and _count', () => {
    const text = renderExposition(sample(), 'prometheus');
    assert.match(text, /^# HELP maxpro_test_events_total Events with a \\\\ backslash, a "quote"\\nand a newline\.$/m);
    assert.match(text, /^# TYPE maxpro_test_events_total counter$/m);
    assert.ok(text.includes('maxpro_test_events_total{kind="a\\"quoted\\"",idx="0"} 0\n'), text);
    assert.ok(text.includes('maxpro_test_events_total{kind="C:\\\\dir\\nline2",idx="1"} 1\n'), text);
    assert.ok(text.includes('maxpro_test_events_total{kind="grüße ✓ 😀",idx="2"} 2\n'), text);
    assert.ok(text.includes('maxpro_test_events_total{kind="all \\"\\\\\\n\\" together",idx="3"} 3\n'), text);
    assert.match(text, /^maxpro_test_level -1.5$/m);
    assert.match(text, /^# TYPE maxpro_test_latency_seconds histogram$/m);
    const pod = 'pod="all \\"\\\\\\n\\" together"';
    assert.ok(text.includes(`maxpro_test_latency_seconds_bucket{direction="client",${pod},le="0.000032768"} 3\n`), text);
    assert.ok(text.includes(`maxpro_test_latency_seconds_bucket{direction="client",${pod},le="+Inf"} 4\n`), text);
    assert.ok(text.includes(`maxpro_test_latency_seconds_sum{direction="client",${pod}} 0.0040625\n`), text);
    assert.ok(text.includes(`maxpro_test_latency_seconds_count{direction="client",${pod}} 4\n`), text);
    // Every sample line is one line: no raw newline survives in a label value.
    for (const line of text.trimEnd().split('\n')) assert.match(line, /^(# (HELP|TYPE) \S+ .*|[a-z_]+(\{.*\})? \S+)$/, line);
  });

  test('a counter named with or without _total renders the same', () => {
    const fam = (name: string): MetricFamily[] => [{ name, type: 'counter', help: 'h', samples: [{ labels: { a: 'x' }, value: 5 }] }];
    for (const format of ['prometheus', 'openmetrics'] as const) {
      assert.equal(renderExposition(fam('c_total'), format), renderExposition(fam('c'), format));
    }
  });

  test('families of the same name merge under one TYPE line', () => {
    const t = renderExposition([
      { name: 'x', type: 'gauge', help: 'first', samples: [{ labels: { a: '1' }, value: 1 }] },
      { name: 'x', type: 'gauge', help: 'second', samples: [{ labels: { a: '2' }, value: 2 }] },
    ], 'prometheus');
    assert.equal(t, '# HELP x first\n# TYPE x gauge\nx{a="1"} 1\nx{a="2"} 2\n');
  });

  test('counters get _total; OpenMetrics writes le as floats and ends with # EOF', () => {
    const fams = [
      { name: 'c_total', type: 'counter' as const, help: 'h', samples: [{ labels: {}, value: 5 }] },
      { name: 'h', type: 'histogram' as const, help: 'h', samples: [{ labels: {}, buckets: [{ le: 1, count: 1 }, { le: Infinity, count: 2 }], sum: 3, count: 2 }] },
    ];
    assert.equal(renderExposition(fams, 'prometheus'), '# HELP c_total h\n# TYPE c_total counter\nc_total 5\n# HELP h h\n# TYPE h histogram\nh_bucket{le="1"} 1\nh_bucket{le="+Inf"} 2\nh_sum 3\nh_count 2\n');
    assert.equal(renderExposition(fams, 'openmetrics'), '# HELP c h\n# TYPE c counter\nc_total 5\n# HELP h h\n# TYPE h histogram\nh_bucket{le="1.0"} 1\nh_bucket{le="+Inf"} 2\nh_sum 3\nh_count 2\n# EOF\n');
  });

  test('OpenMetrics escapes the same hostile label values and the quote in HELP', () => {
    const om = renderExposition(sample(), 'openmetrics');
    assert.match(om, /^# HELP maxpro_test_events Events with a \\\\ backslash, a \\"quote\\"\\nand a newline\.$/m);
    assert.ok(om.includes('maxpro_test_events_total{kind="all \\"\\\\\\n\\" together",idx="3"} 3\n'), om);
    assert.ok(om.endsWith('# EOF\n'));
  });

  test('promtool check metrics accepts the text format with hostile label values and HELP text', { skip: PROMTOOL_SKIP }, () => {
    const text = renderExposition(sample(), 'prometheus');
    const r = promtoolCheckMetrics(text);
    assert.equal(r.status, 0, `${r.output}\n${text}`);
    // The linter checks naming too, so a passing run means something: a counter without _total is reported.
    const bad = promtoolCheckMetrics('# HELP x_seconds y\n# TYPE x_seconds counter\nx_seconds 1\n');
    assert.notEqual(bad.status, 0);
  });
});
