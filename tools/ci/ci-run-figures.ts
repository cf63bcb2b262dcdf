// SPDX-License-Identifier: Apache-2.0
/** Reads what .ci/run recorded in its directory and reduces it to the history's figures. */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Figure, FigureStatus } from './ci-history.js';
import type { BpfLoadResult } from './bpf-load-report.js';
import type { CiRunData, StepRecord } from './ci-otlp-export.js';
import type { SummaryRecord, TestRecord } from './test-record-reporter.js';

function ndjson<T>(file: string, warnings: string[]): T[] {
  if (!existsSync(file)) return [];
  const out: T[] = [];
  readFileSync(file, 'utf8').split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    try {
      out.push(JSON.parse(line) as T);
    } catch {
      warnings.push(`${file}:${i + 1}: not JSON, skipped`);
    }
  });
  return out;
}

/** Numeric leaves of a bench's final JSON line: `bench:<name>.<path>`. */
export function benchFigures(name: string, value: unknown, prefix = name, out: Record<string, number> = {}): Record<string, number> {
  if (typeof value === 'number' && Number.isFinite(value)) out[prefix] = value;
  else if (value && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) benchFigures(name, v, `${prefix}.${k}`, out);
  }
  return out;
}

export function readRunDir(dir: string, meta: { id: string; startMs: number; endMs: number; status: number; commit?: string }, warnings: string[]): CiRunData {
  const steps = ndjson<StepRecord>(join(dir, 'steps.ndjson'), warnings).filter((s) => s.kind === 'step');
  const records = ndjson<TestRecord | SummaryRecord>(join(dir, 'tests.ndjson'), warnings);
  const bpfLine = ndjson<{ kind: 'bpf'; startMs?: number; programs: BpfLoadResult[] }>(join(dir, 'bpf.ndjson'), warnings).find((r) => r.kind === 'bpf');
  const bench: Record<string, number> = {};
  for (const f of existsSync(dir) ? readdirSync(dir).filter((n) => /^bench-.+\.json$/.test(n)).sort() : []) {
    const name = f.slice('bench-'.length, -'.json'.length);
    const last = readFileSync(join(dir, f), 'utf8').trim().split('\n').at(-1) ?? '';
    try {
      Object.assign(bench, benchFigures(name, JSON.parse(last)));
    } catch {
      warnings.push(`${join(dir, f)}: the last line is not JSON; no figures for bench ${name}`);
    }
  }
  return {
    ...meta,
    steps,
    tests: records.filter((r): r is TestRecord => r.kind === 'test'),
    ...(records.find((r): r is SummaryRecord => r.kind === 'summary') ? { summary: records.find((r): r is SummaryRecord => r.kind === 'summary')! } : {}),
    ...(bpfLine ? { bpf: { startMs: bpfLine.startMs ?? meta.endMs, programs: bpfLine.programs } } : {}),
    bench,
  };
}

const status = (s: TestRecord['status']): FigureStatus => (s === 'pass' ? 'pass' : s === 'fail' || s === 'cancelled' ? 'fail' : 'skip');

export function runFigures(run: CiRunData): Record<string, Figure> {
  const f: Record<string, Figure> = {};
  const files = new Map<string, Figure>();
  for (const t of run.tests) {
    if (t.type === 'test') f[`test:${t.file}::${t.path.join(' > ')}`] = { value: t.durationMs, status: status(t.status) };
    if (t.path.length !== 1) continue;
    const file = files.get(t.file) ?? { value: 0, status: 'pass' };
    file.value += t.durationMs;
    if (status(t.status) === 'fail') file.status = 'fail';
    files.set(t.file, file);
  }
  for (const [file, fig] of files) f[`file:${file}`] = fig;
  if (run.summary) f['suite:tests'] = { value: run.summary.durationMs, status: run.status === 0 ? 'pass' : 'fail' };
  for (const s of run.steps) f[`step:${s.name}`] = { value: s.durationMs, status: s.status === 0 ? 'pass' : 'fail' };
  for (const p of run.bpf?.programs ?? []) f[`bpf:${p.object}/${p.program}`] = { value: p.loadMs, status: p.ok ? 'pass' : 'fail' };
  for (const [k, v] of Object.entries(run.bench)) f[`bench:${k}`] = { value: v, status: 'pass' };
  return f;
}
