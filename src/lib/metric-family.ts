// SPDX-License-Identifier: Apache-2.0
/**
 * A point-in-time snapshot of metrics, independent of the wire format: the
 * Prometheus text and OpenMetrics renderers, the remote-write exporter and
 * the OTLP metrics exporter all read it.
 */

export type MetricType = 'counter' | 'gauge' | 'histogram';

export type Labels = Readonly<Record<string, string>>;

export interface ScalarSample {
  labels: Labels;
  value: number;
}

export interface HistogramSample {
  labels: Labels;
  /** Cumulative, strictly increasing `le`, the last one +Inf. */
  buckets: readonly { le: number; count: number }[];
  sum: number;
  count: number;
}

interface FamilyBase {
  /** Without `_total` for counters; the renderers add it. */
  name: string;
  help: string;
  /** Base unit, e.g. `seconds` or `bytes`; informative. */
  unit?: string;
}

export interface CounterFamily extends FamilyBase { type: 'counter'; samples: ScalarSample[] }
export interface GaugeFamily extends FamilyBase { type: 'gauge'; samples: ScalarSample[] }
export interface HistogramFamily extends FamilyBase { type: 'histogram'; samples: HistogramSample[] }

export type MetricFamily = CounterFamily | GaugeFamily | HistogramFamily;

/** Anything that contributes metric families to a scrape. */
export interface MetricsSource {
  collect(): MetricFamily[];
}
