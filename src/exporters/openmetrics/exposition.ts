// SPDX-License-Identifier: Apache-2.0
/**
 * Renders metric families as the Prometheus text format 0.0.4 or as
 * OpenMetrics 1.0.0, and picks one from a scraper's Accept header. Names
 * and label names are sanitised; label values and HELP text are escaped as
 * each format requires; histograms get `_bucket`/`_sum`/`_count` with `le`,
 * counters `_total`.
 */
import type { Labels, MetricFamily } from '../../lib/metric-family.js';

export type ExpositionFormat = 'prometheus' | 'openmetrics';

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
export const OPENMETRICS_CONTENT_TYPE = 'application/openmetrics-text; version=1.0.0; charset=utf-8';

/**
 * Chooses the format from an Accept header: OpenMetrics when the scraper
 * lists `application/openmetrics-text` with a higher (or equal, earlier)
 * q-value than the text format, else the Prometheus text format.
 */
export function negotiateFormat(accept: string | undefined): ExpositionFormat {
  if (!accept) return 'prometheus';
  let om = -1;
  let text = -1;
  for (const part of accept.split(',')) {
    const [type, ...params] = part.trim().split(';').map((s) => s.trim());
    const qParam = params.find((p) => p.startsWith('q='));
    const q = qParam ? Number(qParam.slice(2)) : 1;
    const version = params.find((p) => p.startsWith('version='))?.slice(8);
    if (type === 'application/openmetrics-text' && (version === undefined || version.startsWith('1.') || version.startsWith('0.0.1'))) {
      om = Math.max(om, q);
    } else if (type === 'text/plain' || type === '*/*' || type === 'text/*') text = Math.max(text, q);
  }
  return om > 0 && om >= text ? 'openmetrics' : 'prometheus';
}

/** A valid metric name: invalid characters become `_`, a leading digit gets `_`. */
export function sanitizeMetricName(name: string): string {
  const s = name.replace(/[^a-zA-Z0-9_:]/g, '_');
  return /^[0-9]/.test(s) ? `_${s}` : s;
}

/** A valid label name (no colons; `__` prefix is reserved, so it is stripped to one `_`). */
export function sanitizeLabelName(name: string): string {
  let s = name.replace(/[^a-zA-Z0-9_]/g, '_');
  if (/^[0-9]/.test(s)) s = `_${s}`;
  return s.replace(/^__+/, '_');
}

/** Label value escaping, the same in both formats: backslash, double quote, newline. */
export function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** HELP escaping: the text format escapes backslash and newline; OpenMetrics also the double quote. */
export function escapeHelp(v: string, format: ExpositionFormat): string {
  const s = v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
  return format === 'openmetrics' ? s.replace(/"/g, '\\"') : s;
}

export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return Number.isInteger(v) && Math.abs(v) < 1e21 ? v.toFixed(0) : String(v);
}

/** `le` as each format writes it: OpenMetrics uses canonical floats (`1.0`), the text format Go's shortest form (`1`). */
export function formatLe(le: number, format: ExpositionFormat): string {
  const v = formatValue(le);
  return format === 'openmetrics' && Number.isFinite(le) && Number.isInteger(le) ? `${v}.0` : v;
}

function labelText(labels: Labels, extra?: [string, string]): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(labels)) parts.push(`${sanitizeLabelName(k)}="${escapeLabelValue(v)}"`);
  if (extra) parts.push(`${extra[0]}="${escapeLabelValue(extra[1])}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
}

function counterBase(name: string): string {
  return name.endsWith('_total') ? name.slice(0, -6) : name;
}

/**
 * Renders families in order. Families with the same name are merged (the
 * first one's HELP and TYPE win) so the output never repeats a TYPE line.
 */
export function renderExposition(families: readonly MetricFamily[], format: ExpositionFormat): string {
  const merged = new Map<string, MetricFamily>();
  for (const f of families) {
    const key = sanitizeMetricName(f.type === 'counter' ? counterBase(f.name) : f.name);
    const prev = merged.get(key);
    if (!prev) merged.set(key, { ...f, samples: [...f.samples] } as MetricFamily);
    else if (prev.type === f.type) (prev.samples as unknown[]).push(...f.samples);
  }
  const out: string[] = [];
  for (const [base, f] of merged) {
    const typeName = f.type === 'counter' && format === 'prometheus' ? `${base}_total` : base;
    out.push(`# HELP ${typeName} ${escapeHelp(f.help, format)}`);
    out.push(`# TYPE ${typeName} ${f.type}`);
    switch (f.type) {
      case 'counter':
        for (const s of f.samples) out.push(`${base}_total${labelText(s.labels)} ${formatValue(s.value)}`);
        break;
      case 'gauge':
        for (const s of f.samples) out.push(`${base}${labelText(s.labels)} ${formatValue(s.value)}`);
        break;
      case 'histogram':
        for (const s of f.samples) {
          for (const b of s.buckets) out.push(`${base}_bucket${labelText(s.labels, ['le', formatLe(b.le, format)])} ${formatValue(b.count)}`);
          out.push(`${base}_sum${labelText(s.labels)} ${formatValue(s.sum)}`);
          out.push(`${base}_count${labelText(s.labels)} ${formatValue(s.count)}`);
        }
        break;
    }
  }
  if (format === 'openmetrics') out.push('# EOF');
  return out.join('\n') + '\n';
}
