// SPDX-License-Identifier: Apache-2.0
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NAB_PROFILES, nabPoints, normalizeNab, scaledSigmoid, scoreAtThreshold, scoreNabCorpus, sweepBestThreshold } from '../../../src/anomaly/nab/nab-scorer.js';
import type { NabFileInput } from '../../../src/anomaly/nab/nab-scorer.js';
import { readNabCsv, readNabWindows } from '../../../src/anomaly/nab/nab-data.js';

const testdata = process.env['MAXPRO_TESTDATA'] ?? resolve(fileURLToPath(new URL('../../../../', import.meta.url)), '..', 'shared', 'testdata');
const nabDir = join(testdata, 'nab');
const skip = existsSync(join(nabDir, 'results')) ? false : `NAB test data not found at ${nabDir} (set MAXPRO_TESTDATA)`;

function detectorFiles(det: string): (NabFileInput & { st: Map<string, Float64Array> })[] {
  const windows = readNabWindows(nabDir);
  const out: (NabFileInput & { st: Map<string, Float64Array> })[] = [];
  for (const cat of ['artificialWithAnomaly', 'realKnownCause']) {
    for (const f of readdirSync(join(nabDir, 'results', det, cat)).sort()) {
      const csv = readNabCsv(join(nabDir, 'results', det, cat, f));
      const name = `${cat}/${f.slice(det.length + 1)}`;
      out.push({ name, timestamps: csv.timestamps, scores: csv.columns.get('anomaly_score')!, windows: windows.get(name) ?? [], st: csv.columns });
    }
  }
  return out;
}

function publishedScores(det: string, profile: string): Map<string, { threshold: number; score: number }> {
  const m = new Map<string, { threshold: number; score: number }>();
  for (const line of readFileSync(join(nabDir, 'results', det, `${det}_${profile}_scores.csv`), 'utf8').split('\n').slice(1)) {
    const f = line.split(',');
    if (f.length > 4 && f[0] !== 'Totals') m.set(f[2]!, { threshold: Number(f[3]), score: Number(f[4]) });
  }
  return m;
}

describe('NAB scorer', () => {
  test('scaled sigmoid edges', () => {
    assert.ok(Math.abs(scaledSigmoid(-1) - 0.9866142981514305) < 1e-12);
    assert.equal(scaledSigmoid(0), 0);
    assert.equal(scaledSigmoid(3.01), -1);
  });

  test('hand-made file: early hit scores tpWeight, a far FP costs fpWeight, a miss costs fnWeight', () => {
    const n = 100;
    const ts = Array.from({ length: n }, (_, i) => i * 1000);
    const scenarios: { name: string; fire: number[]; expect: number }[] = [
      { name: 'never fires', fire: [], expect: -1 },
      { name: 'first row of window', fire: [50], expect: 1 },
      { name: 'FP before any window', fire: [20], expect: -1 - 0.11 },
      { name: 'hit plus far FP after', fire: [50, 99], expect: 1 + scaledSigmoid(40 / 9) * 0.11 },
      { name: 'probation is ignored', fire: [3], expect: -1 },
    ];
    for (const s of scenarios) {
      const scores = ts.map((_, i) => (s.fire.includes(i) ? 1 : 0));
      const file: NabFileInput = { name: 'x', timestamps: ts, scores, windows: [[50_000, 59_000]] };
      const pts = nabPoints(file, NAB_PROFILES[0]!);
      assert.ok(Math.abs(scoreAtThreshold(pts, [0], 0.5, NAB_PROFILES[0]!) - s.expect) < 1e-12, s.name);
    }
  });

  for (const det of ['numenta', 'ARTime']) {
    test(`${det}: per-file scores of the 13 staged files, all profiles, to 1e-6`, { skip }, () => {
      const files = detectorFiles(det);
      assert.equal(files.length, 13);
      for (const profile of NAB_PROFILES) {
        const pub = publishedScores(det, profile.name);
        for (const file of files) {
          const ref = pub.get(file.name);
          assert.ok(ref, `${file.name} in ${det} ${profile.name} scores`);
          const got = scoreAtThreshold(nabPoints(file, profile), file.windows.map((_, k) => k), ref.threshold, profile);
          assert.ok(Math.abs(got - ref.score) < 1e-6, `${det} ${profile.name} ${file.name}: ${got} vs ${ref.score}`);
          // numenta's S(t) column sums to the per-file score (ARTime's holds something else).
          if (det !== 'numenta') continue;
          const st = file.st.get(`S(t)_${profile.name}`)!.reduce((a, b) => a + b, 0);
          assert.ok(Math.abs(got - st) < 1e-6, `${det} ${profile.name} ${file.name}: S(t) sum ${st}`);
        }
      }
    });
  }

  test('subset normalisation at the published thresholds: numenta 59.0/53.9/64.7, ARTime 65.4/54.2/71.6', { skip }, () => {
    const expected: Record<string, number[]> = { numenta: [59.0, 53.9, 64.7], ARTime: [65.4, 54.2, 71.6] };
    for (const det of Object.keys(expected)) {
      const files = detectorFiles(det);
      NAB_PROFILES.forEach((profile, k) => {
        const thr = publishedScores(det, profile.name).values().next().value!.threshold;
        const r = scoreNabCorpus(files, profile, thr);
        assert.equal(r.windows, 25);
        assert.equal(Math.round(r.normalized * 10) / 10, expected[det]![k], `${det} ${profile.name}: ${r.normalized}`);
      });
    }
  });

  test('the sweep finds a threshold at least as good as the published one and matches a brute force', { skip }, () => {
    const files = detectorFiles('numenta').slice(0, 4);
    const profile = NAB_PROFILES[0]!;
    const swept = scoreNabCorpus(files, profile);
    const pts = files.flatMap((f, k) => nabPoints(f, profile, k * 100));
    const ids = files.flatMap((f, k) => f.windows.map((_, j) => k * 100 + j));
    let brute = -Infinity;
    for (const thr of new Set(pts.map((p) => p.score))) brute = Math.max(brute, scoreAtThreshold(pts, ids, thr, profile));
    assert.ok(Math.abs(swept.raw - brute) < 1e-9, `${swept.raw} vs ${brute}`);
    assert.ok(Math.abs(sweepBestThreshold(pts, ids, profile).score - brute) < 1e-9);
  });

  test('normalisation: null is 0, perfect is 100, numenta full corpus raw 46.634 is 70.10', () => {
    assert.equal(normalizeNab(-116, 116, NAB_PROFILES[0]!), 0);
    assert.equal(normalizeNab(116, 116, NAB_PROFILES[0]!), 100);
    assert.equal(normalizeNab(-232, 116, NAB_PROFILES[2]!), 0);
    assert.equal(Math.round(normalizeNab(46.6344501971, 116, NAB_PROFILES[0]!) * 100) / 100, 70.1);
  });
});
