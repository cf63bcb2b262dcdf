// SPDX-License-Identifier: Apache-2.0
/** Log-linear histograms: the in-kernel bucket scheme, quantiles, and conversion to Prometheus and OTLP. */
export {
  HIST_BUCKETS, HIST_MAX_EXP, HIST_MAX_RELATIVE_ERROR, HIST_MIN_EXP, HIST_SUB, HIST_SUB_BITS,
  bucketIndex, bucketLower, bucketUpper,
} from './log-linear-scheme.js';
export { createLogLinearHistogram, mergeInto, quantile, recordValue, subtract } from './log-linear-histogram.js';
export type { LogLinearHistogram } from './log-linear-histogram.js';
export { defaultBounds, toPrometheusBuckets } from './prometheus-buckets.js';
export type { CumulativeBucket } from './prometheus-buckets.js';
export { exponentialIndex, toExponentialHistogram } from './exponential-histogram.js';
export type { ExponentialHistogramPoint } from './exponential-histogram.js';
