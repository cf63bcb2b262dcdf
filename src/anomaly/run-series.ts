// SPDX-License-Identifier: Apache-2.0
/** Runs the detector over a whole series, collecting alerts and the band for pictures. */
import { createAnomalyDetector } from './anomaly-detector.js';
import type { AnomalyAlert, AnomalyDetectorOptions } from './anomaly-detector.js';
import type { Series } from './series-reader.js';
import type { ScoredSeries } from './series-picture.js';

export interface SeriesResult {
  readonly scored: ScoredSeries;
  readonly alerts: AnomalyAlert[];
  readonly rows: number;
}

export function runSeries(s: Series, options: AnomalyDetectorOptions): SeriesResult {
  const det = createAnomalyDetector(options);
  const lo: number[] = [];
  const hi: number[] = [];
  const idx: number[] = [];
  const alerts: AnomalyAlert[] = [];
  for (let i = 0; i < s.t.length; i++) {
    const r = det.update(s.t[i]!, s.v[i]!);
    lo.push(r.band[0]);
    hi.push(r.band[1]);
    if (r.alert) {
      alerts.push(r.alert);
      idx.push(i);
    }
  }
  return { scored: { name: s.name, t: s.t, v: s.v, lo, hi, alerts: idx }, alerts, rows: s.t.length };
}
