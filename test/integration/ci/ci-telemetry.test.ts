// SPDX-License-Identifier: Apache-2.0
// The CI's own telemetry end to end, on a tiny made-up run: the recorder starts a real
// `maxpro collector`, sends the run through the OpenTelemetry SDK, compares it with a history
// file (a 4x slower test and a new failure flagged, nothing else), appends to it, and the
// store it leaves behind holds the spans and metrics when a collector opens it again. A broken
// telemetry part ends in a warning, never a throw.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCollector } from '../../../src/collector/collector.js';
import type { StoredSpan, RecordPage } from '../../../src/collector/span-store.js';
import { formatReport, runCiTelemetry } from '../../../tools/ci/ci-telemetry.js';
import { createAnomalyCli } from '../../../tools/ci/anomaly-cli.js';
import { readHistory } from '../../../tools/ci/ci-history.js';
import type { RunRecord } from '../../../tools/ci/ci-history.js';

const FILE = 'test/unit/fake.test.ts';
const key = (name: string): string => `test:${FILE}::fake suite > ${name}`;

function fakeRun(dir: string, now: number): void {
  const t = (name: string, status: string, durationMs: number, endMs: number, extra = {}): string =>
    JSON.stringify({ kind: 'test', file: FILE, path: ['fake suite', name], type: 'test', status, durationMs, endMs, ...extra });
  writeFileSync(join(dir, 'tests.ndjson'), [
    t('steady', 'pass', 2_000, now - 50_000),
    t('slow one', 'pass', 40_000, now - 10_000),
    t('breaks', 'fail', 5, now - 9_000, { error: 'expected 1, got 2' }),
    t('skipped', 'skip', 0, now - 9_000),
    JSON.stringify({ kind: 'test', file: FILE, path: ['fake suite'], type: 'suite', status: 'fail', durationMs: 42_100, endMs: now - 9_000 }),
    JSON.stringify({ kind: 'summary', counts: { tests: 4, suites: 1, pass: 2, fail: 1, cancelled: 0, skipped: 1, todo: 0 }, durationMs: 42_500 }),
    '',
  ].join('\n'));
  writeFileSync(join(dir, 'steps.ndjson'), [
    JSON.stringify({ kind: 'step', name: 'lint', startMs: now - 60_000, durationMs: 8_000, status: 0 }),
    JSON.stringify({ kind: 'step', name: 'tests', startMs: now - 52_000, durationMs: 43_000, status: 1 }),
    '',
  ].join('\n'));
  writeFileSync(join(dir, 'bpf.ndjson'), `${JSON.stringify({
    kind: 'bpf', startMs: now - 5_000, programs: [
      { object: 'process', program: 'process__exec', type: 'tracing', ok: true, loadMs: 20 },
      { object: 'doctor', program: 'doctor__fentry', type: 'tracing', ok: false, loadMs: 3, error: 'load doctor: EPERM' },
    ],
  })}\n`);
  writeFileSync(join(dir, 'bench-tiny.json'), 'warming up\n{"rowsPerS": 50000, "cpu": {"userS": 1.5}}\n');
}

function previous(i: number, now: number): RunRecord {
  return {
    id: `prev-${i}`, startMs: now - (10 - i) * 3_600_000, status: 0,
    figures: {
      [key('steady')]: { value: 2_100, status: 'pass' }, [key('slow one')]: { value: 10_000, status: 'pass' }, [key('breaks')]: { value: 5, status: 'pass' },
      'step:lint': { value: 8_500, status: 'pass' }, 'bpf:process/process__exec': { value: 18, status: 'pass' }, 'bpf:doctor/doctor__fentry': { value: 3, status: 'fail' },
      'bench:tiny.rowsPerS': { value: 52_000, status: 'pass' },
    },
  };
}

