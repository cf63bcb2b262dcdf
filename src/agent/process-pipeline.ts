// SPDX-License-Identifier: Apache-2.0
/**
 * The process probe with its enrichment: process cache (ancestry), cgroup
 * path, container and pod identity, pod metadata and redaction. Emits one
 * array of ProcessRecord per drained batch. Redaction runs before anything
 * is cached or emitted, so no output path sees an unredacted argument.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { errnoName } from '../ebpf/index.js';
import { InvalidArgumentError } from '../lib/errors.js';
import type { K8sMetadataStats, PodMetadata } from '../enrich/k8s-metadata.js';
import { createProcessCache } from '../enrich/process-cache.js';
import type { ProcessCacheOptions, ProcessCacheStats } from '../enrich/process-cache.js';
import { createRedactor } from '../enrich/redaction.js';
import type { RedactorOptions } from '../enrich/redaction.js';
import { createWorkloadResolver, startK8sMetadata } from '../enrich/workload-resolver.js';
import type { WorkloadResolver } from '../enrich/workload-resolver.js';
import { createProcessProbe } from '../probes/process/process-probe.js';
import type { ProcessProbe, ProcessProbeOptions, ProcessProbeStats } from '../probes/process/process-probe.js';
import type { ProcessEvent, ProcessExecEvent } from '../probes/process/process-event.js';
import type { ProcessRecord } from '../probes/process/process-record.js';

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
  redaction?: RedactorOptions;
  /** Pod metadata; `false` turns it off. */
  kubernetes?: false | { kubeconfig?: string; nodeName?: string; maxPods?: number };
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
  flush(): void;
  close(): Promise<ProcessPipelineStats>;
}

/** Wall-clock ms of boot, from /proc/uptime (boot clock, 10 ms resolution). */
function bootEpochMs(): number {
  const up = Number(readFileSync('/proc/uptime', 'latin1').split(' ')[0]);
  return Date.now() - up * 1000;
}

/**
 * ISO 8601 time with ns digits from a boot-clock time. The date-and-seconds
 * prefix is memoised per second: an exec storm formats thousands of times a
 * second and nearly all fall in the same second.
 */
function createIsoFormatter(bootMs: number): (ns: number) => string {
  let lastSec = -1;
  let prefix = '';
  return (ns: number): string => {
    const ms = bootMs + ns / 1e6;
    const sec = Math.floor(ms / 1000);
    if (sec !== lastSec) {
      lastSec = sec;
      prefix = new Date(sec * 1000).toISOString().slice(0, 20); // YYYY-MM-DDTHH:MM:SS.
    }
    const frac = Math.floor((ms - sec * 1000) * 1e6); // ns within the second
    return `${prefix}${String(frac).padStart(9, '0')}Z`;
  };
}

const WORKLOAD_KEYS: Record<string, keyof ProcessRecord> = {
  Deployment: 'k8s.deployment.name', ReplicaSet: 'k8s.replicaset.name', StatefulSet: 'k8s.statefulset.name',
  DaemonSet: 'k8s.daemonset.name', Job: 'k8s.job.name', CronJob: 'k8s.cronjob.name',
};

/**
 * Starts the probe and the enrichment. May throw what `createProcessProbe`
 * throws, and `InvalidArgumentError` for bad options.
 */
