// SPDX-License-Identifier: Apache-2.0
/**
 * The CI's run history: one NDJSON line per run, in a file outside the
 * repository ($MAXPRO_CI_HISTORY, else ~/.cache/maxpro/ci-history.ndjson),
 * the last MAX_RUNS runs kept. Each run is reduced to figures by key
 * (`test:<file>::<path>`, `file:<file>`, `suite:tests`, `step:<name>`,
 * `bpf:<object>/<program>`, `bench:<name>.<figure>`) so comparing needs no
 * knowledge of where a figure came from.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

/** Runs kept in the file; the comparison reads at most this many. */
export const MAX_RUNS = 60;

export type FigureStatus = 'pass' | 'fail' | 'skip';

export interface Figure {
  /** Milliseconds for durations; the bench's own unit for bench figures. */
  value: number;
  status: FigureStatus;
}

export interface RunRecord {
  /** Run id (also the trace's `ci.run.id`). */
  id: string;
  /** Start of the run, ms since the epoch. */
  startMs: number;
  commit?: string;
  /** The test command's exit status. */
  status: number;
  figures: Record<string, Figure>;
}

export function defaultHistoryFile(env: NodeJS.ProcessEnv = process.env): string {
  if (env['MAXPRO_CI_HISTORY']) return env['MAXPRO_CI_HISTORY'];
  const cache = env['XDG_CACHE_HOME'] || join(homedir(), '.cache');
  return join(cache, 'maxpro', 'ci-history.ndjson');
}

/** Previous runs, oldest first; a damaged line is skipped and counted, never fatal. */
export function readHistory(file: string): { runs: RunRecord[]; badLines: number } {
  if (!existsSync(file)) return { runs: [], badLines: 0 };
  const runs: RunRecord[] = [];
  let badLines = 0;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    try {
      const r = JSON.parse(line) as RunRecord;
      if (typeof r.id !== 'string' || typeof r.startMs !== 'number' || typeof r.figures !== 'object' || r.figures === null) throw new Error('not a run');
      runs.push(r);
    } catch {
      badLines++;
    }
  }
  runs.sort((a, b) => a.startMs - b.startMs);
  return { runs: runs.slice(-MAX_RUNS), badLines };
}

/** Appends `run`; rewrites the file (atomically) when it holds more than MAX_RUNS runs. */
export function appendHistory(file: string, run: RunRecord): void {
  mkdirSync(dirname(file), { recursive: true });
  appendFileSync(file, `${JSON.stringify(run)}\n`);
  const lines = readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() !== '');
  if (lines.length <= MAX_RUNS) return;
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${lines.slice(-MAX_RUNS).join('\n')}\n`);
  renameSync(tmp, file);
}
