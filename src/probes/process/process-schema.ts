// SPDX-License-Identifier: Apache-2.0
/**
 * The one schema of process events (exec, fork, exit): every attribute the
 * enrichment stage sets, OpenTelemetry semantic-convention names where one
 * exists, kernel-only fields under `maxpro.*`. The agent's OTLP export, its
 * live stream and every `--json` output carry these records as they are;
 * docs/process-events.md lists the same table (a unit test compares them).
 */

/** One link of an ancestry chain, nearest parent first. `comm` is unset for a parent nobody knows. */
export interface ProcessAncestor {
  pid: number;
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
  'maxpro.ancestry'?: readonly ProcessAncestor[];
}

export type ProcessAttributeType = 'string' | 'int' | 'bool' | 'string[]' | 'ancestry';

/** One attribute of the schema: name (a `<key>` part stands for any key), type, the events that carry it. */
export interface ProcessAttribute {
  name: string;
  type: ProcessAttributeType;
  /** `all`, or the event names (without `process.`) that carry it. */
  events: 'all' | readonly ('exec' | 'fork' | 'exit')[];
}

const a = (name: string, type: ProcessAttributeType, events: ProcessAttribute['events']): ProcessAttribute => ({ name, type, events });

/** Every attribute of a process record, in the order docs/process-events.md lists them. */
export const PROCESS_ATTRIBUTES: readonly ProcessAttribute[] = Object.freeze([
  a('time', 'string', 'all'),
  a('event.name', 'string', 'all'),
  a('process.pid', 'int', 'all'),
  a('process.parent_pid', 'int', 'all'),
  a('process.vpid', 'int', ['exec', 'fork']),
  a('process.executable.path', 'string', ['exec', 'fork', 'exit']),
  a('process.executable.name', 'string', ['exec']),
  a('process.command_args', 'string[]', ['exec', 'exit']),
  a('process.user.id', 'int', ['exec']),
  a('process.real_user.id', 'int', ['exec', 'fork']),
  a('process.group.id', 'int', ['exec']),
  a('process.real_group.id', 'int', ['exec', 'fork']),
  a('process.creation.time', 'string', 'all'),
  a('process.exit.code', 'int', ['exit']),
  a('process.exit.time', 'string', ['exit']),
  a('process.linux.cgroup', 'string', 'all'),
  a('error.type', 'string', ['exec']),
  a('container.id', 'string', 'all'),
  a('container.runtime', 'string', 'all'),
  a('k8s.pod.uid', 'string', 'all'),
  a('k8s.pod.name', 'string', 'all'),
  a('k8s.namespace.name', 'string', 'all'),
  a('k8s.node.name', 'string', 'all'),
  a('k8s.pod.label.<key>', 'string', 'all'),
  a('k8s.deployment.name', 'string', 'all'),
  a('k8s.replicaset.name', 'string', 'all'),
  a('k8s.statefulset.name', 'string', 'all'),
  a('k8s.daemonset.name', 'string', 'all'),
  a('k8s.job.name', 'string', 'all'),
  a('k8s.cronjob.name', 'string', 'all'),
  a('maxpro.tid', 'int', 'all'),
  a('maxpro.comm', 'string', 'all'),
  a('maxpro.boot_ns', 'int', 'all'),
  a('maxpro.start.boot_ns', 'int', 'all'),
  a('maxpro.cgroup.id', 'int', 'all'),
  a('maxpro.linux.mntns', 'int', ['exec', 'fork']),
  a('maxpro.linux.pidns', 'int', ['exec', 'fork']),
  a('maxpro.container.kind', 'string', 'all'),
  a('maxpro.exec.retval', 'int', ['exec']),
  a('maxpro.exec.old_tid', 'int', ['exec']),
  a('maxpro.exec.thread', 'bool', ['exec']),
  a('maxpro.exec.execveat', 'bool', ['exec']),
  a('maxpro.args.count', 'int', ['exec']),
  a('maxpro.args.truncated', 'bool', ['exec']),
  a('maxpro.args.fault', 'bool', ['exec']),
  a('maxpro.filename.truncated', 'bool', ['exec']),
  a('maxpro.exit.signal', 'int', ['exit']),
  a('maxpro.exit.core_dumped', 'bool', ['exit']),
  a('maxpro.lifetime_ns', 'int', ['exit']),
  a('maxpro.ancestry', 'ancestry', 'all'),
]);

/** An OTLP attribute value as the OpenTelemetry logs SDK takes it (scalars, arrays, maps). */
export type ProcessAttributeValue = string | number | boolean | readonly string[] | readonly Readonly<Record<string, string | number>>[];

/**
 * The OTLP attributes of a record: every field but `time` (the log record's
 * own timestamp), under the schema's names; the ancestry as a list of maps.
 */
export function processRecordAttributes(r: ProcessRecord): Record<string, ProcessAttributeValue> {
  const out: Record<string, ProcessAttributeValue> = {};
  for (const k in r) {
    if (k === 'time') continue;
    const v = (r as unknown as Record<string, ProcessAttributeValue | undefined>)[k];
    if (v !== undefined) out[k] = v;
  }
  return out;
}
