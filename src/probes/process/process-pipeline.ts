// SPDX-License-Identifier: Apache-2.0
/**
 * The process probe with the enrichment stage (src/enrich/process-enricher.ts):
 * one array of schema records per drained batch. The agent's process source
 * and the CLI's local mode both run this, so their records are the same.
 * Redaction runs before anything is cached or emitted, so no output path
 * sees an unredacted argument.
 */
import type { K8sMetadata, K8sMetadataStats } from '../../enrich/k8s-metadata.js';
import type { ProcessCacheOptions, ProcessCacheStats } from '../../enrich/process-cache.js';
import { createProcessEnricher } from '../../enrich/process-enricher.js';
import type { RedactionHook } from '../../enrich/process-enricher.js';
import { createRedactor } from '../../enrich/redaction.js';
import type { Redactor, RedactorOptions } from '../../enrich/redaction.js';
import { startK8sMetadata } from '../../enrich/workload-resolver.js';
import { createProcessProbe } from './process-probe.js';
import type { ProcessProbe, ProcessProbeOptions, ProcessProbeStats } from './process-probe.js';
import type { ProcessRecord } from './process-schema.js';

export interface ProcessPipelineOptions {
  /** Receives each batch's records (already redacted). */
  onRecords(records: ProcessRecord[]): void;
  /** One-line notices for logs (e.g. Kubernetes skipped). Never carries event data. */
  onNotice?(message: string): void;
  onError?(err: unknown): void;
  probe?: Pick<ProcessProbeOptions, 'maxArgs' | 'maxArgBytes' | 'uid' | 'ringBytes' | 'intervalMs'>;
  /** Parents attached to each event. 0 disables. Default 8. */
  ancestryDepth?: number;
  cache?: ProcessCacheOptions;
  /** Seed the cache from /proc at start. Default true. */
  seed?: boolean;
  /** The redactor's options, or a redactor of the caller's (the agent swaps its own on reload). */
  redaction?: RedactorOptions | { hook: RedactionHook & Pick<Redactor, 'stats'> };
  /**
   * Pod metadata: `false` turns it off; a K8sMetadata of the caller's is used
   * as it is (and not closed); options start one of the pipeline's own.
   */
  kubernetes?: false | K8sMetadata | { kubeconfig?: string; nodeName?: string; maxPods?: number };
  /** Most cgroup identities memoised. Default 4096. */
  maxIdentities?: number;
}

export interface ProcessPipelineStats {
  probe: ProcessProbeStats;
  cache: ProcessCacheStats;
  records: number;
  redacted: number;
  kubernetes: K8sMetadataStats | undefined;
}

export interface ProcessPipeline {
  stats(): ProcessPipelineStats;
  /** Prometheus text of the pipeline's counters (no event data). */
  metricsText(): string;
  /** BPF run statistics of the probe's programs. */
  programStats: ProcessProbe['programStats'];
  /** The cgroup filter of the probe (policy push-down). */
  readonly cgroupFilter: ProcessProbe['cgroupFilter'];
  flush(): void;
  close(): Promise<ProcessPipelineStats>;
}

const isK8s = (k: ProcessPipelineOptions['kubernetes']): k is K8sMetadata => typeof k === 'object' && typeof (k as K8sMetadata).lookup === 'function';

/**
 * Starts the probe and the enrichment, with pod metadata of the pipeline's
 * own when `kubernetes` is options (closed with the pipeline). May throw
 * what `openProcessPipeline` throws.
 */
export async function createProcessPipeline(options: ProcessPipelineOptions): Promise<ProcessPipeline> {
  const given = options.kubernetes;
  if (given === false || isK8s(given)) return openProcessPipeline({ ...options, kubernetes: given });
  const own = await startK8sMetadata(given ?? {}, (m) => options.onNotice?.(m));
  let p: ProcessPipeline;
  try {
    p = openProcessPipeline({ ...options, kubernetes: own ?? false });
  } catch (err) {
    await own?.close();
    throw err;
  }
  return { ...p, cgroupFilter: p.cgroupFilter, close: async () => { const s = await p.close(); await own?.close(); return s; } };
}

/**
 * Starts the probe and the enrichment with the pod metadata given (or none).
 * May throw what `createProcessProbe` throws, and `InvalidArgumentError` for
 * bad options.
 */
export function openProcessPipeline(options: ProcessPipelineOptions & { kubernetes?: false | K8sMetadata }): ProcessPipeline {
  const notice = (m: string): void => options.onNotice?.(m);
  const r = options.redaction;
  const redactor = r && 'hook' in r ? r.hook : createRedactor(r);
  const k8s = options.kubernetes || undefined;
  const enricher = createProcessEnricher({
    redaction: redactor,
    ...(options.ancestryDepth !== undefined ? { ancestryDepth: options.ancestryDepth } : {}),
    ...(options.cache ? { cache: options.cache } : {}),
    ...(options.seed !== undefined ? { seed: options.seed } : {}),
    ...(k8s ? { k8s } : {}),
    ...(options.maxIdentities !== undefined ? { maxIdentities: options.maxIdentities } : {}),
    onNotice: notice,
  });
  let records = 0;

  const probe: ProcessProbe = createProcessProbe({
    ...(options.probe ?? {}),
    onError: options.onError,
    onEvents: (events) => {
      const out: ProcessRecord[] = new Array(events.length);
      for (let i = 0; i < events.length; i++) out[i] = enricher.record(events[i]!);
      records += out.length;
      options.onRecords(out);
    },
  });

  const stats = (): ProcessPipelineStats => ({
    probe: probe.stats(),
    cache: enricher.cacheStats(),
    records,
    redacted: redactor.stats().redacted,
    kubernetes: k8s?.stats(),
  });
  let closing: Promise<ProcessPipelineStats> | undefined;
  return {
    stats,
    metricsText(): string {
      const s = stats();
      const lines = [
        '# TYPE maxpro_process_events_total counter',
        ...Object.entries(s.probe.events).map(([t, n]) => `maxpro_process_events_total{type="${t}"} ${n}`),
        '# TYPE maxpro_process_lost_total counter',
        ...Object.entries(s.probe.lost.kernel).map(([r, n]) => `maxpro_process_lost_total{reason="${r}"} ${n}`),
        `maxpro_process_lost_total{reason="reader"} ${s.probe.lost.reader}`,
        `maxpro_process_lost_total{reason="decode"} ${s.probe.lost.decode}`,
        '# TYPE maxpro_process_cache_entries gauge',
        `maxpro_process_cache_entries ${s.cache.entries}`,
        '# TYPE maxpro_process_cache_evictions_total counter',
        `maxpro_process_cache_evictions_total ${s.cache.evictions}`,
        '# TYPE maxpro_process_redacted_total counter',
        `maxpro_process_redacted_total ${s.redacted}`,
      ];
      return `${lines.join('\n')}\n`;
    },
    cgroupFilter: probe.cgroupFilter,
    programStats: () => probe.programStats(),
    flush: () => probe.flush(),
    close(): Promise<ProcessPipelineStats> {
      closing ??= (async () => {
        const ps = await probe.close();
        return { ...stats(), probe: ps };
      })();
      return closing;
    },
  };
}
