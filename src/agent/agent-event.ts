// SPDX-License-Identifier: Apache-2.0
/**
 * The agent's event model: a probe's event (src/probes/probe-event.ts) once
 * the agent has labelled its workload; what policies, exporters and the
 * live stream see.
 */
import type { SelectorSubject } from './policy/selector.js';
import type { ProbeAttributeValue, ProbeEvent } from '../probes/probe-event.js';
import type { ProbeName } from '../probes/registry.js';

export type AgentProbeName = ProbeName;

export type AgentAttributeValue = ProbeAttributeValue;

export interface AgentEvent extends ProbeEvent {
  probe: AgentProbeName;
  /** The workload, filled in by enrichment. */
  workload: SelectorSubject;
}

export { memoAttributes } from '../probes/probe-event.js';
