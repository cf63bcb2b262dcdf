// SPDX-License-Identifier: Apache-2.0
// `maxpro anomaly --prometheus` against a real Prometheus (Debian's binary):
// a series is backfilled with promtool into the test's storage, queried
// back with PromQL, and must give exactly the alerts the same series gives
// from a CSV file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { anomalyCommand } from '../../../src/cli/commands/anomaly.js';
import { prometheusSkip, startPrometheus } from '../../helpers/prometheus.js';

const STEP = 60_000;
const ROWS = 1500;

async function run(argv: string[]): Promise<{ code: number; out: string }> {
  const out = new PassThrough();
  let text = '';
  out.on('data', (c: Buffer) => (text += c.toString()));
  const code = await anomalyCommand.run(argv, { out, err: new PassThrough(), signal: new AbortController().signal });
  return { code, out: text };
}

interface Result { series: { series: string; rows: number; alerts: Record<string, unknown>[] }[] }

test('PromQL over a real Prometheus gives the same alerts as the same series from a file', { skip: prometheusSkip() }, async (t) => {
  // Old enough to sit in backfilled blocks only, not in the head block; young enough for the default retention.
  const end = Math.floor(Date.now() / STEP) * STEP - 6 * 3_600_000;
  const start = end - (ROWS - 1) * STEP;
  const value = (i: number): number => 50 + Math.sin(i * 0.7) * 2 + Math.cos(i * 0.013) * 5 + (i >= 1200 && i < 1203 ? 40 : 0) + (i >= 1350 ? 25 : 0);
  const rows = Array.from({ length: ROWS }, (_, i) => ({ t: start + i * STEP, v: value(i) }));
  const openMetrics = [
    '# TYPE maxpro_test_latency_ms gauge',
    ...rows.map((r) => `maxpro_test_latency_ms{service="checkout"} ${r.v} ${r.t / 1000}`),
    '# EOF',
    '',
  ].join('\n');
  const prom = await startPrometheus([], 15, { backfillOpenMetrics: openMetrics });
  t.after(() => prom.close());
  const dir = mkdtempSync(join(tmpdir(), 'maxpro-anomaly-prom-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const csv = join(dir, 'latency.csv');
  writeFileSync(csv, `timestamp,value\n${rows.map((r) => `${new Date(r.t).toISOString()},${r.v}`).join('\n')}\n`);

  const common = ['--learn-rows', '300', '--json'];
  const fromFile = JSON.parse((await run([csv, ...common])).out) as Result;
  const fromProm = JSON.parse((await run([
    '--prometheus', prom.url, '--query', 'maxpro_test_latency_ms{service="checkout"}',
    '--start', String(start / 1000), '--end', String(end / 1000), '--step', String(STEP / 1000), ...common,
  ])).out) as Result;
  assert.equal(fromProm.series.length, 1, JSON.stringify(fromProm.series.map((s) => s.series)));
  assert.match(fromProm.series[0]!.series, /service="checkout"/);
  assert.equal(fromProm.series[0]!.rows, ROWS);
  const alerts = fromFile.series[0]!.alerts;
  // The spike and the level shift: at least two alerts, so that equality says something.
  assert.ok(alerts.length >= 2, JSON.stringify(alerts));
  assert.deepEqual(fromProm.series[0]!.alerts, alerts);
});
