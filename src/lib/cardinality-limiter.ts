// SPDX-License-Identifier: Apache-2.0
/**
 * Bounds the number of label sets (series) a metric source emits. Known
 * series stay admitted; a new one is admitted while fewer than `maxSeries`
 * are known, else it is refused, counted, and its samples belong in an
 * overflow series. Series idle for `idleMs` are forgotten by `sweep()`, so
 * churn (containers coming and going) does not fill the set for good.
 */
import { InvalidArgumentError } from './errors.js';

export interface CardinalityLimiterOptions {
  /** Most series admitted at once. */
  maxSeries: number;
  /** A series unseen this long is forgotten at the next sweep, ms. Default 10 minutes. */
  idleMs?: number;
  /** Clock, ms. Default Date.now. */
  now?: () => number;
}

export interface CardinalityLimiterStats {
  /** Series admitted now. */
  series: number;
  /** Admissions refused (each refused lookup counts once). */
  overflowed: number;
  /** Series forgotten by sweeps. */
  expired: number;
}

export interface CardinalityLimiter {
  readonly maxSeries: number;
  /** True when the series may have its own labels; false: use the overflow series. */
  admit(key: string): boolean;
  /** Forgets series idle for longer than `idleMs`. */
  sweep(): void;
  stats(): CardinalityLimiterStats;
}

/** Labels of the series that takes every refused series' samples. */
export const OVERFLOW_LABEL = 'maxpro_overflow';

/** Creates a limiter. May throw `InvalidArgumentError`. */
export function createCardinalityLimiter(options: CardinalityLimiterOptions): CardinalityLimiter {
  const { maxSeries } = options;
  if (!Number.isInteger(maxSeries) || maxSeries < 1) throw new InvalidArgumentError(`createCardinalityLimiter: maxSeries ${maxSeries} must be a positive integer`);
  const idleMs = options.idleMs ?? 600_000;
  if (!(idleMs > 0)) throw new InvalidArgumentError(`createCardinalityLimiter: idleMs ${idleMs} must be > 0`);
  const now = options.now ?? Date.now;
  const seen = new Map<string, number>();
  let overflowed = 0;
  let expired = 0;
  return {
    maxSeries,
    admit(key) {
      if (seen.has(key)) {
        seen.set(key, now());
        return true;
      }
      if (seen.size < maxSeries) {
        seen.set(key, now());
        return true;
      }
      overflowed++;
      return false;
    },
    sweep() {
      const cutoff = now() - idleMs;
      for (const [k, t] of seen) {
        if (t < cutoff) {
          seen.delete(k);
          expired++;
        }
      }
    },
    stats: () => ({ series: seen.size, overflowed, expired }),
  };
}
