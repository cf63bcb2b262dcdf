// SPDX-License-Identifier: Apache-2.0
/**
 * The Prometheus text exposition format (version 0.0.4): name checks,
 * escaping and number formatting.
 */
import { InvalidArgumentError } from '../../lib/errors.js';

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** The content type of the text format. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** Throws `InvalidArgumentError` for a name the format does not allow. */
export function checkMetricName(name: string): void {
  if (!METRIC_NAME.test(name)) throw new InvalidArgumentError(`prometheus: invalid metric name ${JSON.stringify(name)}`);
}

/** Throws `InvalidArgumentError` for a bad label name (`__` is reserved). */
export function checkLabelName(name: string): void {
  if (!LABEL_NAME.test(name) || name.startsWith('__')) throw new InvalidArgumentError(`prometheus: invalid label name ${JSON.stringify(name)}`);
}

/** HELP text: backslash and newline are escaped. */
export function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** Label values: backslash, double quote and newline are escaped. */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** A sample value: integers as integers, +Inf/-Inf/NaN spelled as Prometheus reads them. */
export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

/** `{a="x",b="y"}`, or '' without labels. Labels keep the order given. */
export function formatLabels(labels: readonly (readonly [string, string])[]): string {
  if (labels.length === 0) return '';
  return `{${labels.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(',')}}`;
}
