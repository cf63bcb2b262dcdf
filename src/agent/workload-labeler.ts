// SPDX-License-Identifier: Apache-2.0
/**
 * Enrichment for policies and exports: cgroup id -> cgroup path -> container
 * or pod identity, the pod's labels, namespace and workload when pod metadata
 * is known, plus labels from the config's `workloads` (cgroup path prefixes,
 * for hosts without Kubernetes). Results are cached per cgroup id in a
 * bounded table; an entry of a pod is rebuilt when that pod's metadata changes.
 */
import type { CgroupResolver } from '../enrich/cgroup-resolver.js';
import { identifyCgroupPath } from '../enrich/container-identity.js';
import type { ContainerIdentity } from '../enrich/container-identity.js';
import type { PodMetadata } from '../enrich/k8s-metadata.js';
import { createWorkloadResolver, NO_IDENTITY, workloadIdentity } from '../enrich/workload-resolver.js';
import type { WorkloadIdentity, WorkloadResolver } from '../enrich/workload-resolver.js';
import type { AgentConfig } from './config/agent-config.js';
import type { SelectorSubject } from './policy/selector.js';

export interface WorkloadLabeler {
  subject(cgroupId: number, comm: string, exe?: string): SelectorSubject;
  /**
   * Metric labels of a cgroup: short container id (or systemd unit), pod UID,
   * the `workloads` namespace and the path; empty strings where unknown.
   */
  identity(cgroupId: number): WorkloadIdentity;
  /** The labels selectors see for a cgroup: its pod's, and those of the `workloads` prefixes it lies under. */
  labels(cgroupId: number): Readonly<Record<string, string>>;
  /** Replaces the static workload table (reload). */
  setWorkloads(w: AgentConfig['workloads']): void;
  /** The subject of a cgroup path under the current workload table (no comm/exe). */
  pathSubject(path: string): SelectorSubject;
}

const MAX_CACHE = 8192;

/** Pod metadata by pod UID (see enrich/k8s-metadata.ts). */
export type PodLookup = (podUid: string) => PodMetadata | undefined;

/**
 * What selectors see of a cgroup, from its v2 path and, for a pod's cgroup,
 * the pod's metadata: container and pod ids, the pod's labels, namespace and
 * controlling workload, and the labels of every `workloads` prefix the path
 * lies under (those win over pod labels of the same key). The cgroup filter
 * (policy/cgroup-filter-plan.ts) uses the same function, so kernel and user
 * space agree on every cgroup.
 */
export function pathSubject(path: string, workloads: AgentConfig['workloads'], pods?: PodLookup): SelectorSubject {
  const ident = identifyCgroupPath(path);
  return subjectOf(path, ident, ident.podUid ? pods?.(ident.podUid) : undefined, workloads);
}

/** pathSubject with the path's identity and pod already looked up. */
function subjectOf(path: string, ident: ContainerIdentity, pod: PodMetadata | undefined, workloads: AgentConfig['workloads']): SelectorSubject {
  const attributes: SelectorSubject['attributes'] = { cgroup: path };
  if (ident.kind !== 'unknown' && ident.kind !== 'standalone_process' && ident.id) attributes.container = ident.id;
  const labels: Record<string, string> = pod ? { ...pod.labels } : {};
  if (ident.podUid) attributes.pod = ident.podUid;
  if (pod) {
    attributes.namespace = pod.namespace;
    if (pod.workload) attributes.workload = pod.workload.name;
  }
  for (const w of workloads) {
    if (path === w.cgroup || path.startsWith(w.cgroup.endsWith('/') ? w.cgroup : `${w.cgroup}/`)) {
      Object.assign(labels, w.labels);
      if (w.namespace) attributes.namespace = w.namespace;
      if (w.workload) attributes.workload = w.workload;
    }
  }
  return { labels, attributes, ...(pod ? { podName: pod.name } : {}) };
}

export interface WorkloadLabelerOptions {
  workloads: AgentConfig['workloads'];
  /** Cgroup id -> path; default: a resolver of its own (no cgroup2 mount: labels from comm only). */
  cgroups?: CgroupResolver;
  /** Pod metadata, when a cluster is watched. */
  pods?: PodLookup;
}

export function createWorkloadLabeler(options: WorkloadLabelerOptions): WorkloadLabeler {
  let table = options.workloads;
  const pods = options.pods;
  // The path lookup only: this table caches what is derived from it (memoising both would hold every entry twice).
  const cgroups: WorkloadResolver = createWorkloadResolver({ ...(options.cgroups ? { cgroups: options.cgroups } : {}), maxEntries: 0 });
  /** `pod`: the metadata the entry was built from (undefined: none known then), checked against the current one. */
  interface Entry { path: string | undefined; podUid: string | undefined; pod: PodMetadata | undefined; base: SelectorSubject; identity: WorkloadIdentity }
  const cache = new Map<number, Entry>();

  const build = (id: number): Entry => {
    const { path, identity: ident } = cgroups.cgroup(id);
    if (path === undefined || !ident) return { path: undefined, podUid: undefined, pod: undefined, base: { labels: {}, attributes: {} }, identity: NO_IDENTITY };
    const pod = ident.podUid ? pods?.(ident.podUid) : undefined;
    const base = subjectOf(path, ident, pod, table);
    // The pod's name and namespace when known; else the namespace of a `workloads` entry (hosts without Kubernetes).
    const identity: WorkloadIdentity = pod ? workloadIdentity(path, ident, pod) : { ...workloadIdentity(path, ident), namespace: base.attributes.namespace ?? '' };
    return { path, podUid: ident.podUid, pod, base, identity };
  };

  const lookup = (id: number): Entry => {
    let c = cache.get(id);
    // A pod's entry is rebuilt when its metadata arrived, changed or went since (one map lookup per event).
    if (c?.podUid !== undefined && pods && pods(c.podUid) !== c.pod) c = undefined;
    if (!c) {
      c = build(id);
      // Unresolved ids are not cached: the cgroup may appear on the next rescan.
      if (c.path !== undefined) {
        if (!cache.has(id) && cache.size >= MAX_CACHE) cache.delete(cache.keys().next().value as number);
        cache.set(id, c);
      }
    }
    return c;
  };

  return {
    subject(id, comm, exe) {
      const { base } = lookup(id);
      return { ...base, attributes: { ...base.attributes, comm, ...(exe ? { exe } : {}) } };
    },
    identity: (id) => lookup(id).identity,
    labels: (id) => lookup(id).base.labels,
    pathSubject: (path) => pathSubject(path, table, pods),
    setWorkloads(w) {
      table = w;
      cache.clear();
    },
  };
}
