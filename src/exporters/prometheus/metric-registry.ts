// SPDX-License-Identifier: Apache-2.0
/**
 * A registry of metric families rendered as Prometheus text. Families hold
 * absolute values set by a collector (the kernel keeps cumulative counts,
 * so a collector sets rather than increments). Series are keyed by their
 * label values in the family's label order.
 */
import { InvalidArgumentError } from '../../lib/errors.js';
import { checkLabelName, checkMetricName, escapeHelp, formatLabels, formatValue } from './text-format.js';

export type Labels = Readonly<Record<string, string>>;

/** A histogram sample: cumulative buckets by upper bound (the last is +Inf), sum and count. */
export interface HistogramValue {
  buckets: readonly { le: number; count: number }[];
  sum: number;
  count: number;
}

interface FamilyBase {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly string[];
  /** Removes every series (a collector then sets the current ones). */
  clear(): void;
  readonly size: number;
}

/** A counter or gauge family. */
export interface ScalarFamily extends FamilyBase {
  readonly type: 'counter' | 'gauge';
  set(labels: Labels, value: number): void;
  /** Adds to a series (0 when absent). */
  add(labels: Labels, value: number): void;
}

export interface HistogramFamily extends FamilyBase {
  readonly type: 'histogram';
  set(labels: Labels, value: HistogramValue): void;
}

export type MetricFamily = ScalarFamily | HistogramFamily;

export interface MetricRegistry {
  /** A counter; `name` must end in `_total`. */
  counter(name: string, help: string, labelNames?: readonly string[]): ScalarFamily;
  gauge(name: string, help: string, labelNames?: readonly string[]): ScalarFamily;
  histogram(name: string, help: string, labelNames?: readonly string[]): HistogramFamily;
  readonly families: readonly MetricFamily[];
  /** The whole registry in the text format, families in registration order. */
  render(): string;
}

function keyOf(labelNames: readonly string[], labels: Labels, family: string): string[] {
  const values: string[] = [];
  for (const n of labelNames) {
    const v = labels[n];
    if (v === undefined) throw new InvalidArgumentError(`${family}: missing label ${n}`);
    values.push(v);
  }
  if (Object.keys(labels).length !== labelNames.length) {
    throw new InvalidArgumentError(`${family}: labels ${Object.keys(labels).join(',')} do not match ${labelNames.join(',')}`);
  }
  return values;
}

/** Creates an empty registry. */
export function createMetricRegistry(): MetricRegistry {
  const families: MetricFamily[] = [];
  const names = new Set<string>();
  const register = (name: string, labelNames: readonly string[]): void => {
    checkMetricName(name);
    for (const l of labelNames) checkLabelName(l);
    if (new Set(labelNames).size !== labelNames.length) throw new InvalidArgumentError(`${name}: duplicate label names`);
    if (names.has(name)) throw new InvalidArgumentError(`metric ${name} is already registered`);
    names.add(name);
  };
  const scalarStore = new WeakMap<ScalarFamily, Map<string, { values: string[]; value: number }>>();
  const scalar = (type: 'counter' | 'gauge', name: string, help: string, labelNames: readonly string[]): ScalarFamily => {
    register(name, labelNames);
    const series = new Map<string, { values: string[]; value: number }>();
    const fam: ScalarFamily = {
      type, name, help, labelNames,
      set(labels, value) {
        if (type === 'counter' && !(value >= 0)) throw new InvalidArgumentError(`${name}: counter value ${value} must be >= 0`);
        const values = keyOf(labelNames, labels, name);
        series.set(JSON.stringify(values), { values, value });
      },
      add(labels, value) {
        const values = keyOf(labelNames, labels, name);
        const k = JSON.stringify(values);
        const s = series.get(k);
        if (s) s.value += value;
        else series.set(k, { values, value });
      },
      clear: () => series.clear(),
      get size() { return series.size; },
    };
    scalarStore.set(fam, series);
    families.push(fam);
    return fam;
  };
  const histSeries = new WeakMap<HistogramFamily, Map<string, { values: string[]; value: HistogramValue }>>();

  return {
    counter(name, help, labelNames = []) {
      if (!name.endsWith('_total')) throw new InvalidArgumentError(`counter ${name}: name must end in _total`);
      return scalar('counter', name, help, labelNames);
    },
    gauge: (name, help, labelNames = []) => scalar('gauge', name, help, labelNames),
    histogram(name, help, labelNames = []) {
      register(name, labelNames);
      if (labelNames.includes('le')) throw new InvalidArgumentError(`${name}: le is reserved in histograms`);
      const series = new Map<string, { values: string[]; value: HistogramValue }>();
      const fam: HistogramFamily = {
        type: 'histogram', name, help, labelNames,
        set(labels, value) {
          const last = value.buckets[value.buckets.length - 1];
          if (!last || last.le !== Infinity) throw new InvalidArgumentError(`${name}: buckets must end with le=+Inf`);
          for (let i = 1; i < value.buckets.length; i++) {
            if (value.buckets[i]!.count < value.buckets[i - 1]!.count) throw new InvalidArgumentError(`${name}: bucket counts must be cumulative`);
          }
          const values = keyOf(labelNames, labels, name);
          series.set(JSON.stringify(values), { values, value });
        },
        clear: () => series.clear(),
        get size() { return series.size; },
      };
      histSeries.set(fam, series);
      families.push(fam);
      return fam;
    },
    get families() { return families; },
    render(): string {
      const out: string[] = [];
      for (const f of families) {
        out.push(`# HELP ${f.name} ${escapeHelp(f.help)}`);
        out.push(`# TYPE ${f.name} ${f.type}`);
        if (f.type === 'histogram') {
          for (const { values, value } of histSeries.get(f)!.values()) {
            const base = f.labelNames.map((n, i) => [n, values[i]!] as const);
            for (const b of value.buckets) out.push(`${f.name}_bucket${formatLabels([...base, ['le', formatValue(b.le)]])} ${formatValue(b.count)}`);
            out.push(`${f.name}_sum${formatLabels(base)} ${formatValue(value.sum)}`);
            out.push(`${f.name}_count${formatLabels(base)} ${formatValue(value.count)}`);
          }
        } else {
          for (const { values, value } of scalarStore.get(f)!.values()) {
            out.push(`${f.name}${formatLabels(f.labelNames.map((n, i) => [n, values[i]!] as const))} ${formatValue(value)}`);
          }
        }
      }
      return `${out.join('\n')}\n`;
    },
  };
}
