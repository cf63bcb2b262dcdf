// SPDX-License-Identifier: Apache-2.0
/**
 * The agent's event model: what every probe's records become after decoding
 * and enrichment, and what policies, exporters and the live stream see.
 */
import type { SelectorSubject } from './policy/selector.js';
import type { ProbeName } from '../probes/registry.js';

export type AgentProbeName = ProbeName;

/** An exported attribute value: a scalar, a list of strings, or a list of small maps (e.g. an ancestry chain). */
export type AgentAttributeValue = string | number | boolean | readonly string[] | readonly Readonly<Record<string, string | number>>[];

export interface AgentEvent {
  probe: AgentProbeName;
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
  /** Numeric fields predicates can test (see PREDICATE_FIELDS), base units. */
  fields: Partial<Record<string, number>>;
  /**
   * Everything else, exported as attributes; strings are already redacted.
   * Built on first call (and kept): events no output wants never pay for
   * redaction and formatting.
   */
  attributes(): Record<string, AgentAttributeValue>;
  /** The redacted argv of an exec, for the live stream (attributes carry it joined). */
  commandArgs?(): readonly string[];
  /**
   * The event's record in its kind's schema, when the probe has one (process
   * events: src/probes/process/process-schema.ts). The live stream sends it
   * as it is, so attached CLIs print what a local one prints.
   */
  record?: Readonly<object>;
  /** The workload, filled in by enrichment. */
  workload: SelectorSubject;
}

/** Wraps an attribute builder so it runs at most once. */
export function memoAttributes(build: () => Record<string, AgentAttributeValue>): () => Record<string, AgentAttributeValue> {
  let v: Record<string, AgentAttributeValue> | undefined;
  return () => (v ??= build());
}
