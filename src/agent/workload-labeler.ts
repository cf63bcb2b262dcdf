// SPDX-License-Identifier: Apache-2.0
/**
 * Enrichment for policies and exports: cgroup id -> cgroup path -> container
 * or pod identity, plus labels from the config's `workloads` (cgroup path
 * prefixes, for hosts without Kubernetes). Results are cached per cgroup id
 * in a bounded table.
 */
import type { CgroupResolver } from '../enrich/cgroup-resolver.js';
import { identifyCgroupPath } from '../enrich/container-identity.js';
import { createWorkloadResolver, workloadIdentity } from '../enrich/workload-resolver.js';
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
  /** Replaces the static workload table (reload). */
  setWorkloads(w: AgentConfig['workloads']): void;
  /** The subject of a cgroup path under the current workload table (no comm/exe). */
  pathSubject(path: string): SelectorSubject;
}

const MAX_CACHE = 8192;
const NO_IDENTITY: WorkloadIdentity = Object.freeze({ container: '', pod: '', namespace: '', cgroupPath: '' });

/**
 * What selectors see of a cgroup, from its v2 path alone: container and pod
 * ids, and the labels of every `workloads` prefix it lies under. The cgroup
 * filter (policy/cgroup-filter-plan.ts) uses the same function, so kernel and
 * user space agree on every cgroup.
 */
export function pathSubject(path: string, workloads: AgentConfig['workloads']): SelectorSubject {
  const labels: Record<string, string> = {};
  const attributes: SelectorSubject['attributes'] = { cgroup: path };
  const ident = identifyCgroupPath(path);
  if (ident.kind !== 'unknown' && ident.kind !== 'standalone_process' && ident.id) attributes.container = ident.id;
  if (ident.podUid) attributes.pod = ident.podUid;
  for (const w of workloads) {
    if (path === w.cgroup || path.startsWith(w.cgroup.endsWith('/') ? w.cgroup : `${w.cgroup}/`)) {
      Object.assign(labels, w.labels);
      if (w.namespace) attributes.namespace = w.namespace;
      if (w.workload) attributes.workload = w.workload;
    }
  }
  return { labels, attributes };
}

export function createWorkloadLabeler(workloads: AgentConfig['workloads'], resolver?: CgroupResolver): WorkloadLabeler {
  let table = workloads;
  // No cgroup2 mount: labels from comm only.
  const cgroups: WorkloadResolver = createWorkloadResolver({ ...(resolver ? { cgroups: resolver } : {}), maxEntries: MAX_CACHE });
  interface Entry { path: string | undefined; base: SelectorSubject; identity: WorkloadIdentity }
  const cache = new Map<number, Entry>();

  const build = (id: number): Entry => {
    const { path, identity: ident } = cgroups.cgroup(id);
    if (path === undefined || !ident) return { path: undefined, base: { labels: {}, attributes: {} }, identity: NO_IDENTITY };
    const base = pathSubject(path, table);
    // The namespace of a `workloads` entry, for hosts without Kubernetes.
    const identity: WorkloadIdentity = { ...workloadIdentity(path, ident), namespace: base.attributes.namespace ?? '' };
    return { path, base, identity };
  };

  const lookup = (id: number): Entry => {
    let c = cache.get(id);
    if (!c) {
      c = build(id);
      // Unresolved ids are not cached: the cgroup may appear on the next rescan.
      if (c.path !== undefined) {
        if (cache.size >= MAX_CACHE) cache.delete(cache.keys().next().value as number);
        cache.set(id, c);
      }
    }
    return c;
  };

  return {
    subject(id, comm, exe) {
      const { base } = lookup(id);
      return { labels: base.labels, attributes: { ...base.attributes, comm, ...(exe ? { exe } : {}) } };
    },
    identity: (id) => lookup(id).identity,
    pathSubject: (path) => pathSubject(path, table),
    setWorkloads(w) {
      table = w;
      cache.clear();
    },
  };
}
