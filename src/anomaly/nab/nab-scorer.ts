// SPDX-License-Identifier: Apache-2.0
/**
 * NAB (Numenta Anomaly Benchmark) scoring: windows weighted by a scaled
 * sigmoid, three cost profiles, a threshold sweep and normalisation against the
 * null and perfect detectors. Written from the benchmark's published rules.
 */

export interface NabProfile {
  readonly name: NabProfileName;
  readonly tpWeight: number;
  readonly fpWeight: number;
  readonly fnWeight: number;
}

export type NabProfileName = 'standard' | 'reward_low_FP_rate' | 'reward_low_FN_rate';

export const NAB_PROFILES: readonly NabProfile[] = [
  { name: 'standard', tpWeight: 1.0, fpWeight: 0.11, fnWeight: 1.0 },
  { name: 'reward_low_FP_rate', tpWeight: 1.0, fpWeight: 0.22, fnWeight: 1.0 },
  { name: 'reward_low_FN_rate', tpWeight: 1.0, fpWeight: 0.11, fnWeight: 2.0 },
];

/** One scored file: a detector score per row, row times and the label windows (inclusive, ms). */
export interface NabFileInput {
  readonly name: string;
  readonly timestamps: ArrayLike<number>;
  readonly scores: ArrayLike<number>;
  readonly windows: readonly (readonly [number, number])[];
}

/** A non-probationary row: its detector score, its weight, and its window (global id) or -1. */
export interface NabPoint {
  readonly score: number;
  readonly weight: number;
  readonly window: number;
}

export function scaledSigmoid(y: number): number {
  return y > 3 ? -1 : 2 / (1 + Math.exp(5 * y)) - 1;
}

export function probationLength(rows: number): number {
  return Math.min(Math.floor(0.15 * rows), 0.15 * 5000);
}

/**
 * Weights every non-probationary row of one file. `windowBase` numbers this
 * file's windows so that points of several files can be swept together.
 */
export function nabPoints(file: NabFileInput, profile: NabProfile, windowBase = 0): NabPoint[] {
  const n = file.timestamps.length;
  if (file.scores.length !== n) throw new RangeError(`${file.name}: ${file.scores.length} scores for ${n} rows`);
  const maxTp = scaledSigmoid(-1);
  const prob = probationLength(n);
  // Window row ranges: first row at or after its start, last row at or before its end.
  const ranges: [number, number][] = file.windows.map(([t1, t2]) => {
    let l = -1;
    let r = -1;
    for (let i = 0; i < n; i++) {
      const ts = file.timestamps[i]!;
      if (ts >= t1 && ts <= t2) {
        if (l < 0) l = i;
        r = i;
      }
    }
    return [l, r];
  });
  const out: NabPoint[] = [];
  let w = 0;
  let prevR = -1;
  let prevWidth = 0;
  for (let i = 0; i < n; i++) {
    const cur = ranges[w];
    const inWin = cur !== undefined && cur[0] >= 0 && i >= cur[0] && i <= cur[1];
    let weight: number;
    if (inWin) {
      const width = cur[1] - cur[0] + 1;
      weight = (scaledSigmoid(-(cur[1] - i + 1) / width) * profile.tpWeight) / maxTp;
    } else {
      weight = (prevR < 0 ? -1 : scaledSigmoid(Math.abs(i - prevR) / (prevWidth - 1))) * profile.fpWeight;
    }
    if (i >= prob) out.push({ score: file.scores[i]!, weight, window: inWin ? windowBase + w : -1 });
    if (inWin && i === cur[1]) {
      prevR = i;
      prevWidth = cur[1] - cur[0] + 1;
      w++;
    }
    while (ranges[w] !== undefined && ranges[w]![0] < 0) w++; // a window with no rows
  }
  return out;
}

