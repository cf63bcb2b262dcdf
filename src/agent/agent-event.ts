// SPDX-License-Identifier: Apache-2.0
/**
 * The agent's event model: what every probe's records become after decoding
 * and enrichment, and what policies, exporters and the live stream see.
 */
import type { SelectorSubject } from './policy/selector.js';

export type AgentProbeName = 'process' | 'tcp';

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
  attributes(): Record<string, string | number | boolean>;
  /** The redacted argv of an exec, for the live stream (attributes carry it joined). */
  commandArgs?(): readonly string[];
  /** The workload, filled in by enrichment. */
  workload: SelectorSubject;
}

/** Wraps an attribute builder so it runs at most once. */
export function memoAttributes(build: () => Record<string, string | number | boolean>): () => Record<string, string | number | boolean> {
  let v: Record<string, string | number | boolean> | undefined;
  return () => (v ??= build());
}
