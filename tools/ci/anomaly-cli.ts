// SPDX-License-Identifier: Apache-2.0
/** The comparison's anomaly runner: `maxpro anomaly --json` over one NDJSON file per series. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AnomalyRunner } from './ci-compare.js';

const BIN = fileURLToPath(new URL('../../../bin/maxpro.js', import.meta.url));

interface AnomalyOutput { series: { series: string; alerts: { t: number }[] }[] }

/** Every previous point is learning (no alert can fire before this run's point). */
export function createAnomalyCli(bin = BIN, timeoutMs = 60_000): AnomalyRunner {
  return (series) => {
    const dir = mkdtempSync(join(tmpdir(), 'maxpro-ci-anomaly-'));
    try {
      const files = series.map((s, i) => {
        const f = join(dir, `s${i}.ndjson`);
        writeFileSync(f, s.points.map((p) => JSON.stringify(p)).join('\n'));
        return f;
      });
      const learn = Math.min(...series.map((s) => s.points.length)) - 1;
      const r = spawnSync(process.execPath, [bin, 'anomaly', ...files, '--json', '--learn-rows', String(learn)], { encoding: 'utf8', timeout: timeoutMs });
      if (r.status !== 0) throw new Error(`maxpro anomaly exited ${r.status ?? r.signal}: ${(r.stderr || r.stdout).trim().slice(0, 300)}`);
      const out = JSON.parse(r.stdout) as AnomalyOutput;
      const alerted = new Set<string>();
      out.series.forEach((s, i) => {
        const last = series[i]!.points.at(-1)!.timestamp;
        if (s.alerts.some((a) => a.t === last)) alerted.add(series[i]!.key);
      });
      return alerted;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}
