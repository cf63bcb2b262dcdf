// SPDX-License-Identifier: Apache-2.0
/**
 * The causal streaming anomaly detector: each row is seen once, in order.
 * Members: a seasonal baseline (prediction error -> likelihood), an LSTM
 * predictor (same likelihood step), novelty against the range seen so far,
 * and level-shift detection with re-baselining. In the ensemble the two
 * forecasts are combined with weights inversely proportional to their
 * long-run squared errors (Bates-Granger); the surprise fed to the likelihood
 * is the smaller of the seasonal and the combined standardised errors. The
 * LSTM member is the mean of LSTM_NETS nets from different seeds, which
 * tames the spread one network's initialisation gives. After an alert the detector
 * cools down. Every alert carries its explanation.
 */
import { createSeasonalBaseline } from './seasonal-baseline.js';
import type { BaselineKind } from './seasonal-baseline.js';
import { createTailLikelihood } from './tail-likelihood.js';
import { createLstmPredictor } from './lstm-predictor.js';
import { InvalidArgumentError } from '../lib/errors.js';

export type AnomalyModel = 'stat' | 'lstm' | 'ensemble';
export type AnomalyMember = 'seasonal' | 'prediction' | 'novelty' | 'level_shift';

export interface AnomalyDetectorOptions {
  model?: AnomalyModel;
  /** Rows the baseline learns before it may alert. Default 750. */
  learnRows?: number;
  /** Score at or above which a row alerts. Default 0.5 (0.55 for the ensemble). */
  alertScore?: number;
  /** Rows after an alert during which the score is held at 0. Default learnRows / 5. */
  cooldownRows?: number;
  seed?: number;
}

export interface AnomalyAlert {
  readonly t: number;
  readonly value: number;
  readonly expected: number;
  readonly band: readonly [number, number];
  readonly score: number;
  readonly member: AnomalyMember;
  readonly baseline: BaselineKind | 'lstm';
  /** Rows and ms the baseline has been learning when the alert fired. */
  readonly learnedRows: number;
  readonly learnedMs: number;
}

export interface AnomalyStep {
  /** In [0, 1]. */
  readonly score: number;
  readonly expected: number;
  readonly band: readonly [number, number];
  readonly alert?: AnomalyAlert;
}

export interface AnomalyDetector {
  /** One row; NaN or non-finite values score 0 and teach nothing. */
  update(t: number, value: number): AnomalyStep;
}

const NOVELTY_TOLERANCE = 0.05;
const LSTM_NETS = 3;
const WEIGHT_ALPHA = 0.005;
const DAY = 86_400_000;

