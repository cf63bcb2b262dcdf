// SPDX-License-Identifier: Apache-2.0
/**
 * The CI's own telemetry, run by .ci/run after the tests: reads what the run
 * recorded (steps, every test's result and duration, BPF load and
 * verification results, bench figures), sends it as OTLP into a `maxpro
 * collector` started for the purpose (loopback, free port, store under the
 * cache), compares it with the previous runs in the history file, appends
 * this run and prints one block saying where everything went and what was
 * flagged. Nothing here changes the run's exit status: a broken part is a
 * warning in the block, and this program exits 0.
 */
import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createAnomalyCli } from './anomaly-cli.js';
import { ANOMALY_MIN_RUNS, BANDS, compareRuns } from './ci-compare.js';
import type { AnomalyRunner, Comparison } from './ci-compare.js';
import { appendHistory, defaultHistoryFile, readHistory } from './ci-history.js';
import type { RunRecord } from './ci-history.js';
import { startCiCollector } from './ci-collector.js';
import { exportRun } from './ci-otlp-export.js';
import type { ExportCounts } from './ci-otlp-export.js';
import { readRunDir, runFigures } from './ci-run-figures.js';

export interface CiTelemetryOptions {
  dir: string;
  id: string;
  startMs: number;
  status: number;
  commit?: string;
  historyFile: string;
  /** Parent of the per-run collector stores; the newest KEEP_STORES are kept. */
  storeRoot: string;
  anomaly?: AnomalyRunner;
}

export interface CiTelemetryReport {
  collectorUrl?: string;
  storeDir?: string;
  sent?: ExportCounts;
  stored?: { traces: number; logs: number; metrics: number };
  historyFile: string;
  comparison?: Comparison;
  warnings: string[];
}

const KEEP_STORES = 5;

export function defaultStoreRoot(env: NodeJS.ProcessEnv = process.env): string {
  return join(env['XDG_CACHE_HOME'] || join(homedir(), '.cache'), 'maxpro', 'ci-telemetry');
}

function pruneStores(root: string, keep: number): void {
  const dirs = readdirSync(root).map((n) => join(root, n)).filter((p) => statSync(p).isDirectory());
  dirs.sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  for (const d of dirs.slice(keep)) rmSync(d, { recursive: true, force: true });
}

const why = (err: unknown): string => (err instanceof Error ? err.message : String(err));

export async function runCiTelemetry(o: CiTelemetryOptions): Promise<CiTelemetryReport> {
  const warnings: string[] = [];
  const report: CiTelemetryReport = { historyFile: o.historyFile, warnings };
  const run = readRunDir(o.dir, { id: o.id, startMs: o.startMs, endMs: Date.now(), status: o.status, ...(o.commit ? { commit: o.commit } : {}) }, warnings);
  if (run.tests.length === 0) warnings.push(`no test results in ${join(o.dir, 'tests.ndjson')}`);
  const record: RunRecord = { id: o.id, startMs: o.startMs, status: o.status, ...(o.commit ? { commit: o.commit } : {}), figures: runFigures(run) };

  try {
    const { runs, badLines } = readHistory(o.historyFile);
    if (badLines) warnings.push(`${o.historyFile}: ${badLines} damaged line(s) skipped`);
    report.comparison = compareRuns(record, runs, o.anomaly);
    if (report.comparison.anomalyError) warnings.push(`maxpro anomaly failed (${report.comparison.anomalyError}): the threshold band was used instead`);
  } catch (err) {
    warnings.push(`comparing with ${o.historyFile} failed: ${why(err)}`);
  }

  try {
    mkdirSync(o.storeRoot, { recursive: true });
    const storeDir = join(o.storeRoot, o.id);
    const collector = await startCiCollector(storeDir);
    report.collectorUrl = collector.url;
    report.storeDir = storeDir;
    try {
      report.sent = await exportRun(run, report.comparison?.findings ?? [], collector);
      report.stored = await collector.stats();
      if (report.stored.traces < report.sent.spans) warnings.push(`the collector stored ${report.stored.traces} of ${report.sent.spans} spans`);
    } finally {
      await collector.close();
    }
    pruneStores(o.storeRoot, KEEP_STORES);
  } catch (err) {
    warnings.push(`OTLP export failed: ${why(err)}`);
  }

  try {
    appendHistory(o.historyFile, record);
  } catch (err) {
    warnings.push(`appending to ${o.historyFile} failed: ${why(err)}`);
  }
  return report;
}

