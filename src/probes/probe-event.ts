// SPDX-License-Identifier: Apache-2.0
/**
 * The event model every probe's source emits: what its records become after
 * decoding (and, for probes with an enrichment stage, enrichment), and what
 * policies, exporters and the live stream see once the agent has labelled
 * the workload.
 */

/** An exported attribute value: a scalar, a list of strings, or a list of small maps (e.g. an ancestry chain). */
export type ProbeAttributeValue = string | number | boolean | readonly string[] | readonly Readonly<Record<string, string | number>>[];

/** The workload an event belongs to (the agent fills it in; sources leave it empty). */
export interface ProbeEventWorkload {
  labels: Readonly<Record<string, string>>;
  attributes: Partial<Record<string, string>>;
  podName?: string;
}

export interface ProbeEvent {
  /** The probe's name (its module's `name`). */
  probe: string;
  /** Dotted event name, e.g. `process.exec`, `tcp.connect`, `tcp.close`. */
  name: string;
  /** Wall-clock time, ms since the epoch. */
  timeMs: number;
  pid: number;
  tgid: number;
  comm: string;
  /** The executable, for exec events (selectors only; outputs use the redacted attribute). */
  exe?: string;
  cgroupId: number;
  /** Numeric fields predicates can test (the module's `predicateFields`), base units. */
  fields: Partial<Record<string, number>>;
  /**
   * Everything else, exported as attributes; strings are already redacted.
   * Built on first call (and kept): events no output wants never pay for
   * redaction and formatting.
   */
  attributes(): Record<string, ProbeAttributeValue>;
  /** The redacted argv of an exec, for the live stream (attributes carry it joined). */
  commandArgs?(): readonly string[];
  /**
   * The event's record in its kind's schema, when the probe has one. The
   * live stream sends it as it is, so attached CLIs print what a local one
   * prints.
   */
  record?: Readonly<object>;
  /** The workload, filled in by the agent. */
  workload: ProbeEventWorkload;
}

/** The workload of an event the agent has not labelled yet. */
export const NO_WORKLOAD: ProbeEventWorkload = { labels: {}, attributes: {} };

/** Wraps an attribute builder so it runs at most once. */
export function memoAttributes(build: () => Record<string, ProbeAttributeValue>): () => Record<string, ProbeAttributeValue> {
  let v: Record<string, ProbeAttributeValue> | undefined;
  return () => (v ??= build());
}
