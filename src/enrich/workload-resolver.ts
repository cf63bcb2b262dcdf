// SPDX-License-Identifier: Apache-2.0
/**
 * Cgroup id -> cgroup path -> workload (container, pod, namespace): the one
 * resolution that process records, TCP aggregates and the agent's labels
 * share, so a cgroup gets the same identity in every output. Bounded; ids
 * the cgroup resolver does not know yet are not memoised, so a new cgroup
 * resolves after the resolver's next rescan.
 */
import { createCgroupResolver } from './cgroup-resolver.js';
import type { CgroupResolver } from './cgroup-resolver.js';
import { identifyCgroupPath } from './container-identity.js';
import type { ContainerIdentity } from './container-identity.js';
import { createK8sMetadata } from './k8s-metadata.js';
import type { K8sMetadata, K8sMetadataOptions, PodMetadata } from './k8s-metadata.js';
import { NO_IDENTITY } from '../lib/workload-identity.js';
import type { WorkloadIdentity } from '../lib/workload-identity.js';

export { NO_IDENTITY };
export type { WorkloadIdentity };

/** A cgroup as resolved: its path, and the workload the path names. Both undefined when unknown. */
export interface CgroupWorkload {
  path: string | undefined;
  identity: ContainerIdentity | undefined;
}

export interface WorkloadResolverOptions {
  /** The cgroup id -> path resolver to use; default: one of its own (a missing cgroup2 mount is noticed, not thrown). */
  cgroups?: CgroupResolver;
  /** Pod metadata (see startK8sMetadata); without it pods are named by UID. */
  k8s?: K8sMetadata;
  /** Most cgroups memoised. Default 4096; 0: none (the caller keeps what it derives). */
  maxEntries?: number;
  onNotice?(message: string): void;
}

export interface WorkloadResolver {
  cgroup(cgroupId: number | bigint): CgroupWorkload;
  /** Pod metadata of a pod UID, when a cluster is known and has the pod. */
  pod(podUid: string): PodMetadata | undefined;
  identify(cgroupId: number | bigint): WorkloadIdentity;
}

const HEX64 = /^[0-9a-f]{64}$/;
const UNKNOWN: CgroupWorkload = Object.freeze({ path: undefined, identity: undefined });

/** The container label of a workload id: 64-hex container ids shortened to 12; unit, LXC and other ids as they are. */
export function shortWorkloadId(id: string): string {
  return HEX64.test(id) ? id.slice(0, 12) : id;
}

/** The labels of a resolved cgroup; `pod` metadata, when known, names the pod and its namespace. */
export function workloadIdentity(path: string, identity: ContainerIdentity, pod?: PodMetadata): WorkloadIdentity {
  return {
    container: shortWorkloadId(identity.id),
    pod: pod?.name ?? identity.podUid ?? '',
    namespace: pod?.namespace ?? '',
    cgroupPath: path,
  };
}

/**
 * Starts pod metadata from a cluster; undefined (noticed) when there is no
 * cluster or it cannot be reached. Throws `InvalidArgumentError` only for bad
 * options (a kubeconfig that does not exist).
 */
export async function startK8sMetadata(options: K8sMetadataOptions, onNotice?: (message: string) => void): Promise<K8sMetadata | undefined> {
  const notice = onNotice ?? ((): void => {});
  const k8s = createK8sMetadata({ ...options, onNotice: notice });
  try {
    if (await k8s.start()) return k8s;
  } catch (err) {
    notice(`kubernetes: ${err instanceof Error ? err.message : String(err)}: pod metadata skipped`);
  }
  await k8s.close().catch(() => undefined);
  return undefined;
}

export function createWorkloadResolver(options: WorkloadResolverOptions = {}): WorkloadResolver {
  const maxEntries = options.maxEntries ?? 4096;
  let cgroups = options.cgroups;
  if (!cgroups) {
    try {
      cgroups = createCgroupResolver();
    } catch (err) {
      options.onNotice?.(`cgroup: ${err instanceof Error ? err.message : String(err)}: container identity skipped`);
    }
  }
  const k8s = options.k8s;
  /** A resolved cgroup, and its labels once they are final (no pod metadata still to come). */
  interface Entry { path: string; identity: ContainerIdentity; labels?: WorkloadIdentity }
  const memo = new Map<number, Entry>();

  const entry = (cgroupId: number | bigint): Entry | undefined => {
    const id = Number(cgroupId);
    const hit = memo.get(id);
    if (hit) return hit;
    const path = cgroups?.resolve(id);
    if (path === undefined) return undefined;
    const e: Entry = { path, identity: identifyCgroupPath(path) };
    if (maxEntries > 0) {
      if (memo.size >= maxEntries) memo.delete(memo.keys().next().value as number);
      memo.set(id, e);
    }
    return e;
  };
  const cgroup = (cgroupId: number | bigint): CgroupWorkload => entry(cgroupId) ?? UNKNOWN;

  return {
    cgroup,
    pod: (uid) => k8s?.lookup(uid),
    identify(cgroupId) {
      const e = entry(cgroupId);
      if (!e) return NO_IDENTITY;
      if (e.labels) return e.labels;
      const pod = e.identity.podUid ? k8s?.lookup(e.identity.podUid) : undefined;
      const labels = workloadIdentity(e.path, e.identity, pod);
      // A pod seen before its metadata arrived is looked up again on the next call.
      if (!e.identity.podUid || pod || !k8s) e.labels = labels;
      return labels;
    },
  };
}
