// SPDX-License-Identifier: Apache-2.0
/**
 * Enrichment for policies and exports: cgroup id -> cgroup path -> container
 * or pod identity, plus labels from the config's `workloads` (cgroup path
 * prefixes, for hosts without Kubernetes). Results are cached per cgroup id
 * in a bounded table.
 */
import { createCgroupResolver } from '../enrich/cgroup-resolver.js';
import type { CgroupResolver } from '../enrich/cgroup-resolver.js';
import { identifyCgroupPath } from '../enrich/container-identity.js';
import type { AgentConfig } from './config/agent-config.js';
import type { SelectorSubject } from './policy/selector.js';

export interface WorkloadLabeler {
  subject(cgroupId: number, comm: string, exe?: string): SelectorSubject;
  cgroupPath(cgroupId: number): string | undefined;
  /** Replaces the static workload table (reload). */
  setWorkloads(w: AgentConfig['workloads']): void;
  /** The subject of a cgroup path under the current workload table (no comm/exe). */
  pathSubject(path: string): SelectorSubject;
}

const MAX_CACHE = 8192;

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
  let res: CgroupResolver | undefined = resolver;
  if (!res) {
    try {
      res = createCgroupResolver();
    } catch { /* no cgroup2: labels from comm only */ }
  }
  const cache = new Map<number, { path: string | undefined; base: SelectorSubject }>();

  const build = (id: number): { path: string | undefined; base: SelectorSubject } => {
    const path = res?.resolve(id);
    return { path, base: path === undefined ? { labels: {}, attributes: {} } : pathSubject(path, table) };
  };

  const lookup = (id: number): { path: string | undefined; base: SelectorSubject } => {
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
    cgroupPath: (id) => lookup(id).path,
    pathSubject: (path) => pathSubject(path, table),
    setWorkloads(w) {
      table = w;
      cache.clear();
    },
  };
}
