// SPDX-License-Identifier: Apache-2.0
// The Prometheus text writer: escaping rules, histogram shape, and promtool's verdict.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createMetricRegistry, escapeHelp, escapeLabelValue, formatValue } from '../../../src/exporters/prometheus/index.js';
import { createLogLinearHistogram, recordValue, toPrometheusBuckets } from '../../../src/lib/histogram/index.js';

const PROMTOOL = '/usr/bin/promtool';

function sample() {
  const reg = createMetricRegistry();
  const c = reg.counter('maxpro_test_events_total', 'Events with a \\ backslash\nand a newline.', ['kind', 'path']);
  c.set({ kind: 'a"quoted"', path: 'C:\\dir\nline2' }, 3);
  c.set({ kind: 'plain', path: '' }, 0);
  const g = reg.gauge('maxpro_test_level', 'A gauge without labels.');
  g.set({}, -1.5);
  const h = reg.histogram('maxpro_test_latency_seconds', 'Latency.', ['direction']);
  const lh = createLogLinearHistogram();
  for (const v of [2_000, 30_000, 30_500, 4e6]) recordValue(lh, v);
  h.set({ direction: 'client' }, {
    buckets: toPrometheusBuckets(lh).map((b) => ({ le: b.le / 1e9, count: b.count })), sum: lh.sum / 1e9, count: lh.count,
  });
  return reg;
}

describe('prometheus text format', () => {
  test('escapes HELP text and label values as the format requires', () => {
    assert.equal(escapeHelp('a\\b\nc"d'), 'a\\\\b\\nc"d');
    assert.equal(escapeLabelValue('a\\b\nc"d'), 'a\\\\b\\nc\\"d');
    assert.equal(formatValue(Infinity), '+Inf');
    assert.equal(formatValue(-Infinity), '-Inf');
    assert.equal(formatValue(NaN), 'NaN');
    assert.equal(formatValue(42), '42');
  });

  test('renders families with HELP, TYPE, histogram buckets, _sum and _count', () => {
    const text = sample().render();
    assert.match(text, /^# HELP maxpro_test_events_total Events with a \\\\ backslash\\nand a newline\.$/m);
    assert.match(text, /^# TYPE maxpro_test_events_total counter$/m);
    assert.match(text, /^maxpro_test_events_total\{kind="a\\"quoted\\"",path="C:\\\\dir\\nline2"\} 3$/m);
    assert.match(text, /^maxpro_test_level -1.5$/m);
    assert.match(text, /^maxpro_test_latency_seconds_bucket\{direction="client",le="\+Inf"\} 4$/m);
    assert.match(text, /^maxpro_test_latency_seconds_count\{direction="client"\} 4$/m);
    assert.match(text, /^maxpro_test_latency_seconds_bucket\{direction="client",le="0.000032768"\} 3$/m);
  });

  test('refuses what the format cannot express', () => {
    const reg = createMetricRegistry();
    assert.throws(() => reg.counter('maxpro_bad', 'no _total suffix'), { code: 'MAXPRO_ERR_INVALID_ARGUMENT' });
    assert.throws(() => reg.gauge('1bad', 'x'), { code: 'MAXPRO_ERR_INVALID_ARGUMENT' });
    assert.throws(() => reg.gauge('maxpro_x', 'x', ['__reserved']), { code: 'MAXPRO_ERR_INVALID_ARGUMENT' });
    const g = reg.gauge('maxpro_ok', 'x', ['a']);
    assert.throws(() => g.set({ b: '1' }, 1), { code: 'MAXPRO_ERR_INVALID_ARGUMENT' });
    assert.throws(() => reg.gauge('maxpro_ok', 'again'), { code: 'MAXPRO_ERR_INVALID_ARGUMENT' });
    const h = reg.histogram('maxpro_h', 'x');
    assert.throws(() => h.set({}, { buckets: [{ le: 1, count: 2 }], sum: 1, count: 2 }), { code: 'MAXPRO_ERR_INVALID_ARGUMENT' });
    assert.throws(() => h.set({}, { buckets: [{ le: 1, count: 2 }, { le: Infinity, count: 1 }], sum: 1, count: 1 }), { code: 'MAXPRO_ERR_INVALID_ARGUMENT' });
  });

  test('promtool check metrics accepts the output', { skip: existsSync(PROMTOOL) ? false : `${PROMTOOL} is not installed` }, () => {
    const res = spawnSync(PROMTOOL, ['check', 'metrics'], { input: sample().render(), encoding: 'utf8' });
    assert.equal(res.status, 0, `${res.stdout}${res.stderr}`);
    // The linter checks naming too: a counter without _total would be reported.
    const bad = spawnSync(PROMTOOL, ['check', 'metrics'], { input: '# HELP x_seconds y\n# TYPE x_seconds counter\nx_seconds 1\n', encoding: 'utf8' });
    assert.notEqual(bad.status, 0);
  });
});