const sec = (ms: number): string => `${ms / 1000} s`;

/** The closing block of .ci/run. */
export function formatReport(r: CiTelemetryReport, status: number): string {
  const lines = ['', '=== CI telemetry ==='];
  if (r.collectorUrl && r.sent) {
    lines.push(`telemetry: ${r.sent.spans} spans and ${r.sent.metricPoints} metric points sent as OTLP/HTTP (protobuf) to maxpro collector ${r.collectorUrl}; it stored ${r.stored?.traces ?? '?'} spans and ${r.stored?.metrics ?? '?'} metric records`);
    lines.push(`store: ${r.storeDir} (read it: maxpro collector --data-dir ${r.storeDir} --port 0, then maxpro traces search --service maxpro-ci)`);
  } else {
    lines.push('telemetry: not sent (see the warnings)');
  }
  lines.push(`history: ${r.historyFile} (outside the repository; this run appended)`);
  const c = r.comparison;
  if (c) {
    lines.push(`compared: ${c.compared} figures against ${c.previousRuns} previous run(s): ${c.byThreshold} by threshold band, ${c.byAnomaly} by maxpro anomaly; ${c.tooLittleHistory} with too little history (< ${BANDS['test']!.minRuns} passing runs)`);
    const bands = Object.entries(BANDS).map(([k, b]) => (b.unit === 'ms' ? `${k} > ${b.ratio}x median and > +${sec(b.floor)}` : `${k} beyond x${b.ratio} either way (reported only)`));
    lines.push(`bands: ${bands.join('; ')}; from ${ANOMALY_MIN_RUNS} previous runs maxpro anomaly replaces the ratio (the floor stays)`);
    if (c.findings.length === 0) lines.push('flagged: nothing');
    else {
      lines.push(`flagged: ${c.findings.length}`);
      for (const f of c.findings.slice(0, 30)) lines.push(`  ${f.kind.padEnd(13)} ${f.key}: ${f.detail} [${f.method}, ${f.previousRuns} previous]`);
      if (c.findings.length > 30) lines.push(`  ... and ${c.findings.length - 30} more`);
    }
  } else {
    lines.push('compared: nothing (see the warnings)');
  }
  for (const w of r.warnings) lines.push(`warning: ${w}`);
  lines.push(`The flags are warnings: the run's exit status is the test command's (${status}).`);
  return `${lines.join('\n')}\n`;
}

async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv, strict: true,
    options: { dir: { type: 'string' }, id: { type: 'string' }, 'start-ms': { type: 'string' }, status: { type: 'string' }, commit: { type: 'string' }, history: { type: 'string' }, 'store-root': { type: 'string' } },
  });
  if (!values.dir) throw new Error('--dir <the run\'s record directory> is required');
  const status = Number(values.status ?? '0');
  const report = await runCiTelemetry({
    dir: values.dir,
    id: values.id ?? `run-${Date.now()}`,
    startMs: Number(values['start-ms'] ?? Date.now()),
    status,
    ...(values.commit ? { commit: values.commit } : {}),
    historyFile: values.history ?? defaultHistoryFile(),
    storeRoot: values['store-root'] ?? defaultStoreRoot(),
    anomaly: createAnomalyCli(),
  });
  process.stdout.write(formatReport(report, status));
}

if (process.argv[1]?.endsWith('/tools/ci/ci-telemetry.js')) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    process.stdout.write(`\n=== CI telemetry ===\nwarning: the CI telemetry failed (${why(err)}); the run's status is unaffected\n`);
  });
}
