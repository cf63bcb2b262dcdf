// SPDX-License-Identifier: Apache-2.0
/**
 * Cgroup id -> workload (container, pod, namespace) for TCP aggregates and
 * records, built on the shared enrichment: the cgroup resolver, the
 * container-identity rules and, when a cluster is configured, pod metadata.
 * Bounded; unknown ids are not memoised, so new cgroups resolve after the
 * resolver's next rescan.
 */
import { createCgroupResolver } from '../../enrich/cgroup-resolver.js';
import type { CgroupResolver } from '../../enrich/cgroup-resolver.js';
import { identifyCgroupPath } from '../../enrich/container-identity.js';
import { createK8sMetadata } from '../../enrich/k8s-metadata.js';
import type { K8sMetadata } from '../../enrich/k8s-metadata.js';

/** Who a cgroup belongs to. Empty strings where unknown. */
export interface WorkloadIdentity {
  /** Container id (12 hex), or the systemd unit / other workload id; empty for none. */
  container: string;
  /** Pod name, else pod UID. */
  pod: string;
  namespace: string;
  /** The cgroup path relative to the v2 root, when resolved. */
  cgroupPath: string;
}

export interface TcpIdentityOptions {
  /** Pod metadata: a kubeconfig path, `{}` for the in-cluster account, false to skip. Default false. */
  kubernetes?: { kubeconfig?: string } | false;
  /** Most identities memoised. Default 4096. */
  maxEntries?: number;
  onNotice?(message: string): void;
}

export interface TcpIdentity {
  identify(cgroupId: bigint): WorkloadIdentity;
  close(): Promise<void>;
}

const EMPTY: WorkloadIdentity = Object.freeze({ container: '', pod: '', namespace: '', cgroupPath: '' });

/** Creates the resolver; never throws for a missing cgroup2 mount or cluster (it notices and degrades). */
export async function createTcpIdentity(options: TcpIdentityOptions = {}): Promise<TcpIdentity> {
  const notice = options.onNotice ?? ((): void => {});
  const maxEntries = options.maxEntries ?? 4096;
  let resolver: CgroupResolver | undefined;
  try {
    resolver = createCgroupResolver();
  } catch (err) {
    notice(`cgroup: ${err instanceof Error ? err.message : String(err)}: container identity skipped`);
  }
  let k8s: K8sMetadata | undefined;
  if (options.kubernetes) {
    k8s = createK8sMetadata({ ...options.kubernetes, onNotice: notice });
    try {
      if (!(await k8s.start())) k8s = undefined;
    } catch (err) {
      notice(`kubernetes: ${err instanceof Error ? err.message : String(err)}: pod metadata skipped`);
      k8s = undefined;
    }
  }
  const cache = new Map<bigint, WorkloadIdentity>();
  return {
    identify(cgroupId) {
      const hit = cache.get(cgroupId);
      if (hit) return hit;
      const path = resolver?.resolve(Number(cgroupId));
      if (path === undefined) return EMPTY;
      const id = identifyCgroupPath(path);
      const pod = id.podUid ? k8s?.lookup(id.podUid) : undefined;
      const out: WorkloadIdentity = {
        container: id.runtime ? id.id.slice(0, 12) : id.id,
        pod: pod?.name ?? id.podUid ?? '',
        namespace: pod?.namespace ?? '',
        cgroupPath: path,
      };
      // A pod seen before its metadata arrived is looked up again later.
      if (!id.podUid || pod) {
        if (cache.size >= maxEntries) cache.delete(cache.keys().next().value as bigint);
        cache.set(cgroupId, out);
      }
      return out;
    },
    async close() {
      await k8s?.close();
    },
  };
}
