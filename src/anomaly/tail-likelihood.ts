// SPDX-License-Identifier: Apache-2.0
/**
 * Turns a raw surprise (e.g. a standardised prediction error) into a score in
 * [0, 1]: a short moving average of the surprise is compared with a Gaussian
 * fitted to its own recent history; the upper-tail probability is log-scaled
 * so that 0.5 means about one in 10^5 and 1 means one in 10^10.
 */

export interface TailLikelihood {
  /** Feeds one surprise, returns the score. */
  update(surprise: number): number;
  /** Rows seen. */
  readonly count: number;
}

export interface TailLikelihoodOptions {
  /** Rows in the short moving average. Default 6. */
  shortWindow?: number;
  /** Rows of history the Gaussian is fitted over. Default 2000. */
  history?: number;
  /** Rows before scoring starts (score 0 before). Default 100. */
  warmup?: number;
}

const LOG_TINY = Math.log(1e-10);

/** Complementary error function (Numerical Recipes' erfcc, |error| < 1.2e-7). */
export function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r = t * Math.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return x >= 0 ? r : 2 - r;
}

export function createTailLikelihood(options: TailLikelihoodOptions = {}): TailLikelihood {
  const shortN = options.shortWindow ?? 6;
  const histN = options.history ?? 2000;
  const warmup = options.warmup ?? 100;
  const short = new Float64Array(shortN);
  const hist = new Float64Array(histN);
  let shortSum = 0;
  let sum = 0;
  let sumSq = 0;
  let n = 0;
  return {
    get count() {
      return n;
    },
    update(surprise) {
      const s = Number.isFinite(surprise) ? surprise : 0;
      const si = n % shortN;
      shortSum += s - short[si]!;
      short[si] = s;
      const avg = shortSum / Math.min(n + 1, shortN);
      let score = 0;
      const m = Math.min(n, histN);
      if (n >= warmup && m > 1) {
        const mean = sum / m;
        const sd = Math.max(Math.sqrt(Math.max(sumSq / m - mean * mean, 0)), 1e-3 * Math.max(1, Math.abs(mean)));
        const q = 0.5 * erfc((avg - mean) / sd / Math.SQRT2);
        score = Math.min(1, Math.log(Math.max(q, 1e-10) + 1e-10) / LOG_TINY);
      }
      const hi = n % histN;
      if (n >= histN) {
        const old = hist[hi]!;
        sum -= old;
        sumSq -= old * old;
      }
      hist[hi] = avg;
      sum += avg;
      sumSq += avg * avg;
      n++;
      return Math.max(0, score);
    },
  };
}
