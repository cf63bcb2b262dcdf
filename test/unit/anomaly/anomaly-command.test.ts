// SPDX-License-Identifier: Apache-2.0
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { anomalyCommand } from '../../../src/cli/commands/anomaly.js';
import { parseSeries } from '../../../src/anomaly/series-reader.js';

async function run(argv: string[]): Promise<{ code: number; out: string }> {
  const out = new PassThrough();
  let text = '';
  out.on('data', (c: Buffer) => (text += c.toString()));
  const code = await anomalyCommand.run(argv, { out, err: new PassThrough(), signal: new AbortController().signal });
  return { code, out: text };
}

const STEP = 60_000;
const T0 = Date.UTC(2026, 0, 1);
const values = Array.from({ length: 1500 }, (_, i) => 50 + Math.sin(i * 0.7) * 2 + (i >= 1200 && i < 1203 ? 40 : 0));

describe('maxpro anomaly', () => {
  test('CSV and NDJSON of the same series give the same alerts, explained; SVG is written', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'maxpro-anomaly-'));
    try {
      const csv = join(dir, 's.csv');
      const nd = join(dir, 's.ndjson');
      writeFileSync(csv, `timestamp,value\n${values.map((v, i) => `${new Date(T0 + i * STEP).toISOString()},${v}`).join('\n')}\n`);
      writeFileSync(nd, values.map((v, i) => JSON.stringify({ timestamp: (T0 + i * STEP) / 1000, value: v })).join('\n'));
      const a = JSON.parse((await run([csv, '--json', '--learn-rows', '300', '--svg', join(dir, 'p.svg')])).out);
      const b = JSON.parse((await run([nd, '--json', '--learn-rows', '300'])).out);
      assert.equal(a.series[0].alerts.length, 1, JSON.stringify(a));
      assert.deepEqual(a.series[0].alerts, b.series[0].alerts);
      const alert = a.series[0].alerts[0];
      assert.equal(alert.t, T0 + 1200 * STEP);
      assert.equal(alert.learnedRows, 1200);
      assert.ok(['seasonal', 'novelty', 'prediction', 'level_shift'].includes(alert.member));
      assert.ok(readFileSync(join(dir, 'p.svg'), 'utf8').includes('<circle'));
      const table = (await run([csv, '--learn-rows', '300'])).out;
      assert.match(table, /1 alert\(s\)/);
      assert.match(table, /2026-01-01T20:00:00.000Z/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('bad input names the line', () => {
    const cases: { text: string; message: RegExp }[] = [
      { text: 'timestamp,value\n2026-01-01T00:00:00Z,1\nnot-a-time,2\n', message: /s:3: bad timestamp/ },
      { text: 'timestamp,value\n2026-01-01T00:00:00Z,abc\n', message: /s:2: bad value/ },
      { text: 'timestamp,value\n2026-01-01T00:01:00Z,1\n2026-01-01T00:00:00Z,1\n', message: /s:3: timestamp goes back/ },
      { text: '{"timestamp":1,"value":2}\n{oops\n', message: /s:2: not JSON/ },
    ];
    for (const c of cases) assert.throws(() => parseSeries(c.text, 's'), { code: 'MAXPRO_ERR_INVALID_ARGUMENT', message: c.message });
    assert.ok(Number.isNaN(parseSeries('timestamp,value\n2026-01-01T00:00:00Z,\n', 's').v[0]!), 'an empty value is a gap');
  });

  test('rejects a bad model and missing inputs', async () => {
    await assert.rejects(run(['--model', 'arima', 'x.csv']), { code: 'MAXPRO_ERR_INVALID_ARGUMENT' });
    await assert.rejects(run([]), { code: 'MAXPRO_ERR_INVALID_ARGUMENT' });
    await assert.rejects(run(['--service', 'shop']), { code: 'MAXPRO_ERR_INVALID_ARGUMENT', message: /--red/ });
    await assert.rejects(run(['--red', '--signal', 'p95']), { code: 'MAXPRO_ERR_INVALID_ARGUMENT', message: /"p95"/ });
  });
});