export function createAnomalyDetector(options: AnomalyDetectorOptions = {}): AnomalyDetector {
  const model = options.model ?? 'ensemble';
  if (!['stat', 'lstm', 'ensemble'].includes(model)) throw new InvalidArgumentError(`model must be stat, lstm or ensemble, got "${String(model)}"`);
  const learnRows = options.learnRows ?? 750;
  // The ensemble's surprise is the smaller of two, so its own history is narrower and its likelihood runs higher on noise.
  const alertScore = options.alertScore ?? (model === 'ensemble' ? 0.55 : 0.5);
  const cooldownRows = options.cooldownRows ?? Math.max(1, Math.round(learnRows / 5));
  if (!(learnRows >= 1) || !(cooldownRows >= 0) || !(alertScore > 0 && alertScore <= 1)) throw new InvalidArgumentError('learnRows >= 1, cooldownRows >= 0 and 0 < alertScore <= 1 are required');
  const useStat = model !== 'lstm';
  const useLstm = model !== 'stat';
  const baseline = createSeasonalBaseline();
  const statLik = createTailLikelihood({ warmup: Math.min(100, learnRows) });
  const lstmLik = createTailLikelihood({ warmup: Math.min(100, Math.ceil(learnRows / 2)) });
  const nets = useLstm ? Array.from({ length: LSTM_NETS }, (_, k) => createLstmPredictor(3, { seed: (options.seed ?? 1) + 1000 * k, learnRows })) : [];
  const lstm = useLstm ? {
    teach(target: number): void {
      for (const n of nets) n.teach(target);
    },
    step(x: ArrayLike<number>): number {
      let y = 0;
      for (const n of nets) y += n.step(x);
      return y / nets.length;
    },
  } : undefined;
  const lstmIn = new Float64Array(3);
  let rows = 0;
  let firstT = NaN;
  let min = Infinity;
  let max = -Infinity;
  let spread = NaN; // mean absolute prediction error of the baseline
  let lstmSpread = NaN;
  let comboSpread = NaN; // mean absolute error of the ensemble's combined forecast
  let rawLstmErr = Infinity; // mean absolute LSTM error in value units
  let slowSpread = NaN; // the same two errors over a longer memory, for the ensemble's weights
  let slowLstmErr = Infinity;
  let mean = 0; // running normalisation for the LSTM input
  let m2 = 0;
  let lstmPred = NaN; // normalised prediction for this row
  let cooldown = 0;
  let shiftRun = 0;
  let shiftSum = 0;
  const shiftRows = 12;

  return {
    update(t, value) {
      if (!Number.isFinite(value) || !Number.isFinite(t)) {
        const nan = Number.NaN;
        return { score: 0, expected: nan, band: [nan, nan] };
      }
      if (Number.isNaN(firstT)) firstT = t;
      const pred = baseline.predict(t);
      const baseExpected = pred?.value ?? value;
      const lstmStd = rows > 1 ? Math.sqrt(m2 / (rows - 1)) : 0;
      const lstmExpected = Number.isNaN(lstmPred) ? NaN : mean + lstmPred * lstmStd;
      // Ensemble: inverse-error-variance weights, once the LSTM has had half the learning period. The weights
      // follow errors over ~200 rows, not the ~50 of the spreads, so a sustained anomaly does not hand the
      // expectation to the member that chases it.
      let comboExpected = NaN;
      let lstmWeight = 0;
      if (model === 'ensemble' && !Number.isNaN(lstmExpected) && rows >= learnRows / 2 && Number.isFinite(slowLstmErr) && !Number.isNaN(slowSpread)) {
        const ws = 1 / (slowSpread * slowSpread + 1e-12);
        const wl = 1 / (slowLstmErr * slowLstmErr + 1e-12);
        lstmWeight = wl / (ws + wl);
        comboExpected = baseExpected + lstmWeight * (lstmExpected - baseExpected);
      }
      const useCombo = !Number.isNaN(comboExpected) && !Number.isNaN(comboSpread);
      const expected = useCombo ? comboExpected : baseExpected;
      const err = value - expected;
      const sd = useCombo ? comboSpread * 1.25 : Number.isNaN(spread) ? 0 : spread * 1.25;
      const floor = 1e-9 + 1e-6 * Math.abs(expected);
      const z = err / (sd + floor);
      const band: [number, number] = [expected - 3 * sd, expected + 3 * sd];

      let statScore = 0;
      // A row is as surprising as its best explanation: the combined forecast may explain away a seasonal surprise, never add one.
      const surprise = useCombo ? Math.min(Math.abs(z), Math.abs(value - baseExpected) / (spread * 1.25 + floor)) : Math.abs(z);
      if (useStat) statScore = statLik.update(Math.min(surprise, 20));

      let lstmScore = 0;
      if (lstm) {
        const norm = (value - mean) / (lstmStd + floor);
        if (!Number.isNaN(lstmPred)) {
          lstm.teach(norm);
          const e = Math.abs(norm - lstmPred);
          const s = Number.isNaN(lstmSpread) ? e : lstmSpread;
          // Errors of the first half of training say little about the trained model: not fed to its likelihood.
          if (rows >= learnRows / 2) lstmScore = lstmLik.update(Math.min(e / (s * 1.25 + 1e-6), 20));
          lstmSpread = Number.isNaN(lstmSpread) ? e : lstmSpread + 0.02 * (e - lstmSpread);
        }
        const phase = ((((t - firstT) % DAY) + DAY) % DAY) / DAY;
        lstmIn[0] = norm;
        lstmIn[1] = Math.sin(2 * Math.PI * phase);
        lstmIn[2] = Math.cos(2 * Math.PI * phase);
        lstmPred = lstm.step(lstmIn);
      }

      // Novelty: beyond the range seen so far by a share of that range.
      const range = max - min;
      const novel = rows >= learnRows && range > 0 && (value > max + NOVELTY_TOLERANCE * range || value < min - NOVELTY_TOLERANCE * range);

      // Level shift: the baseline error keeps one sign and stays large.
      if (rows >= learnRows && Math.abs(z) > 3 && (shiftRun === 0 || Math.sign(z) === Math.sign(shiftSum))) {
        shiftRun++;
        shiftSum += z;
      } else {
        shiftRun = 0;
        shiftSum = 0;
      }
      const shifted = useStat && shiftRun >= shiftRows;

      let member: AnomalyMember = 'seasonal';
      let score = model === 'lstm' ? lstmScore : model === 'stat' ? statScore : statScore;
      // The LSTM is named when it carried most of the combined expectation.
      if (model === 'lstm' || (useCombo && lstmWeight > 0.5)) member = 'prediction';
      if (novel) {
        score = 1;
        member = 'novelty';
      }
      if (shifted) {
        score = Math.max(score, alertScore);
        member = 'level_shift';
        baseline.rebaseline(value);
        shiftRun = 0;
        shiftSum = 0;
      }
      if (rows < learnRows) score = 0;

      let alert: AnomalyAlert | undefined;
      if (cooldown > 0) {
        cooldown--;
        score = 0;
      } else if (score >= alertScore) {
        cooldown = cooldownRows;
        alert = { t, value, expected, band, score, member, baseline: member === 'prediction' ? 'lstm' : (pred?.kind ?? 'last'), learnedRows: rows, learnedMs: t - firstT };
      }

      // Learn.
      baseline.learn(t, value);
      const eb = Math.abs(value - baseExpected);
      if (pred) {
        spread = Number.isNaN(spread) ? eb : spread + 0.02 * (eb - spread);
        slowSpread = Number.isNaN(slowSpread) ? eb : slowSpread + WEIGHT_ALPHA * (eb - slowSpread);
      }
      if (!Number.isNaN(comboExpected)) {
        const ec = Math.abs(value - comboExpected);
        comboSpread = Number.isNaN(comboSpread) ? ec : comboSpread + 0.02 * (ec - comboSpread);
      }
      if (!Number.isNaN(lstmExpected)) {
        const el = Math.abs(value - lstmExpected);
        rawLstmErr = rawLstmErr === Infinity ? el : rawLstmErr + 0.02 * (el - rawLstmErr);
        slowLstmErr = slowLstmErr === Infinity ? el : slowLstmErr + WEIGHT_ALPHA * (el - slowLstmErr);
      }
      if (value < min) min = value;
      if (value > max) max = value;
      rows++;
      const d = value - mean;
      mean += d / rows;
      m2 += d * (value - mean);
      return alert ? { score, expected, band, alert } : { score, expected, band };
    },
  };
}