export async function createProcessPipeline(options: ProcessPipelineOptions): Promise<ProcessPipeline> {
  const depth = options.ancestryDepth ?? 8;
  if (!Number.isInteger(depth) || depth < 0 || depth > 64) throw new InvalidArgumentError(`ancestryDepth ${depth} not in 0..64`);
  const maxIdentities = options.maxIdentities ?? 4096;
  const notice = (m: string): void => options.onNotice?.(m);
  const redactor = createRedactor(options.redaction);
  const cache = createProcessCache({
    ...options.cache,
    // Arguments read from /proc go through the same redaction as events.
    sanitize: (p) => {
      if (p.args) p.args = redactor.redactArgs(p.args);
      if (p.exe) p.exe = redactor.redact(p.exe);
    },
  });
  if (options.seed ?? true) cache.seedFromProc();
  const k8s = options.kubernetes === false ? undefined : await startK8sMetadata(options.kubernetes || {}, notice);
  const workloads: WorkloadResolver = createWorkloadResolver({ ...(k8s ? { k8s } : {}), maxEntries: maxIdentities, onNotice: notice });
  const iso = createIsoFormatter(bootEpochMs());
  let records = 0;

  const addIdentity = (r: ProcessRecord, cgroupId: number): void => {
    const { path, identity } = workloads.cgroup(cgroupId);
    if (path !== undefined) r['process.linux.cgroup'] = path;
    if (!identity) return;
    r['maxpro.container.kind'] = identity.kind;
    if (identity.runtime) {
      r['container.id'] = identity.id;
      r['container.runtime'] = identity.runtime;
    }
    if (identity.podUid) {
      r['k8s.pod.uid'] = identity.podUid;
      const pod: PodMetadata | undefined = workloads.pod(identity.podUid);
      if (pod) {
        r['k8s.pod.name'] = pod.name;
        r['k8s.namespace.name'] = pod.namespace;
        if (pod.nodeName) r['k8s.node.name'] = pod.nodeName;
        for (const [k, v] of Object.entries(pod.labels)) r[`k8s.pod.label.${k}`] = v;
        const key = pod.workload && WORKLOAD_KEYS[pod.workload.kind];
        if (key && pod.workload) (r as unknown as Record<string, unknown>)[key] = pod.workload.name;
      }
    }
  };

  const execRecord = (e: ProcessExecEvent): ProcessRecord => {
    const args = redactor.redactArgs(e.args);
    const filename = redactor.redact(e.filename);
    if (e.retval === 0) {
      cache.update(e.pid, {
        ppid: e.ppid, comm: e.comm, exe: filename, args, uid: e.uid, startBootNs: e.startBootNs, cgroupId: e.cgroupId,
      });
    }
    const r: ProcessRecord = {
      'time': iso(e.bootNs),
      'event.name': 'process.exec',
      'process.pid': e.pid,
      'process.parent_pid': e.ppid,
      'process.vpid': e.nsPid,
      'process.executable.path': filename,
      'process.executable.name': basename(filename),
      'process.command_args': args,
      'process.user.id': e.euid,
      'process.real_user.id': e.uid,
      'process.group.id': e.egid,
      'process.real_group.id': e.gid,
      'process.creation.time': iso(e.startBootNs),
      'maxpro.tid': e.tid,
      'maxpro.comm': e.comm,
      'maxpro.boot_ns': e.bootNs,
      'maxpro.start.boot_ns': e.startBootNs,
      'maxpro.cgroup.id': e.cgroupId,
      'maxpro.linux.mntns': e.mntnsId,
      'maxpro.linux.pidns': e.pidnsId,
      'maxpro.exec.retval': e.retval,
      'maxpro.exec.old_tid': e.oldTid,
      'maxpro.exec.thread': e.oldTid !== e.pid,
      'maxpro.exec.execveat': (e.flags & 32) !== 0,
      'maxpro.args.count': e.argc,
      'maxpro.args.truncated': e.argsTruncated,
      'maxpro.args.fault': e.argsFault,
      'maxpro.filename.truncated': e.filenameTruncated,
    };
    if (e.retval < 0) r['error.type'] = errnoName(-e.retval);
    addIdentity(r, e.cgroupId);
    if (depth > 0) {
      // A failed exec leaves the caller as it was: its parents are the caller's.
      r['maxpro.ancestry'] = e.retval === 0 ? cache.ancestry(e.pid, depth)
        : [{ pid: e.ppid, ...ancestorName(e.ppid) }, ...cache.ancestry(e.ppid, depth - 1)];
    }
    return r;
  };
  const ancestorName = (pid: number): { comm?: string; exe?: string } => {
    const p = cache.get(pid);
    return p ? { comm: p.comm, ...(p.exe ? { exe: p.exe } : {}) } : {};
  };

  const toRecord = (e: ProcessEvent): ProcessRecord => {
    if (e.type === 'exec') return execRecord(e);
    if (e.type === 'fork') {
      const parent = cache.get(e.ppid);
      // A fresh entry: a reused pid must not inherit the previous owner's fields.
      cache.upsert({
        pid: e.pid, ppid: e.ppid, comm: e.comm, uid: e.uid, startBootNs: e.startBootNs, cgroupId: e.cgroupId,
        ...(parent?.exe ? { exe: parent.exe } : {}), ...(parent?.args ? { args: parent.args } : {}),
      });
      const r: ProcessRecord = {
        'time': iso(e.bootNs), 'event.name': 'process.fork',
        'process.pid': e.pid, 'process.parent_pid': e.ppid, 'process.vpid': e.nsPid,
        'process.real_user.id': e.uid, 'process.real_group.id': e.gid,
        'process.creation.time': iso(e.startBootNs),
        'maxpro.tid': e.tid, 'maxpro.comm': e.comm, 'maxpro.boot_ns': e.bootNs, 'maxpro.start.boot_ns': e.startBootNs,
        'maxpro.cgroup.id': e.cgroupId, 'maxpro.linux.mntns': e.mntnsId, 'maxpro.linux.pidns': e.pidnsId,
      };
      if (parent?.exe) r['process.executable.path'] = parent.exe;
      addIdentity(r, e.cgroupId);
      if (depth > 0) r['maxpro.ancestry'] = cache.ancestry(e.pid, depth);
      return r;
    }
    const proc = cache.get(e.pid);
    const r: ProcessRecord = {
      'time': iso(e.bootNs), 'event.name': 'process.exit',
      'process.pid': e.pid, 'process.parent_pid': e.ppid,
      'process.creation.time': iso(e.startBootNs),
      'process.exit.time': iso(e.bootNs),
      'maxpro.tid': e.tid, 'maxpro.comm': e.comm, 'maxpro.boot_ns': e.bootNs, 'maxpro.start.boot_ns': e.startBootNs,
      'maxpro.cgroup.id': e.cgroupId, 'maxpro.lifetime_ns': e.lifetimeNs, 'maxpro.exit.core_dumped': e.coreDumped,
    };
    if (e.exitCode !== null) r['process.exit.code'] = e.exitCode;
    if (e.signal !== null) r['maxpro.exit.signal'] = e.signal;
    if (proc?.exe) r['process.executable.path'] = proc.exe;
    if (proc?.args) r['process.command_args'] = proc.args;
    addIdentity(r, e.cgroupId);
    if (depth > 0) r['maxpro.ancestry'] = cache.ancestry(e.pid, depth);
    cache.markExited(e.pid);
    return r;
  };

  const probe: ProcessProbe = createProcessProbe({
    ...(options.probe ?? {}),
    onError: options.onError,
    onEvents: (events) => {
      const out: ProcessRecord[] = new Array(events.length);
      for (let i = 0; i < events.length; i++) out[i] = toRecord(events[i]!);
      records += out.length;
      options.onRecords(out);
    },
  });

  const stats = (): ProcessPipelineStats => ({
    probe: probe.stats(),
    cache: cache.stats(),
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
    flush: () => probe.flush(),
    close(): Promise<ProcessPipelineStats> {
      closing ??= (async () => {
        const ps = await probe.close();
        await k8s?.close();
        return { ...stats(), probe: ps };
      })();
      return closing;
    },
  };
}
