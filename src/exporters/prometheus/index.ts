// SPDX-License-Identifier: Apache-2.0
/** Prometheus text exposition: a registry of metric families and the format's escaping rules. */
export { createMetricRegistry } from './metric-registry.js';
export type { HistogramFamily, HistogramValue, Labels, MetricFamily, MetricRegistry, ScalarFamily } from './metric-registry.js';
export {
  PROMETHEUS_CONTENT_TYPE, checkLabelName, checkMetricName, escapeHelp, escapeLabelValue, formatLabels, formatValue,
} from './text-format.js';
