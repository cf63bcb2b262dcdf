// SPDX-License-Identifier: Apache-2.0
/**
 * Continuous evaluation of the collector's RED series: one detector per
 * (service, operation, signal), fed each closed step once, in order. A step
 * is closed when it ended `delayMs` ago, so spans still in an exporter's
 * batch reach their bucket first. The first evaluation reads `historyMs` back
 * so that detectors start with a learned baseline. A tracked series that the
 * collector no longer returns had no spans: its rate is 0 and the other
 * signals are gaps, so a service that stops answering alerts on its rate.
 * Series are capped; the ones beyond the cap are counted, not evaluated.
 */
import { createAnomalyDetector } from './anomaly-detector.js';
import type { AnomalyAlert, AnomalyDetector, AnomalyDetectorOptions } from './anomaly-detector.js';
import { readRedSeries, redValue } from './red-source.js';
import type { RedClient, RedSeries, RedSignal } from './red-source.js';

export interface RedWatchOptions {
  client: RedClient;
  stepMs: number;
  /** How long after a step ends it is evaluated. Default 5 s. */
  delayMs?: number;
  /** How far back the first evaluation reads. Default 0 (start learning now). */
  historyMs?: number;
  services?: readonly string[];
  operation?: string;
  signals?: readonly RedSignal[];
  detector?: AnomalyDetectorOptions;
  /** Most series evaluated at once. Default 1000. */
  maxSeries?: number;
}

export interface RedAlert extends AnomalyAlert {
  readonly labels: RedSeries['labels'];
}

export interface RedScore {
  readonly labels: RedSeries['labels'];
  readonly score: number;
  readonly t: number;
  readonly alerts: number;
}

export interface RedWatchStats {
  steps: number;
  series: number;
  droppedSeries: number;
  queryErrors: number;
  /** Reads whose figures cover only part of the step (the collector's scan cap). */
  truncatedReads: number;
}

export interface RedWatch {
  /** Evaluates every step closed at `nowMs` not yet seen; resolves to the alerts they raised. */
  tick(nowMs: number): Promise<RedAlert[]>;
  /** The latest score of each series. */
  scores(): RedScore[];
  stats(): RedWatchStats;
}

interface Tracked {
  det: AnomalyDetector;
  labels: RedSeries['labels'];
  lastT: number;
  score: number;
  alerts: number;
}

const NO_SPANS = { startNs: '0', count: 0, rate: 0, errorRatio: 0, p50Ms: 0, p90Ms: 0, p99Ms: 0 };

export function createRedWatch(o: RedWatchOptions): RedWatch {
  const stepMs = o.stepMs;
  const delayMs = o.delayMs ?? 5000;
  const maxSeries = o.maxSeries ?? 1000;
  const tracked = new Map<string, Tracked>();
  const dropped = new Set<string>();
  let nextStart = NaN; // start of the first step not yet evaluated
  const stats: RedWatchStats = { steps: 0, series: 0, droppedSeries: 0, queryErrors: 0, truncatedReads: 0 };

  return {
    async tick(nowMs) {
      const closedEnd = Math.floor((nowMs - delayMs) / stepMs) * stepMs;
      if (Number.isNaN(nextStart)) nextStart = closedEnd - Math.max(stepMs, Math.floor((o.historyMs ?? 0) / stepMs) * stepMs);
      if (closedEnd <= nextStart) return [];
      let series: RedSeries[];
      try {
        series = await readRedSeries(o.client, {
          startMs: nextStart,
          endMs: closedEnd,
          stepMs,
          onTruncated: () => { stats.truncatedReads++; },
          ...(o.services ? { services: o.services } : {}),
          ...(o.operation !== undefined ? { operation: o.operation } : {}),
          ...(o.signals ? { signals: o.signals } : {}),
        });
      } catch (err) {
        stats.queryErrors++;
        throw err;
      }
      const alerts: RedAlert[] = [];
      const feed = (tr: Tracked, t: number, v: number): void => {
        const r = tr.det.update(t, v);
        tr.lastT = t;
        tr.score = r.score;
        if (r.alert) {
          tr.alerts++;
          alerts.push({ ...r.alert, labels: tr.labels });
        }
      };
      const seen = new Set<string>();
      for (const s of series) {
        seen.add(s.name);
        let tr = tracked.get(s.name);
        if (!tr) {
          if (tracked.size >= maxSeries) {
            dropped.add(s.name);
            stats.droppedSeries = dropped.size;
            continue;
          }
          tr = { det: createAnomalyDetector(o.detector), labels: s.labels, lastT: -Infinity, score: 0, alerts: 0 };
          tracked.set(s.name, tr);
        }
        for (let i = 0; i < s.t.length; i++) if (s.t[i]! > tr.lastT) feed(tr, s.t[i]!, s.v[i]!);
      }
      for (const [name, tr] of tracked) {
        if (seen.has(name)) continue;
        const v = redValue(NO_SPANS, tr.labels.signal);
        for (let t = Math.max(nextStart, tr.lastT + stepMs); t < closedEnd; t += stepMs) feed(tr, t, v);
      }
      stats.steps += Math.round((closedEnd - nextStart) / stepMs);
      stats.series = tracked.size;
      nextStart = closedEnd;
      return alerts.sort((a, b) => a.t - b.t);
    },
    scores: () => [...tracked.values()].map((t) => ({ labels: t.labels, score: t.score, t: t.lastT, alerts: t.alerts })),
    stats: () => ({ ...stats }),
  };
}
