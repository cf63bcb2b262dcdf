// SPDX-License-Identifier: Apache-2.0
/**
 * The enrichment stage of process events: decoded kernel events in, schema
 * records out (src/probes/process/process-schema.ts). Keeps the process
 * cache (ancestry), resolves cgroup -> container -> pod identity and pod
 * metadata, and redacts arguments and paths before anything is cached or
 * emitted. The agent and the CLI's local mode run this same stage, so both
 * print and export the same records.
 */
import { readFileSync } from 'node:fs';
import { errnoName } from '../lib/errno.js';
import { InvalidArgumentError } from '../lib/errors.js';
import type { ProcessEvent, ProcessExecEvent } from '../probes/process/process-event.js';
import type { ProcessAncestor, ProcessRecord } from '../probes/process/process-schema.js';
import type { K8sMetadata, PodMetadata } from './k8s-metadata.js';
import { createProcessCache } from './process-cache.js';
import type { ProcessCacheOptions, ProcessCacheStats } from './process-cache.js';
import { createProcIdentity } from './proc-identity.js';
import { createWorkloadResolver } from './workload-resolver.js';
import type { WorkloadResolver } from './workload-resolver.js';

/**
 * What the stage calls to mask secrets: any redactor with these two
 * methods (src/enrich/redaction.ts's, or another). Called once per exec
 * for the argv and the path, and for arguments read from /proc.
 */
export interface RedactionHook {
  redact(value: string): string;
  redactArgs(args: readonly string[]): string[];
}

export interface ProcessEnricherOptions {
  redaction: RedactionHook;
  /** Parents attached to each record. 0 disables. Default 8. */
  ancestryDepth?: number;
  cache?: ProcessCacheOptions;
  /** Seed the cache from /proc at start. Default true. */
  seed?: boolean;
  /** Pod metadata, when a cluster is known; without it pods are named by UID. */
  k8s?: K8sMetadata;
  /** Most cgroup identities memoised. Default 4096. */
  maxIdentities?: number;
  /** Where `/proc/<pid>/{cgroup,mountinfo}` are read when a cgroup id names nothing. Default `/proc`. */
  procRoot?: string;
  onNotice?(message: string): void;
  /** Wall-clock ms at boot (tests); default from /proc/uptime. */
  bootEpochMs?: number;
}

export interface ProcessEnricher {
  /** The record of one event. Synchronous; the record is the caller's. */
  record(e: ProcessEvent): ProcessRecord;
  /** Pod metadata by UID (what the records' pod fields come from). */
  pod(podUid: string): PodMetadata | undefined;
  cacheStats(): ProcessCacheStats;
}

/** Wall-clock ms of boot, from /proc/uptime (boot clock, 10 ms resolution). */
export function bootEpochMs(): number {
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

const baseName = (p: string): string => p.slice(p.lastIndexOf('/') + 1);

/** Creates the stage. May throw `InvalidArgumentError` for bad options. */
export function createProcessEnricher(options: ProcessEnricherOptions): ProcessEnricher {
  const depth = options.ancestryDepth ?? 8;
  if (!Number.isInteger(depth) || depth < 0 || depth > 64) throw new InvalidArgumentError(`ancestryDepth ${depth} not in 0..64`);
  const redaction = options.redaction;
  const cache = createProcessCache({
    ...options.cache,
    // Arguments read from /proc go through the same redaction as events.
    sanitize: (p) => {
      if (p.args) p.args = redaction.redactArgs(p.args);
      if (p.exe) p.exe = redaction.redact(p.exe);
    },
  });
  if (options.seed ?? true) cache.seedFromProc();
  const workloads: WorkloadResolver = createWorkloadResolver({
    ...(options.k8s ? { k8s: options.k8s } : {}), maxEntries: options.maxIdentities ?? 4096,
    ...(options.onNotice ? { onNotice: options.onNotice } : {}),
  });
  const iso = createIsoFormatter(options.bootEpochMs ?? bootEpochMs());

  const procIdentity = createProcIdentity({
    ...(options.procRoot ? { procRoot: options.procRoot } : {}), maxEntries: options.maxIdentities ?? 4096,
  });

  const addIdentity = (r: ProcessRecord, cgroupId: number, pid: number, exec = false): void => {
    let { path, identity } = workloads.cgroup(cgroupId);
    // The root cgroup (every process on a cgroup v1 host) or an id not known: the process's own files may name it.
    if (path === undefined || path === '/') {
      const w = procIdentity.identify(pid, exec);
      if (w) ({ path, identity } = { path: w.path === '' ? path : w.path, identity: w.identity });
    }
    if (path !== undefined) r['process.linux.cgroup'] = path;
    if (!identity) return;
    r['maxpro.container.kind'] = identity.kind;
    if (identity.runtime || identity.kind === 'container') {
      r['container.id'] = identity.id;
      if (identity.runtime) r['container.runtime'] = identity.runtime;
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

  const ancestorName = (pid: number): { comm?: string; exe?: string } => {
    const p = cache.get(pid);
    return p ? { comm: p.comm, ...(p.exe ? { exe: p.exe } : {}) } : {};
  };

  const execRecord = (e: ProcessExecEvent): ProcessRecord => {
    const args = redaction.redactArgs(e.args);
    const filename = redaction.redact(e.filename);
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
      'process.executable.name': baseName(filename),
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
    addIdentity(r, e.cgroupId, e.pid, true);
    if (depth > 0) {
      // A failed exec leaves the caller as it was: its parents are the caller's.
      r['maxpro.ancestry'] = e.retval === 0 ? cache.ancestry(e.pid, depth)
        : [{ pid: e.ppid, ...ancestorName(e.ppid) }, ...cache.ancestry(e.ppid, depth - 1)] as ProcessAncestor[];
    }
    return r;
  };

  const record = (e: ProcessEvent): ProcessRecord => {
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
      addIdentity(r, e.cgroupId, e.pid);
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
    addIdentity(r, e.cgroupId, e.pid);
    if (depth > 0) r['maxpro.ancestry'] = cache.ancestry(e.pid, depth);
    cache.markExited(e.pid);
    procIdentity.forget(e.pid);
    return r;
  };

  return { record, pod: (uid) => workloads.pod(uid), cacheStats: () => cache.stats() };
}
