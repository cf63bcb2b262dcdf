// SPDX-License-Identifier: Apache-2.0
/**
 * This run's figures against previous runs. A duration is flagged only when
 * it is both far above the median of the previous passing runs (ratio) and
 * far above it in absolute terms (floor), so a fast test's jitter or a slow
 * machine's spread never trips it. With ANOMALY_MIN_RUNS previous points the
 * ratio gives way to `maxpro anomaly` (the streaming detector over the
 * series of previous runs, then this one); the floor still applies. A flag is
 * a warning: the run's exit status stays the test command's.
 */
import type { Figure, RunRecord } from './ci-history.js';

export interface Band {
  /** Flag when value > ratio × median ... */
  ratio: number;
  /** ... and value > median + floor. */
  floor: number;
  /** Previous runs with this figure needed before comparing at all. */
  minRuns: number;
  unit: 'ms' | 'value';
}

/** The bands, by the key's kind (the part before the first colon). */
export const BANDS: Record<string, Band> = {
  test: { ratio: 3, floor: 20_000, minRuns: 3, unit: 'ms' },
  file: { ratio: 2, floor: 60_000, minRuns: 3, unit: 'ms' },
  suite: { ratio: 1.5, floor: 300_000, minRuns: 3, unit: 'ms' },
  step: { ratio: 3, floor: 120_000, minRuns: 3, unit: 'ms' },
  // Load and verification time of one BPF program.
  bpf: { ratio: 3, floor: 200, minRuns: 3, unit: 'ms' },
  // Bench figures have no known direction: a change beyond the ratio either way is reported, not flagged.
  bench: { ratio: 1.5, floor: 0, minRuns: 3, unit: 'value' },
};

/** Previous points before `maxpro anomaly` replaces the ratio. */
export const ANOMALY_MIN_RUNS = 20;
/** Previous runs a median is taken over. */
export const MEDIAN_RUNS = 20;

export interface Finding {
  key: string;
  kind: 'slower' | 'new-failure' | 'bench-changed';
  value: number;
  median?: number;
  method: 'threshold' | 'anomaly' | 'status';
  previousRuns: number;
  detail: string;
}

export interface Comparison {
  previousRuns: number;
  compared: number;
  byThreshold: number;
  byAnomaly: number;
  tooLittleHistory: number;
  findings: Finding[];
  /** Set when the anomaly command could not run: those figures fell back to the threshold. */
  anomalyError?: string;
}

/** One series for the anomaly command: previous points then this run's, oldest first. */
export interface AnomalySeries {
  key: string;
  points: { timestamp: number; value: number }[];
}

/** Runs the anomaly command over the series; returns the keys it alerted on at their last point. */
export type AnomalyRunner = (series: AnomalySeries[]) => Set<string>;

export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function bandOf(key: string): Band | undefined {
  return BANDS[key.slice(0, key.indexOf(':'))];
}

const fmt = (v: number, unit: Band['unit']): string => (unit === 'ms' ? (v >= 1000 ? `${(v / 1000).toFixed(1)} s` : `${Math.round(v)} ms`) : `${Number(v.toPrecision(4))}`);

export function compareRuns(current: RunRecord, history: readonly RunRecord[], anomaly?: AnomalyRunner): Comparison {
  const prev = history.filter((r) => r.id !== current.id && r.startMs < current.startMs);
  const out: Comparison = { previousRuns: prev.length, compared: 0, byThreshold: 0, byAnomaly: 0, tooLittleHistory: 0, findings: [] };
  const forAnomaly: { key: string; fig: Figure; med: number; band: Band; points: AnomalySeries['points'] }[] = [];
  for (const [key, fig] of Object.entries(current.figures)) {
    const band = bandOf(key);
    if (!band) continue;
    const seen = prev.filter((r) => r.figures[key] !== undefined);
    const last = seen.at(-1)?.figures[key];
    if (fig.status === 'fail' && last?.status === 'pass') {
      out.findings.push({ key, kind: 'new-failure', value: fig.value, method: 'status', previousRuns: seen.length, detail: 'failed; passed in the previous run' });
    }
    if (fig.status !== 'pass') continue;
    const passing = seen.filter((r) => r.figures[key]!.status === 'pass');
    if (passing.length < band.minRuns) {
      out.tooLittleHistory++;
      continue;
    }
    out.compared++;
    const med = median(passing.slice(-MEDIAN_RUNS).map((r) => r.figures[key]!.value));
    if (band.unit === 'value') {
      out.byThreshold++;
      const ratio = med === 0 ? Infinity : fig.value / med;
      if (ratio > band.ratio || ratio < 1 / band.ratio) {
        out.findings.push({ key, kind: 'bench-changed', value: fig.value, median: med, method: 'threshold', previousRuns: passing.length, detail: `${fmt(fig.value, band.unit)} against a median of ${fmt(med, band.unit)} (beyond ×${band.ratio} either way)` });
      }
      continue;
    }
    // Below the floor nothing is flagged, by either method.
    const overFloor = fig.value > med + band.floor;
    if (anomaly && passing.length >= ANOMALY_MIN_RUNS) {
      out.byAnomaly++;
      if (overFloor) forAnomaly.push({ key, fig, med, band, points: [...passing.map((r) => ({ timestamp: r.startMs, value: r.figures[key]!.value })), { timestamp: current.startMs, value: fig.value }] });
      continue;
    }
    out.byThreshold++;
    if (overFloor && fig.value > band.ratio * med) {
      out.findings.push({ key, kind: 'slower', value: fig.value, median: med, method: 'threshold', previousRuns: passing.length, detail: `${fmt(fig.value, band.unit)} against a median of ${fmt(med, band.unit)} (> ×${band.ratio} and > +${fmt(band.floor, band.unit)})` });
    }
  }
  if (forAnomaly.length && anomaly) {
    let alerted: Set<string> | undefined;
    try {
      alerted = anomaly(forAnomaly.map((c) => ({ key: c.key, points: c.points })));
    } catch (err) {
      out.anomalyError = err instanceof Error ? err.message : String(err);
    }
    for (const c of forAnomaly) {
      const byRatio = c.fig.value > c.band.ratio * c.med;
      if (alerted ? !alerted.has(c.key) : !byRatio) continue;
      out.findings.push({
        key: c.key, kind: 'slower', value: c.fig.value, median: c.med, method: alerted ? 'anomaly' : 'threshold', previousRuns: c.points.length - 1,
        detail: `${fmt(c.fig.value, c.band.unit)} against a median of ${fmt(c.med, c.band.unit)} (${alerted ? 'maxpro anomaly alerted' : `> ×${c.band.ratio}`}, > +${fmt(c.band.floor, c.band.unit)})`,
      });
    }
  }
  return out;
}
