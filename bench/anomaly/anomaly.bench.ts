// SPDX-License-Identifier: Apache-2.0
/**
 * `npm run bench -- anomaly`: the causal detector over the staged NAB files,
 * NAB scores at one corpus-wide threshold per profile (found by sweep),
 * windows hit and missed, an ablation (stat, lstm, ensemble) and rows/s on
 * one core (median of REPEATS timed passes; the load average is printed with it).
 * Reads ../shared/testdata/nab (or $MAXPRO_TESTDATA/nab).
 */
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpuUsage, memoryUsage } from 'node:process';
import { availableParallelism, loadavg } from 'node:os';
import { createAnomalyDetector } from '../../src/anomaly/anomaly-detector.js';
import type { AnomalyModel } from '../../src/anomaly/anomaly-detector.js';
import { NAB_PROFILES, scoreNabCorpus } from '../../src/anomaly/nab/nab-scorer.js';
import type { NabFileInput } from '../../src/anomaly/nab/nab-scorer.js';
import { readNabCsv, readNabWindows } from '../../src/anomaly/nab/nab-data.js';

const testdata = process.env['MAXPRO_TESTDATA'] ?? resolve(fileURLToPath(new URL('../../../', import.meta.url)), '..', 'shared', 'testdata');
const nabDir = join(testdata, 'nab');
if (!existsSync(join(nabDir, 'data'))) {
  console.error(`NAB data not found at ${nabDir}: set MAXPRO_TESTDATA`);
  process.exit(2);
}
const windows = readNabWindows(nabDir);
const files: { name: string; t: Float64Array; v: Float64Array }[] = [];
for (const cat of readdirSync(join(nabDir, 'data')).sort()) {
  for (const f of readdirSync(join(nabDir, 'data', cat)).sort()) {
    const csv = readNabCsv(join(nabDir, 'data', cat, f));
    files.push({ name: `${cat}/${f}`, t: csv.timestamps, v: csv.columns.get('value')! });
  }
}
const LEARN_ROWS = 600;
const REPEATS = Number(process.env['ANOMALY_BENCH_REPEATS'] ?? '5');
const totalRows = files.reduce((s, f) => s + f.t.length, 0);

function run(model: AnomalyModel, seed = 1): { inputs: NabFileInput[]; rowsPerSec: number; rowsPerCpuSec: number } {
  const inputs: NabFileInput[] = [];
  const t0 = process.hrtime.bigint();
  const c0 = cpuUsage();
  for (const f of files) {
    // One fixed learning period for every file: the file's length is not known to a live system.
    const det = createAnomalyDetector({ model, learnRows: LEARN_ROWS, seed });
    const scores = new Float64Array(f.t.length);
    for (let i = 0; i < f.t.length; i++) scores[i] = det.update(f.t[i]!, f.v[i]!).score;
    inputs.push({ name: f.name, timestamps: f.t, scores, windows: windows.get(f.name) ?? [] });
  }
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  const c = cpuUsage(c0);
  // CPU time of the process (this thread and V8's helpers): on a loaded machine wall time counts the waits for a core.
  return { inputs, rowsPerSec: totalRows / s, rowsPerCpuSec: totalRows / ((c.user + c.system) / 1e6) };
}

const cpu0 = cpuUsage();
const out: Record<string, number | string> = { bench: 'anomaly', files: files.length, rows: totalRows };
const median = (xs: number[]): number => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
for (const model of ['stat', 'lstm', 'ensemble'] as const) {
  const load = loadavg()[0]!;
  const first = run(model);
  const rates = [first.rowsPerSec];
  const cpuRates = [first.rowsPerCpuSec];
  for (let k = 1; k < REPEATS; k++) {
    const r = run(model);
    rates.push(r.rowsPerSec);
    cpuRates.push(r.rowsPerCpuSec);
  }
  const { inputs } = first;
  const rowsPerSec = median(rates);
  console.log(`\n== model ${model}: ${Math.round(rowsPerSec)} rows/s wall, ${Math.round(median(cpuRates))} rows per CPU second, medians of ${rates.length} (wall min ${Math.round(Math.min(...rates))}, max ${Math.round(Math.max(...rates))}; load average ${load.toFixed(1)} on ${availableParallelism()} cores)`);
  out[`rows_per_cpu_sec_${model}`] = Math.round(median(cpuRates));
  for (const profile of NAB_PROFILES) {
    const r = scoreNabCorpus(inputs, profile);
    console.log(`${profile.name.padEnd(20)} NAB ${r.normalized.toFixed(2).padStart(6)}  threshold ${r.threshold.toFixed(4)}  windows hit ${r.windowsHit}/${r.windows}`);
    if (profile.name === 'standard') {
      for (const f of r.files) console.log(`  ${f.name.padEnd(58)} ${f.score.toFixed(3).padStart(8)}  hit ${f.windowsHit}/${f.windows}`);
      out[model === 'ensemble' ? 'nab_standard' : `nab_standard_${model}_only`] = Number(r.normalized.toFixed(2));
      if (model === 'ensemble') {
        out['windows_hit'] = r.windowsHit;
        out['windows_missed'] = r.windows - r.windowsHit;
      }
    } else if (model === 'ensemble') out[profile.name === 'reward_low_FP_rate' ? 'nab_low_fp' : 'nab_low_fn'] = Number(r.normalized.toFixed(2));
  }
  if (model !== 'ensemble') out[`rows_per_sec_${model}`] = Math.round(rowsPerSec);
  else out['rows_per_sec_ensemble'] = Math.round(rowsPerSec);
}
// The LSTM's weights come from a seed: the ensemble's standard score for other seeds says how much of it is luck.
const seedScores: number[] = [];
for (const seed of [1, 2, 3, 4, 5]) seedScores.push(Number(scoreNabCorpus(run('ensemble', seed).inputs, NAB_PROFILES[0]!).normalized.toFixed(2)));
console.log(`\nensemble standard by LSTM seed 1..5: ${seedScores.join(' ')} (stat ${out['nab_standard_stat_only']})`);
out['nab_standard_by_seed'] = seedScores.join(' ');
out['nab_standard_seed_mean'] = Number((seedScores.reduce((a, b) => a + b, 0) / seedScores.length).toFixed(2));
const cpu = cpuUsage(cpu0);
out['cpu_s'] = Number(((cpu.user + cpu.system) / 1e6).toFixed(2));
out['rss_mb'] = Math.round(memoryUsage().rss / 1e6);
out['load_avg_1m'] = Number(loadavg()[0]!.toFixed(1));
out['peers_subset_standard'] = 'numenta 59.0, ARTime 65.4, knncad 45.2';
console.log(JSON.stringify(out));
