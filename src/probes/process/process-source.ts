// SPDX-License-Identifier: Apache-2.0
/**
 * The process probe as an agent source: exec, fork and exit events, enriched
 * by the same pipeline the CLI's local mode runs (process cache with
 * ancestry, identity, pod metadata, redaction), so each event carries its
 * schema record (src/probes/process/process-schema.ts).
 */
import type { K8sMetadata } from '../../enrich/k8s-metadata.js';
import type { RedactionHook } from '../../enrich/process-enricher.js';
import type { Redactor } from '../../enrich/redaction.js';
import type { MetricFamily } from '../../lib/metric-family.js';
import { processRecordAttributes } from './process-schema.js';
import type { ProcessRecord } from './process-schema.js';
import { memoAttributes, NO_WORKLOAD } from '../probe-event.js';
import type { ProbeEvent } from '../probe-event.js';
import type { ProbeSource } from '../probe-module.js';
import { bootNsToWallMs } from '../boot-clock.js';
import { openProcessPipeline } from './process-pipeline.js';
import type { ProcessConfig } from './process-module.js';

const NAME = 'process';

export interface ProcessSourceOptions {
  maxArgs: number;
  maxArgBytes: number;
  /** The agent's redactor; called through on every event, so a reload's new one applies at once. */
  redaction: RedactionHook & Pick<Redactor, 'stats'>;
  /** Parents on each record. Default 8. */
  ancestryDepth?: number;
  /** The agent's pod metadata, when a cluster is configured. */
  k8s?: K8sMetadata;
  /** Receives each event (enriched, not yet labelled by workload). */
  emit(e: ProbeEvent): void;
  onError?(err: unknown): void;
  onNotice?(message: string): void;
}

/** The agent event of one schema record: predicate fields, selector inputs, the record itself. */
export function toAgentEvent(r: ProcessRecord): ProbeEvent {
  const fields: ProbeEvent['fields'] = {};
  if (r['event.name'] === 'process.exec') fields['process.args.count'] = r['maxpro.args.count'] ?? 0;
  else if (r['event.name'] === 'process.exit') {
    if (r['process.exit.code'] !== undefined) fields['process.exit.code'] = r['process.exit.code'];
    fields['process.exit.signal'] = r['maxpro.exit.signal'] ?? 0;
  }
  const args = r['process.command_args'];
  return {
    probe: NAME, name: r['event.name'], timeMs: bootNsToWallMs(r['maxpro.boot_ns']),
    pid: r['maxpro.tid'], tgid: r['process.pid'], comm: r['maxpro.comm'], cgroupId: r['maxpro.cgroup.id'],
    ...(r['event.name'] === 'process.exec' && r['process.executable.path'] ? { exe: r['process.executable.path'] } : {}),
    workload: NO_WORKLOAD, fields,
    attributes: memoAttributes(() => processRecordAttributes(r)),
    ...(args ? { commandArgs: () => args } : {}),
    record: r,
  };
}

/** Loads the process probe. May throw what `createProcessProbe` throws. */
export function createProcessSource(options: ProcessSourceOptions): ProbeSource<ProcessConfig> {
  let events = 0;
  const pipeline = openProcessPipeline({
    probe: { maxArgs: options.maxArgs, maxArgBytes: options.maxArgBytes },
    redaction: { hook: options.redaction },
    kubernetes: options.k8s ?? false,
    ...(options.ancestryDepth !== undefined ? { ancestryDepth: options.ancestryDepth } : {}),
    onRecords: (records) => {
      for (const r of records) {
        events++;
        options.emit(toAgentEvent(r));
      }
    },
    ...(options.onError ? { onError: options.onError } : {}),
    ...(options.onNotice ? { onNotice: options.onNotice } : {}),
  });
  return {
    name: NAME,
    cgroupFilter: pipeline.cgroupFilter,
    stats() {
      const l = pipeline.stats().probe.lost;
      const lost: Record<string, number> = {};
      for (const [k, v] of Object.entries(l.kernel)) lost[k] = v;
      lost.reader = l.reader;
      lost.decode = l.decode;
      return { events, lost, programs: pipeline.programStats() };
    },
    metrics(): MetricFamily[] {
      const s = pipeline.stats();
      return [{
        name: 'maxpro_process_events', type: 'counter', help: 'Process events decoded, by type.',
        samples: Object.entries(s.probe.events).map(([type, value]) => ({ labels: { type }, value })),
      }];
    },
    flush: () => pipeline.flush(),
    reconfigure: () => undefined,
    async unload() {
      await pipeline.close();
    },
  };
}