/** Score at a fixed threshold: best detection per window (or -fnWeight), plus every false positive. */
export function scoreAtThreshold(points: readonly NabPoint[], windowIds: Iterable<number>, threshold: number, profile: NabProfile): number {
  const parts = new Map<number, number>();
  for (const id of windowIds) parts.set(id, -profile.fnWeight);
  let fp = 0;
  for (const p of points) {
    if (p.score < threshold) continue;
    if (p.window >= 0) parts.set(p.window, Math.max(parts.get(p.window) ?? -profile.fnWeight, p.weight));
    else fp += p.weight;
  }
  let s = fp;
  for (const v of parts.values()) s += v;
  return s;
}

export interface NabThresholdScore {
  readonly threshold: number;
  readonly score: number;
}

/**
 * Sweeps every distinct detector score as a threshold, highest first, and
 * returns the best (on ties the highest threshold, as a stable sort keeps it).
 */
export function sweepBestThreshold(points: readonly NabPoint[], windowIds: Iterable<number>, profile: NabProfile): NabThresholdScore {
  const parts = new Map<number, number>();
  for (const id of windowIds) parts.set(id, -profile.fnWeight);
  let windowSum = -profile.fnWeight * parts.size;
  let fp = 0;
  const order = points.map((_, i) => i).sort((a, b) => points[b]!.score - points[a]!.score || a - b);
  let cur = 1.1;
  let best: NabThresholdScore = { threshold: cur, score: windowSum };
  const record = (threshold: number): void => {
    const total = windowSum + fp;
    if (total > best.score) best = { threshold, score: total };
  };
  for (const idx of order) {
    const p = points[idx]!;
    if (p.score !== cur) {
      record(cur);
      cur = p.score;
    }
    if (p.window >= 0) {
      const old = parts.get(p.window) ?? -profile.fnWeight;
      if (p.weight > old) {
        parts.set(p.window, p.weight);
        windowSum += p.weight - old;
      }
    } else fp += p.weight;
  }
  record(cur);
  return best;
}

/** 100 for the perfect detector, 0 for the one that never fires. */
export function normalizeNab(raw: number, windows: number, profile: NabProfile): number {
  const perfect = windows * profile.tpWeight;
  const nullScore = -windows * profile.fnWeight;
  return (100 * (raw - nullScore)) / (perfect - nullScore);
}

export interface NabFileResult {
  readonly name: string;
  readonly score: number;
  readonly windowsHit: number;
  readonly windows: number;
}

export interface NabCorpusResult {
  readonly profile: NabProfileName;
  readonly threshold: number;
  readonly raw: number;
  readonly normalized: number;
  readonly windows: number;
  readonly windowsHit: number;
  readonly files: NabFileResult[];
}

/**
 * Scores a corpus for one profile: all files' points joined, one sweep for the
 * corpus-wide threshold (or the given one), then per-file scores at it.
 */
export function scoreNabCorpus(files: readonly NabFileInput[], profile: NabProfile, fixedThreshold?: number): NabCorpusResult {
  const perFile: { file: NabFileInput; points: NabPoint[]; ids: number[] }[] = [];
  let base = 0;
  for (const file of files) {
    const points = nabPoints(file, profile, base);
    const ids = file.windows.map((_, k) => base + k);
    perFile.push({ file, points, ids });
    base += file.windows.length;
  }
  const allPoints = perFile.flatMap((f) => f.points);
  const allIds = perFile.flatMap((f) => f.ids);
  const threshold = fixedThreshold ?? sweepBestThreshold(allPoints, allIds, profile).threshold;
  const results = perFile.map(({ file, points, ids }) => {
    const hit = new Set<number>();
    for (const p of points) if (p.window >= 0 && p.score >= threshold) hit.add(p.window);
    return { name: file.name, score: scoreAtThreshold(points, ids, threshold, profile), windowsHit: hit.size, windows: ids.length };
  });
  const raw = results.reduce((s, r) => s + r.score, 0);
  const windowsHit = results.reduce((s, r) => s + r.windowsHit, 0);
  return { profile: profile.name, threshold, raw, normalized: normalizeNab(raw, allIds.length, profile), windows: allIds.length, windowsHit, files: results };
}