describe('CI telemetry', { timeout: 120_000 }, () => {
  test('sends a run to a real collector, compares it with the history, and says where it all went', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'maxpro-ci-telemetry-'));
    try {
      const now = Date.now();
      const record = join(dir, 'record');
      const historyFile = join(dir, 'cache', 'ci-history.ndjson');
      const storeRoot = join(dir, 'cache', 'ci-telemetry');
      mkdirSync(record);
      mkdirSync(join(dir, 'cache'));
      fakeRun(record, now);
      writeFileSync(historyFile, `${[0, 1, 2].map((i) => JSON.stringify(previous(i, now))).join('\n')}\n`);

      const report = await runCiTelemetry({ dir: record, id: 'ci-test-run', startMs: now - 61_000, status: 1, commit: 'abc123', historyFile, storeRoot, anomaly: createAnomalyCli() });
      assert.deepEqual(report.warnings, []);
      // ci run + 2 steps + the file + its suite and 4 tests + the BPF span and its 2 programs.
      assert.deepEqual(report.sent, { spans: 12, metricPoints: report.sent!.metricPoints });
      assert.equal(report.stored?.traces, 12);
      assert.ok((report.stored?.metrics ?? 0) >= 5, JSON.stringify(report.stored));
      assert.match(report.collectorUrl ?? '', /^http:\/\/127\.0\.0\.1:\d+$/);

      const c = report.comparison!;
      assert.equal(c.previousRuns, 3);
      assert.deepEqual(c.findings.map((f) => [f.kind, f.key]).sort(), [['new-failure', key('breaks')], ['slower', key('slow one')]]);
      assert.equal(c.byAnomaly, 0, 'three previous runs: the threshold band');

      const text = formatReport(report, 1);
      assert.match(text, new RegExp(`telemetry: 12 spans .* to maxpro collector ${report.collectorUrl}`));
      assert.ok(text.includes(`store: ${report.storeDir}`));
      assert.ok(text.includes(`history: ${historyFile}`));
      assert.match(text, /compared: \d+ figures against 3 previous run\(s\)/);
      assert.match(text, /slower +test:test\/unit\/fake\.test\.ts::fake suite > slow one: 40\.0 s against a median of 10\.0 s/);
      assert.match(text, /exit status is the test command's \(1\)/);

      const { runs } = readHistory(historyFile);
      assert.deepEqual(runs.map((r) => r.id), ['prev-0', 'prev-1', 'prev-2', 'ci-test-run']);
      assert.equal(runs.at(-1)!.figures['bench:tiny.cpu.userS']?.value, 1.5);
      assert.equal(runs.at(-1)!.figures[key('skipped')]?.status, 'skip');

      // The store outlives the collector: open it again and read the run back.
      const again = await createCollector({ port: 0, grpcPort: false, dataDir: report.storeDir!, auth: { disabled: true }, log: () => undefined });
      try {
        const spans = await (await fetch(`${again.url}/api/spans?service=maxpro-ci&operation=${encodeURIComponent('slow one')}`)).json() as { spans: StoredSpan[] };
        assert.equal(spans.spans.length, 1);
        assert.equal(spans.spans[0]!.durationNs, 40_000 * 1e6);
        const failed = await (await fetch(`${again.url}/api/spans?service=maxpro-ci&operation=breaks`)).json() as { spans: StoredSpan[] };
        assert.equal(failed.spans[0]!.status.code, 2);
        assert.equal(failed.spans[0]!.status.message, 'expected 1, got 2');
        const metrics = await (await fetch(`${again.url}/api/metrics?service=maxpro-ci&limit=50`)).json() as RecordPage;
        const names = new Set(metrics.records.map((r) => r.record['name']));
        for (const n of ['maxpro.ci.tests', 'maxpro.ci.step.duration', 'maxpro.ci.bpf.load.duration', 'maxpro.ci.bench', 'maxpro.ci.findings']) assert.ok(names.has(n), `${n} in ${[...names].join(', ')}`);
      } finally {
        await again.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a broken store is a warning; the comparison and the history still happen', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'maxpro-ci-telemetry-'));
    try {
      const now = Date.now();
      fakeRun(dir, now);
      const notADir = join(dir, 'file');
      writeFileSync(notADir, 'x');
      const historyFile = join(dir, 'h.ndjson');
      const report = await runCiTelemetry({ dir, id: 'ci-broken', startMs: now - 61_000, status: 0, historyFile, storeRoot: join(notADir, 'stores') });
      assert.equal(report.sent, undefined);
      assert.equal(report.warnings.length, 1, report.warnings.join('; '));
      assert.match(report.warnings[0]!, /^OTLP export failed: /);
      assert.match(formatReport(report, 0), /telemetry: not sent[\s\S]*warning: OTLP export failed[\s\S]*exit status is the test command's \(0\)/);
      assert.equal(readHistory(historyFile).runs.length, 1);
      assert.ok(readFileSync(historyFile, 'utf8').includes('ci-broken'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
