// SPDX-License-Identifier: Apache-2.0
// The CI's comparison with previous runs: the threshold bands, the switch to `maxpro anomaly`
// (the real command) with enough history, and that nothing below a band's floor is flagged.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ANOMALY_MIN_RUNS, BANDS, compareRuns, median } from '../../../tools/ci/ci-compare.js';
import type { AnomalyRunner } from '../../../tools/ci/ci-compare.js';
import { createAnomalyCli } from '../../../tools/ci/anomaly-cli.js';
import type { Figure, RunRecord } from '../../../tools/ci/ci-history.js';
import { mulberry32 } from '../../../src/lib/seeded-random.js';

const HOUR = 3_600_000;
const T0 = Date.parse('2026-11-01T00:00:00Z');

function run(i: number, figures: Record<string, number | Figure>): RunRecord {
  const f: Record<string, Figure> = {};
  for (const [k, v] of Object.entries(figures)) f[k] = typeof v === 'number' ? { value: v, status: 'pass' } : v;
  return { id: `r${i}`, startMs: T0 + i * 7 * HOUR, status: 0, figures: f };
}

/** `n` previous runs of `key` from `values(i)`, then the current run with `now`. */
function history(key: string, n: number, values: (i: number) => number | Figure, now: number | Figure): { prev: RunRecord[]; cur: RunRecord } {
  return { prev: Array.from({ length: n }, (_, i) => run(i, { [key]: values(i) })), cur: run(n, { [key]: now }) };
}

const T = 'test:test/unit/a.test.ts::slow one';

describe('threshold bands (fewer than ANOMALY_MIN_RUNS previous runs)', () => {
  const cases: { name: string; key: string; n: number; prev: (i: number) => number | Figure; now: number | Figure; want: string[] }[] = [
    { name: 'a test 4x slower and 30 s over the median', key: T, n: 5, prev: () => 10_000, now: 40_000, want: ['slower'] },
    { name: 'a test 4x slower but only 3 s over (fast-test jitter)', key: T, n: 5, prev: () => 1000, now: 4000, want: [] },
    { name: 'a test 25 s over but only 1.5x (a slow test\'s spread)', key: T, n: 5, prev: () => 50_000, now: 75_000, want: [] },
    { name: 'only 2 previous runs: too little history', key: T, n: 2, prev: () => 10_000, now: 90_000, want: [] },
    { name: 'failed previous runs do not set the median', key: T, n: 5, prev: (i) => (i < 3 ? { value: 100_000, status: 'fail' } : 10_000), now: 40_000, want: [] },
    { name: 'a new failure is reported whatever the duration', key: T, n: 1, prev: () => 10_000, now: { value: 10, status: 'fail' }, want: ['new-failure'] },
    { name: 'a test that kept failing is no new failure', key: T, n: 3, prev: () => ({ value: 10, status: 'fail' }), now: { value: 10, status: 'fail' }, want: [] },
    { name: 'suite total 2x and 20 min over', key: 'suite:tests', n: 4, prev: () => 1_200_000, now: 2_400_000, want: ['slower'] },
    { name: 'suite total 4 min over: within the floor', key: 'suite:tests', n: 4, prev: () => 1_200_000, now: 1_440_000, want: [] },
    { name: 'a BPF program\'s load 10x and 0.5 s over', key: 'bpf:process/process__sched_process_exec', n: 3, prev: () => 50, now: 550, want: ['slower'] },
    { name: 'a BPF program that loaded and no longer does', key: 'bpf:tcp/tcp__x', n: 3, prev: () => 5, now: { value: 5, status: 'fail' }, want: ['new-failure'] },
    { name: 'a bench figure halved', key: 'bench:anomaly.rowsPerS', n: 3, prev: () => 50_000, now: 20_000, want: ['bench-changed'] },
    { name: 'a bench figure within x1.5', key: 'bench:anomaly.rowsPerS', n: 3, prev: () => 50_000, now: 60_000, want: [] },
    { name: 'an unknown kind is not compared', key: 'other:x', n: 5, prev: () => 1, now: 1e9, want: [] },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const { prev, cur } = history(c.key, c.n, c.prev, c.now);
      const r = compareRuns(cur, prev);
      assert.deepEqual(r.findings.map((f) => f.kind), c.want, JSON.stringify(r.findings));
      assert.equal(r.previousRuns, c.n);
      assert.equal(r.byAnomaly, 0);
      for (const f of r.findings) assert.equal(f.key, c.key);
    });
  }

  test('the median is of the last 20 passing runs', () => {
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([4, 1, 2, 3]), 2.5);
    const { prev, cur } = history(T, 30, (i) => (i < 10 ? 100_000 : 10_000), 40_000);
    const r = compareRuns(cur, prev);
    assert.equal(r.findings[0]?.median, 10_000);
  });

  test('every band states a ratio above 1 and the duration bands a floor', () => {
    for (const [k, b] of Object.entries(BANDS)) {
      assert.ok(b.ratio > 1, k);
      if (b.unit === 'ms') assert.ok(b.floor > 0, k);
    }
  });
});

describe('maxpro anomaly with enough history', () => {
  const anomaly = createAnomalyCli();
  const rnd = mulberry32(7);
  const noisy = (base: number, spread: number) => () => base + (rnd() - 0.5) * 2 * spread;
  const n = ANOMALY_MIN_RUNS + 5;

  const cases: { name: string; prev: (i: number) => number; now: number; want: string[] }[] = [
    { name: 'a steady 10 s test at 60 s: alerted', prev: noisy(10_000, 500), now: 60_000, want: ['slower'] },
    { name: 'a steady 10 s test at 11 s: below the floor, not even asked', prev: noisy(10_000, 500), now: 11_000, want: [] },
    // 3x the median and 25 s over, which the threshold band would flag; the series has swung that far before.
    { name: 'a test that swings between 5 s and 60 s, at 37 s: no alert', prev: (i) => (i % 3 === 0 ? 60_000 : 5_000 + (i % 2) * 2_000), now: 37_000, want: [] },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const { prev, cur } = history(T, n, c.prev, c.now);
      const r = compareRuns(cur, prev, anomaly);
      assert.equal(r.anomalyError, undefined);
      assert.equal(r.byAnomaly, 1);
      assert.deepEqual(r.findings.map((f) => f.kind), c.want, JSON.stringify(r.findings));
      for (const f of r.findings) assert.equal(f.method, 'anomaly');
    });
  }

  test('the 37 s case is one the threshold band alone would flag', () => {
    const { prev, cur } = history(T, n, cases[2]!.prev, cases[2]!.now);
    assert.deepEqual(compareRuns(cur, prev).findings.map((f) => f.kind), ['slower']);
  });

  test('when the anomaly command fails, the threshold band decides and the failure is reported', () => {
    const broken: AnomalyRunner = () => {
      throw new Error('maxpro anomaly exited 1: boom');
    };
    const { prev, cur } = history(T, n, noisy(10_000, 500), 60_000);
    const r = compareRuns(cur, prev, broken);
    assert.match(r.anomalyError ?? '', /boom/);
    assert.deepEqual(r.findings.map((f) => [f.kind, f.method]), [['slower', 'threshold']]);
  });
});
