// SPDX-License-Identifier: Apache-2.0
/**
 * The output schema of process events: OpenTelemetry semantic-convention
 * attribute names, with kernel-only fields under `maxpro.*`. Documented in
 * docs/process-events.md.
 */

/** One parent in an ancestry chain. */
export interface ProcessAncestor {
  pid: number;
  /** Unset when the process is not in the cache. */
  comm?: string;
  exe?: string;
}

export type ProcessEventName = 'process.exec' | 'process.fork' | 'process.exit';

/** One enriched, redacted process event. Optional keys are absent when unknown. */
export interface ProcessRecord {
  /** Wall-clock time of the event, ISO 8601 with ns digits. */
  'time': string;
  'event.name': ProcessEventName;
  'process.pid': number;
  'process.parent_pid': number;
  /** pid inside the process's own pid namespace. */
  'process.vpid'?: number;
  'process.executable.path'?: string;
  'process.executable.name'?: string;
  'process.command_args'?: string[];
  'process.user.id'?: number;
  'process.real_user.id'?: number;
  'process.group.id'?: number;
  'process.real_group.id'?: number;
  'process.creation.time'?: string;
  'process.exit.code'?: number;
  'process.exit.time'?: string;
  'process.linux.cgroup'?: string;
  /** errno name of a failed exec, e.g. `ENOENT`. */
  'error.type'?: string;
  'container.id'?: string;
  'container.runtime'?: string;
  'k8s.pod.uid'?: string;
  'k8s.pod.name'?: string;
  'k8s.namespace.name'?: string;
  'k8s.node.name'?: string;
  /** One key per pod label: `k8s.pod.label.<key>`. */
  [label: `k8s.pod.label.${string}`]: string;
  'k8s.deployment.name'?: string;
  'k8s.replicaset.name'?: string;
  'k8s.statefulset.name'?: string;
  'k8s.daemonset.name'?: string;
  'k8s.job.name'?: string;
  'k8s.cronjob.name'?: string;
  'maxpro.tid': number;
  'maxpro.comm': string;
  'maxpro.boot_ns': number;
  'maxpro.start.boot_ns'?: number;
  'maxpro.cgroup.id': number;
  'maxpro.linux.mntns'?: number;
  'maxpro.linux.pidns'?: number;
  'maxpro.container.kind'?: string;
  'maxpro.exec.retval'?: number;
  'maxpro.exec.old_tid'?: number;
  'maxpro.exec.thread'?: boolean;
  'maxpro.exec.execveat'?: boolean;
  'maxpro.args.count'?: number;
  'maxpro.args.truncated'?: boolean;
  'maxpro.args.fault'?: boolean;
  'maxpro.filename.truncated'?: boolean;
  'maxpro.exit.signal'?: number;
  'maxpro.exit.core_dumped'?: boolean;
  'maxpro.lifetime_ns'?: number;
  /** Parents, nearest first, up to the configured depth. */
  'maxpro.ancestry'?: ProcessAncestor[];
}
